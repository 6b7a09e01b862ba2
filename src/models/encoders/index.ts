/**
 * Representation encoders (REPA/REG targets): one interface, a registry, MobileNetV2 (nsfwjs 4.4.0
 * ImageNet weights, converted and cached) and DINOv2 (local torch.hub .pth or Hugging Face safetensors;
 * also under REG's names `dinov2-vit-b`, `dinov2reg-vit-b`).
 */
export * from './encoder.js';
export { toUnitRgb, resizeSquare } from './preprocess.js';
export {
  kerasPadAmounts,
  kerasConvOutput,
  kerasConv2d,
  zeroPad2d,
  convKernelToTorch,
  depthwiseKernelToTorch,
  type KerasPadding,
} from './keras.js';
export {
  MobileNetV2,
  MOBILENETV2_BLOCKS,
  mobileNetV2Layers,
  KERAS_MOBILENETV2_CONFIG,
  type MobileNetV2Config,
  type KerasLayerDesc,
} from './mobilenetv2.js';
export {
  loadMobileNetV2,
  mobileNetV2FromTfjs,
  mobileNetV2StateFromTfjs,
  mobileNetV2CachePath,
  readTfjsFolder,
  saveMobileNetV2,
  readMobileNetV2,
  stateDigest,
  NSFWJS_MOBILENETV2_SOURCE,
  type LoadedMobileNetV2,
} from './mobilenetv2-weights.js';
export {
  MobileNetV2Encoder,
  createMobileNetV2Encoder,
  MOBILENETV2_ENCODER,
  MOBILENETV2_INPUT_SIZE,
  type MobileNetV2EncoderOptions,
  type MobileNetV2PixelRange,
  type MobileNetV2ClsPooling,
} from './mobilenetv2-encoder.js';
export {
  Dinov2,
  Dinov2Encoder,
  createDinov2Encoder,
  dinov2Input,
  loadDinov2,
  guessDinov2Layout,
  dinov2ConfigFromState,
  dinov2ConfigFromKeys,
  DINOV2_HF_CONFIG_KEYS,
  DINOV2_ENCODER,
  DINOV2_VIT_B_ENCODER,
  DINOV2REG_VIT_B_ENCODER,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type Dinov2Config,
  type Dinov2ConfigKeys,
  type Dinov2Layout,
  type Dinov2Name,
  type LoadDinov2Options,
} from './dinov2.js';
export { DINOV2_HUB_CONFIG_KEYS, dinov2HubTensors, dinov2HubToHf, isDinov2HubState } from './dinov2-hub.js';
