/**
 * Tensor-level serialization: the RawTensor readers and writers of this folder, connected to libtorch
 * tensors. safetensors files can be memory-mapped (the tensors then view the file's pages,
 * copy-on-write, instead of holding a copy).
 *
 *   const { tensors } = loadSafetensors('model.safetensors', { mmap: true });
 *   saveSafetensors('ema.safetensors', ema.stateDict(), { step: '1000' });
 *   const ckpt = loadPt('0400000.pt') as Map<string, PyValue<Tensor>>;
 *   const model = asStateDict(ckpt.get('model'), 'model');
 */
import { fromBytes } from '../creation.js';
import type { Device } from '../device.js';
import { dtypeCode, isFloatingPoint } from '../dtype.js';
import { native, type MappingHandle } from '../native.js';
import { Tensor } from '../tensor.js';
import { SerializationError } from './errors.js';
import { readPtWith, type ReadPtOptions } from './pt.js';
import type { PyValue } from './pyvalue.js';
import { rawTensor, type RawTensor } from './raw.js';
import { SafetensorsFile, writeSafetensorsItems, type SafetensorsEntry, type SafetensorsMetadata } from './safetensors.js';

/**
 * A libtorch CPU tensor holding a copy of a RawTensor's bytes. A RawTensor marked `requiresGrad`
 * (a pickled `nn.Parameter`) of a floating dtype becomes a leaf that requires grad.
 */
export function toTensor(raw: RawTensor): Tensor {
  const t = fromBytes(raw.data, raw.dtype, raw.shape);
  if (raw.requiresGrad === true && isFloatingPoint(raw.dtype)) t.requiresGrad_(true);
  return t;
}

/** A RawTensor with a contiguous little-endian CPU copy of the tensor's data. */
export function toRaw(t: Tensor): RawTensor {
  return rawTensor(t.dtype, t.shape, t.toBytes());
}

/** Options for {@link loadSafetensors} and {@link loadPt}. */
export interface LoadOptions {
  /**
   * Map the file into memory instead of copying it (safetensors only): tensors view the file's pages
   * (private, copy-on-write: writing to a tensor never changes the file). The mapping lives as long as
   * any tensor uses it. Do not truncate the file in place while mapped (replacing it by rename, as
   * {@link saveSafetensors} does, is safe). Default false.
   */
  mmap?: boolean;
  /** Move every tensor to this device after reading (default: stay on the CPU). */
  device?: Device;
}

/** Dispose every tensor made so far if building the result fails. */
function collecting<R>(build: (keep: (t: Tensor) => Tensor) => R): R {
  const made: Tensor[] = [];
  try {
    return build((t) => (made.push(t), t));
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}

function onDevice(t: Tensor, device: Device | undefined): Tensor {
  if (device === undefined || device === 'cpu') return t;
  try {
    return t.to({ device });
  } finally {
    t.dispose();
  }
}

/**
 * The one place a safetensors entry becomes a tensor by memory mapping: a view of the mapped bytes
 * (libtorch copies instead when the data is not aligned to the element size).
 */
function mappedTensor(mapping: MappingHandle, e: SafetensorsEntry): Tensor {
  return new Tensor(native.tensorFromMapping(mapping, e.byteOffset, dtypeCode(e.dtype), e.shape));
}

/**
 * Read a safetensors file into libtorch tensors.
 * @param path file to read (validated as in `readSafetensorsHeader`: a malformed file throws {@link SerializationError})
 * @returns the tensors in file order and the `__metadata__` map
 */
export function loadSafetensors(
  path: string,
  options: LoadOptions = {},
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const file = SafetensorsFile.open(path);
  try {
    const mapping = options.mmap === true ? native.mmapFile(path) : undefined;
    const tensors = collecting((keep) => {
      const out = new Map<string, Tensor>();
      for (const e of file.header.entries) {
        const t = keep(mapping !== undefined ? mappedTensor(mapping, e) : toTensor(file.readRaw(e.name)));
        out.set(e.name, keep(onDevice(t, options.device)));
      }
      return out;
    });
    return { tensors, metadata: file.metadata };
  } finally {
    file.close();
  }
}

/** Named tensors as accepted by {@link saveSafetensors}. */
export type TensorDict = ReadonlyMap<string, Tensor> | Record<string, Tensor>;

/**
 * Write tensors to a safetensors file atomically (temporary file + fsync + rename). Tensors on any device
 * and with any strides are written as contiguous little-endian CPU data, one at a time.
 * @param metadata optional `__metadata__` string map
 */
export function saveSafetensors(path: string, tensors: TensorDict, metadata?: SafetensorsMetadata): void {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, Tensor>);
  const items = list.map(([name, t]) => {
    if (!(t instanceof Tensor)) throw new SerializationError(path, `value for ${JSON.stringify(name)} is not a Tensor`);
    if (t.isDisposed) throw new SerializationError(path, `tensor ${JSON.stringify(name)} has been disposed`);
    return { name, dtype: t.dtype, shape: t.shape, bytes: () => t.toBytes() };
  });
  writeSafetensorsItems(path, items, metadata);
}

/**
 * Read a `torch.save` file (`.pt`/`.pth`, zip format) into a value tree with libtorch tensors: dicts
 * become Maps, `argparse.Namespace` and other classes `{__class__, ...attrs}` objects; nothing is
 * executed. Storages saved from GPUs are read onto the CPU (or `options.device`).
 * Throws {@link SerializationError} for malformed, truncated or unsupported files.
 */
export function loadPt(input: string | Uint8Array, options: LoadOptions & ReadPtOptions = {}): PyValue<Tensor> {
  return collecting((keep) => readPtWith(input, (raw) => keep(onDevice(keep(toTensor(raw)), options.device)), options));
}

/**
 * Check that a value from {@link loadPt} is a state dict (a dict of name → tensor) and return it typed.
 * @param what a name for error messages, e.g. `'model'`
 */
export function asStateDict(value: PyValue<Tensor> | undefined, what = 'value'): Map<string, Tensor> {
  if (!(value instanceof Map)) throw new TypeError(`${what} is not a dict of tensors`);
  for (const [k, v] of value) {
    if (typeof k !== 'string' || !(v instanceof Tensor)) throw new TypeError(`${what} is not a dict of tensors (entry ${String(k)})`);
  }
  return value as Map<string, Tensor>;
}
