/**
 * The readers under fuzz, each with its seed files (small valid inputs) and a read that returns a digest
 * of what it read, so that a mutated file that still reads can be compared with its seed.
 *
 * | format | reader | seeds |
 * |---|---|---|
 * | pt | readPtRaw (torch.save zip) | tiny.pt, ckpt_p2.pt, a hand-made transposed view |
 * | safetensors | readSafetensorsRaw | tensors.safetensors, a file with metadata |
 * | idx | readIdxFile (raw and gzip) | a 3×4×4 ubyte file, its gzip, Fashion-MNIST test labels (gzip) |
 * | npz | readNpz | fortran.npz, a stored and a deflated two-array file |
 * | image | openImageFolder(…).get(0) (sharp) | a JPEG of imagenet-tiny, a grey and an RGB PNG |
 * | autoencoder | loadAutoencoder (diffusers folder) | tiny-diffusers: its weights, its config.json |
 * | encoder | loadDinov2 | dinov2-tiny (HF: weights, config.json), dinov2-hub-tiny (.pth) |
 * | checkpoint | loadModel (SiT/REG) | legacy-convert (config.json, ema.safetensors), official_small.pt |
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fixturePath } from '../fixture-path.js';
import { makePt, makeZip, unzip } from '../io-testing.js';
import { readPtRaw } from '../../src/torch/io/pt.js';
import { readSafetensorsRaw, serializeSafetensorsRaw } from '../../src/torch/io/safetensors.js';
import { rawTensor } from '../../src/torch/io/raw.js';
import { readIdxFile } from '../../src/data/idx.js';
import { readNpz, writeNpz } from '../../src/eval/npz.js';
import { openImageFolder } from '../../src/data/image-folder.js';

/** One seed: the files of a case directory, one of which (`target`) is mutated. */
export interface Seed {
  readonly label: string;
  /** Files by path relative to the case directory. */
  readonly files: Readonly<Record<string, Uint8Array>>;
  /** The file that is mutated. */
  readonly target: string;
  /** The target is a zip archive (mutated member-wise too, see mutate). */
  readonly zip?: boolean;
  /** Every byte of the target is covered by a checksum (zip CRC-32, gzip CRC): a byte-level edit that still reads must read the same. */
  readonly checksummed?: boolean;
}

/** A reader under fuzz. */
export interface FuzzFormat {
  readonly name: string;
  /** Needs the native addon (libtorch). */
  readonly native?: boolean;
  seeds(): Seed[];
  /** Reads the case in `dir` (its files as in the seed) and returns a digest of the result. */
  read(dir: string, seed: Seed): Promise<string> | string;
}

/**
 * sha256 of a value tree (Maps, arrays, Sets, plain objects, byte arrays, numbers, strings, …), walked
 * without recursion and with shared or cyclic parts hashed once, so that a hostile pickle's deep or
 * self-referencing structure cannot break the harness.
 */
export function digest(root: unknown): string {
  const h = createHash('sha256');
  const seen = new Map<object, number>();
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v === null || v === undefined || typeof v !== 'object') {
      h.update(`${typeof v}:${String(v)};`);
      continue;
    }
    const id = seen.get(v);
    if (id !== undefined) {
      h.update(`ref:${id};`);
      continue;
    }
    seen.set(v, seen.size);
    if (ArrayBuffer.isView(v)) {
      h.update(`${v.constructor.name}:${v.byteLength}:`).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      continue;
    }
    const items: unknown[] =
      v instanceof Map
        ? [...v].flat()
        : Array.isArray(v) || v instanceof Set
          ? [...v]
          : Object.entries(v)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .flat();
    h.update(`${v.constructor?.name ?? 'object'}:${items.length}[`);
    for (let i = items.length - 1; i >= 0; i--) todo.push(items[i]);
  }
  return h.digest('hex');
}

const fixture = (...parts: string[]): Uint8Array => new Uint8Array(readFileSync(fixturePath(...parts)));

/** Every file of a fixture folder, by name. */
function folder(...parts: string[]): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const name of ['config.json', 'diffusion_pytorch_model.safetensors', 'model.safetensors'])
    try {
      out[name] = fixture(...parts, name);
    } catch {
      // not in this folder
    }
  return out;
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

const pt: FuzzFormat = {
  name: 'pt',
  seeds: () => [
    { label: 'tiny.pt', files: { 'x.pt': fixture('io', 'tiny.pt') }, target: 'x.pt', zip: true, checksummed: true },
    { label: 'ckpt_p2.pt', files: { 'x.pt': fixture('io', 'ckpt_p2.pt') }, target: 'x.pt', zip: true, checksummed: true },
    {
      label: 'transposed view',
      files: {
        'x.pt': makePt([{ name: 't', storage: '0', numel: 6, offset: 0, size: [3, 2], stride: [1, 3] }], { '0': f32([0, 1, 2, 3, 4, 5]) }),
      },
      target: 'x.pt',
      zip: true,
      checksummed: true,
    },
  ],
  read: (dir) => digest(readPtRaw(path.join(dir, 'x.pt'))),
};

const safetensors: FuzzFormat = {
  name: 'safetensors',
  seeds: () => [
    { label: 'tensors.safetensors', files: { 'x.safetensors': fixture('io', 'tensors.safetensors') }, target: 'x.safetensors' },
    {
      label: 'with metadata',
      files: {
        'x.safetensors': serializeSafetensorsRaw(
          new Map([
            ['a', rawTensor('float32', [2, 2], f32([1, 2, 3, 4]))],
            ['b', rawTensor('int64', [1], new Uint8Array(8).fill(1))],
          ]),
          { config: JSON.stringify({ depth: 2, hiddenSize: 12 }), step: '7' },
        ),
      },
      target: 'x.safetensors',
    },
  ],
  read: (dir) => {
    const { tensors, metadata } = readSafetensorsRaw(path.join(dir, 'x.safetensors'));
    return digest(new Map<string, unknown>([...tensors, ['__metadata__', new Map(Object.entries(metadata))]]));
  },
};

/** A 3×4×4 uint8 IDX file. */
function idxImages(): Uint8Array {
  const header = Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 4]);
  const out = new Uint8Array(header.byteLength + 48);
  out.set(header);
  for (let i = 0; i < 48; i++) out[header.byteLength + i] = (i * 37) & 0xff;
  return out;
}

const idx: FuzzFormat = {
  name: 'idx',
  seeds: () => [
    { label: '3×4×4 ubyte', files: { x: idxImages() }, target: 'x' },
    { label: '3×4×4 ubyte, gzip', files: { x: new Uint8Array(gzipSync(idxImages())) }, target: 'x', checksummed: true },
    {
      label: 'fashion-mnist labels (gzip)',
      files: { x: fixture('data', 'fashion-mnist', 't10k-labels-idx1-ubyte.gz') },
      target: 'x',
      checksummed: true,
    },
  ],
  read: (dir) => {
    const a = readIdxFile(path.join(dir, 'x'));
    return digest({ __class__: a.dtype, shape: [...a.shape], data: new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength) });
  },
};

function npzSeed(deflate: boolean): Uint8Array {
  const dir = path.join(process.env.REG_FUZZ_TMP ?? '/tmp', `npz-seed-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'seed.npz');
  writeNpz(file, {
    images: { dtype: 'uint8', shape: [2, 3, 2], data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) },
    mu: { dtype: 'float64', shape: [3], data: new Uint8Array(Float64Array.from([0.5, -1, 2]).buffer) },
  });
  const bytes = new Uint8Array(readFileSync(file));
  return deflate ? makeZip(unzip(bytes).map((f) => ({ ...f, deflate: true }))) : bytes;
}

const npz: FuzzFormat = {
  name: 'npz',
  seeds: () => [
    { label: 'fortran.npz', files: { 'x.npz': fixture('eval', 'fortran.npz') }, target: 'x.npz', zip: true, checksummed: true },
    { label: 'two arrays, stored', files: { 'x.npz': npzSeed(false) }, target: 'x.npz', zip: true, checksummed: true },
    { label: 'two arrays, deflated', files: { 'x.npz': npzSeed(true) }, target: 'x.npz', zip: true, checksummed: true },
  ],
  read: (dir) => digest(readNpz(path.join(dir, 'x.npz'))),
};

const image: FuzzFormat = {
  name: 'image',
  seeds: (): Seed[] => [
    {
      label: 'JPEG (imagenet-tiny)',
      files: { 'root/c/x.jpeg': fixture('data', 'imagenet-tiny', 'train', 'n01440764', 'n01440764_1000.JPEG') },
      target: 'root/c/x.jpeg',
    },
    { label: 'grey PNG', files: { 'root/c/x.png': fixture('data', 'pil', 'gray-28x28.png') }, target: 'root/c/x.png', checksummed: true },
    { label: 'RGB PNG', files: { 'root/c/x.png': fixture('data', 'pil', 'rgb-37x23.png') }, target: 'root/c/x.png', checksummed: true },
  ],
  read: async (dir) => {
    const sample = await openImageFolder({ root: path.join(dir, 'root'), resolution: 16 }).get(0);
    return digest({ __class__: 'image', data: new Uint8Array(sample.pixels.buffer, sample.pixels.byteOffset, sample.pixels.byteLength) });
  },
};

/** Digest of a module's state dict (libtorch tensors through toRaw). */
async function stateDigestOf(net: { stateDict(): Map<string, unknown>; dispose(): void }): Promise<string> {
  const { toRaw } = await import('../../src/torch/io/tensors.js');
  try {
    return digest(new Map([...net.stateDict()].map(([k, t]) => [k, toRaw(t as Parameters<typeof toRaw>[0])])));
  } finally {
    net.dispose();
  }
}

const autoencoder: FuzzFormat = {
  name: 'autoencoder',
  native: true,
  seeds: () => {
    const files = folder('autoencoders', 'tiny-diffusers');
    return [
      { label: 'tiny-diffusers weights', files, target: 'diffusion_pytorch_model.safetensors' },
      { label: 'tiny-diffusers config.json', files, target: 'config.json' },
    ];
  },
  read: async (dir) => {
    const { loadAutoencoder } = await import('../../src/models/autoencoders/load.js');
    return stateDigestOf(loadAutoencoder(dir));
  },
};

const encoder: FuzzFormat = {
  name: 'encoder',
  native: true,
  seeds: () => {
    const hf = folder('encoders', 'dinov2-tiny');
    return [
      { label: 'dinov2-tiny HF weights', files: hf, target: 'model.safetensors' },
      { label: 'dinov2-tiny HF config.json', files: hf, target: 'config.json' },
      {
        label: 'dinov2-hub-tiny .pth',
        files: { 'x.pth': fixture('encoders', 'dinov2-hub-tiny', 'dinov2_vitt14_pretrain.pth') },
        target: 'x.pth',
        zip: true,
        checksummed: true,
      },
    ];
  },
  read: async (dir, seed) => {
    const { loadDinov2 } = await import('../../src/models/encoders/dinov2.js');
    // the hub fixture's width 32 shows no head count (test/reference/encoders/make_dinov2_hub.py: 2 heads)
    const hub = seed.target === 'x.pth';
    return stateDigestOf(loadDinov2(path.join(dir, hub ? 'x.pth' : 'model.safetensors'), hub ? { numHeads: 2 } : {}).net);
  },
};

const checkpoint: FuzzFormat = {
  name: 'checkpoint',
  native: true,
  seeds: () => {
    const dir: Record<string, Uint8Array> = {};
    for (const name of ['config.json', 'model.safetensors', 'ema.safetensors'])
      dir[`ck/${name}`] = fixture('checkpoints', 'legacy-convert', name);
    return [
      { label: 'checkpoint config.json', files: dir, target: 'ck/config.json' },
      { label: 'checkpoint ema.safetensors', files: dir, target: 'ck/ema.safetensors' },
      {
        label: 'official_small.pt',
        files: { 'x.pt': fixture('reference', 'official_small.pt') },
        target: 'x.pt',
        zip: true,
        checksummed: true,
      },
    ];
  },
  read: async (dir, seed) => {
    const { loadModel } = await import('../../src/models/pretrained.js');
    const official = seed.target === 'x.pt';
    return stateDigestOf(loadModel(path.join(dir, official ? 'x.pt' : 'ck'), official ? { overrides: { numHeads: 2 } } : {}));
  },
};

/**
 * A reader that fails on purpose, by case index (index mod 10): 1 a TypeError, 2 a native abort, 3 an
 * endless loop, 4 a 300 MB allocation (above the self-test's 256 MB limit; filling it takes 0.1–0.7 s
 * on a VM whose page faults cost ~20 µs each), 5 an error that names no file, 6 a read result that
 * differs from its seed although the seed is "checksummed"; otherwise a clean error or the seed read
 * back. The campaign's own test runs it to check that every outcome is seen and classified.
 */
const selftest: FuzzFormat = {
  name: 'selftest',
  seeds: () => [{ label: 'self-test', files: { x: new Uint8Array(4) }, target: 'x', checksummed: true }],
  read: (dir) => {
    // the worker sets REG_FUZZ_CASE for each case; while it reads the seeds it is not set
    const index = process.env.REG_FUZZ_CASE === undefined ? 0 : Number(process.env.REG_FUZZ_CASE) % 10;
    switch (index) {
      case 1:
        return (undefined as unknown as { x: string }).x;
      case 2:
        return process.abort();
      case 3:
        for (;;);
      case 4:
        return digest(new Uint8Array(300 * 2 ** 20).fill(1).subarray(0, 1));
      case 5:
        throw new Error('something went wrong');
      case 6:
        return 'changed';
      case 7:
      case 8:
        throw new Error(`${dir}: a clean error`);
      default:
        return digest(null);
    }
  },
};

/** Every reader under fuzz, by name (and the harness's self-test, {@link selftest}). */
export const FORMATS: ReadonlyMap<string, FuzzFormat> = new Map(
  [pt, safetensors, idx, npz, image, autoencoder, encoder, checkpoint, selftest].map((f) => [f.name, f]),
);

/** The formats a campaign fuzzes by default: all but the self-test. */
export const DEFAULT_FORMATS: readonly string[] = [...FORMATS.keys()].filter((f) => f !== 'selftest');
