/**
 * Named tensors to and from safetensors files, for checkpoints: a thin bridge between the Tensor API
 * and the RawTensor readers/writers in src/torch/io (tensors are copied to the CPU when written).
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { SafetensorsFile, writeSafetensorsItems } from '../torch/io/safetensors.js';
import type { RawDType } from '../torch/io/raw.js';

/** Writes `tensors` to `file` atomically (temporary file, fsync, rename), with string `metadata`. */
export function saveTensorFile(file: string, tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): void {
  const items = [...tensors].map(([name, t]) => ({
    name,
    dtype: t.dtype as RawDType,
    shape: t.shape,
    bytes: () => t.toBytes(),
  }));
  writeSafetensorsItems(file, items, metadata);
}

/** Reads every tensor of a safetensors file onto `device`; also returns its metadata. */
export function loadTensorFile(file: string, device: torch.Device = 'cpu'): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const f = SafetensorsFile.open(file);
  try {
    const tensors = new Map<string, Tensor>();
    for (const name of f.names()) {
      const raw = f.readRaw(name);
      const cpu = torch.fromBytes(raw.data, raw.dtype, raw.shape);
      if (device === 'cpu') {
        tensors.set(name, cpu);
      } else {
        tensors.set(name, cpu.to({ device }));
        cpu.dispose();
      }
    }
    return { tensors, metadata: f.metadata };
  } finally {
    f.close();
  }
}
