/**
 * Helpers for the tests against the PyTorch reference fixtures (test/reference/make_fixtures.py):
 * loading a fixture file and building the small SiT it was written with.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as torch from '../src/torch/index.js';
import type { Device, Tensor } from '../src/torch/index.js';
import { loadSafetensors } from '../src/torch/io/index.js';
import { configFromPython } from '../src/models/pretrained.js';
import { SiT } from '../src/models/sit.js';
import { fixturePath } from './fixture-path.js';

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

/** The SiT of a `sit_<variant>_<dt>` fixture with its weights, in the fixture's dtype (plain attention, as the reference), on `device`. */
export function sitFromFixture(fx: Fixture, device: Device = 'cpu'): SiT {
  const cfg = configFromPython(JSON.parse(fx.meta.config!) as Record<string, unknown>, { fusedAttention: false });
  const model = new SiT(cfg);
  const dtype = fx.meta.dtype === 'f64' ? 'float64' : 'float32';
  if (dtype === 'float64') model.to({ dtype });
  const own = model.stateDict();
  const weights = new Map([...fx.tensors].filter(([k]) => own.has(k)));
  model.loadStateDict(weights);
  return device === 'cpu' ? model : model.to({ device });
}
