/**
 * Serialization: safetensors (read, memory-mapped read, atomic write) and PyTorch `.pt` checkpoints
 * (zip + restricted unpickler; nothing is executed).
 *
 * Tensor level (needs the native addon): {@link loadSafetensors}, {@link saveSafetensors}, {@link loadPt}.
 * RawTensor level (pure TypeScript; import `./raw.js`, `./safetensors.js`, `./pt.js`, `./pickle.js`
 * directly to avoid loading the addon): {@link readSafetensorsRaw}, {@link writeSafetensorsRaw},
 * {@link readPtRaw}, {@link unpickle}.
 */
export { SerializationError } from './errors.js';
export { type RawDType, type RawTensor, rawTensor, isRawTensor, ITEM_SIZE, numel, byteLengthOf } from './raw.js';
export {
  SAFETENSORS_DTYPE,
  SafetensorsFile,
  readSafetensorsHeader,
  readSafetensorsRaw,
  writeSafetensorsRaw,
  writeSafetensorsItems,
  serializeSafetensorsRaw,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsMetadata,
  type SafetensorsWriteItem,
  type RawTensorDict,
} from './safetensors.js';
export { readPtRaw, readPtWith, STORAGE_DTYPES, type ReadPtOptions } from './pt.js';
export { unpickle, DEFAULT_GLOBALS, HIGHEST_PROTOCOL, type UnpickleOptions, type GlobalHandler, type CallContext } from './pickle.js';
export { PyGlobal, isPyObject, type PyObject, type PyValue } from './pyvalue.js';
export { ZipReader, type ZipEntry } from './zip.js';
export { writeFileAtomic } from '../../util/atomic.js';
export { toTensor, toRaw, loadSafetensors, saveSafetensors, loadPt, asStateDict, type LoadOptions, type TensorDict } from './tensors.js';
