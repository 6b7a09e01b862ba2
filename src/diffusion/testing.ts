/**
 * Test helpers for src/diffusion (not part of the library API): fixture loading, the small SiT of the
 * PyTorch reference fixtures, and the norm-wise error max|a − b| / max|b|.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadSafetensors } from '../torch/io/index.js';
import { resolveConfig, type SiTConfig } from '../models/configs.js';
import { SiT } from '../models/sit.js';

/** The repository root (dist/src/diffusion/testing.js → three levels up). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Path of a file under test/fixtures/. */
export function fixturePath(...parts: string[]): string {
  return path.join(REPO_ROOT, 'test', 'fixtures', ...parts);
}

/** A loaded fixture file (tensors kept out of scopes; call dispose()). */
export interface Fixture {
  tensors: Map<string, Tensor>;
  meta: Record<string, string>;
  get(name: string): Tensor;
  has(name: string): boolean;
  dispose(): void;
}

/** Loads test/fixtures/<parts>.safetensors. */
export function loadFixture(...parts: string[]): Fixture {
  const file = fixturePath(...parts);
  if (!existsSync(file)) throw new Error(`fixture ${file} is missing (regenerate with /usr/bin/python3 test/reference/...)`);
  const { tensors, metadata } = loadSafetensors(file);
  torch.keep([...tensors.values()]);
  return {
    tensors,
    meta: metadata,
    get(name) {
      const t = tensors.get(name);
      if (!t) throw new Error(`fixture ${path.basename(file)} has no tensor '${name}'`);
      return t;
    },
    has: (name) => tensors.has(name),
    dispose() {
      for (const t of tensors.values()) t.dispose();
    },
  };
}

/** The reference's snake_case config JSON → SiTConfig. */
export function configFromReference(json: string): SiTConfig {
  const c = JSON.parse(json) as Record<string, unknown>;
  return resolveConfig({
    inputSize: c.input_size as number,
    patchSize: c.patch_size as number,
    inChannels: c.in_channels as number,
    hiddenSize: c.hidden_size as number,
    depth: c.depth as number,
    numHeads: c.num_heads as number,
    mlpRatio: c.mlp_ratio as number,
    numClasses: c.num_classes as number,
    classDropoutProb: c.class_dropout_prob as number,
    encoderDepth: c.encoder_depth as number,
    projectorDim: c.projector_dim as number,
    zDims: c.z_dims as number[],
    variant: c.variant as SiTConfig['variant'],
    fusedAttention: false,
  });
}

/** The SiT of a `sit_<variant>_<dt>` fixture with its weights, in the fixture's dtype. */
export function sitFromFixture(fx: Fixture): SiT {
  const cfg = configFromReference(fx.meta.config!);
  const model = new SiT(cfg);
  const dtype = fx.meta.dtype === 'f64' ? 'float64' : 'float32';
  if (dtype === 'float64') model.to({ dtype });
  const own = model.stateDict();
  const weights = new Map([...fx.tensors].filter(([k]) => own.has(k)));
  model.loadStateDict(weights);
  return model;
}

/** max|a − b| / max|b| over all elements (float64 arithmetic). */
export function relError(a: Tensor, b: Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape mismatch [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  return torch.scope(() => {
    const x = a.to({ dtype: 'float64', device: 'cpu' });
    const y = b.to({ dtype: 'float64', device: 'cpu' });
    const diff = x.sub(y).abs().max().item();
    const scale = y.abs().max().item();
    return scale === 0 ? diff : diff / scale;
  });
}
