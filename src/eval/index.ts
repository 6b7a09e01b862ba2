/**
 * Evaluation: the ADM evaluator's metrics on the FID Inception (FID, sFID, IS, precision/recall), Fréchet
 * distances in other feature spaces, `reg eval`'s `evaluate()`, .npz sample batches (ADM layout), PNG grids.
 */
export {
  eighAvailable,
  frechetDistance,
  frechetDistanceReport,
  gaussianStats,
  type FrechetReport,
  type GaussianStats,
  type SqrtMethod,
} from './frechet.js';
export { readNpz, readNpzArrays, writeNpz, NpzWriter, listNpz, type NpyArray } from './npz.js';
export { makeGrid, writePng, readRgb, encodePng, type RgbImage } from './images.js';
export {
  loadInception,
  InceptionExtractor,
  InceptionWeightsError,
  FidInceptionV3,
  INCEPTION_RESIZES,
  type InceptionFeatures,
  type InceptionResize,
} from './inception.js';
export { inceptionScore, IS_SPLIT_SIZE, type InceptionScore } from './inception-score.js';
export { precisionRecall, type PrecisionRecallOptions } from './precision-recall.js';
export { openImageSource, ImageSourceError, type ImageSource } from './image-source.js';
export { featurePass, joinFeatures, inceptionNetwork, encoderNetwork, type FeatureNetwork, type FeatureSet } from './feature-pass.js';
export { evaluate, EVAL_METRICS, ADM_METRICS, type EvalMetric, type EvaluateOptions, type EvaluationResult } from './evaluate.js';
