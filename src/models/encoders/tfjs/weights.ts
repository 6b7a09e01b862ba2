/**
 * TF.js weight manifests and the decoding of their binary shards into float32 arrays, including
 * TF.js's post-training quantisation: `uint8`/`uint16` affine (`value = q·scale + min`, computed in
 * double precision and rounded once to float32, as tfjs-core's `decodeWeights` does) and `float16`.
 */

/** Quantisation record of a manifest entry. */
export interface TfjsQuantization {
  readonly dtype: 'uint8' | 'uint16' | 'float16';
  readonly scale?: number;
  readonly min?: number;
}

/** One entry of a weights manifest group. */
export interface TfjsWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: TfjsQuantization;
}

/** A manifest group: shard files (concatenated in order) holding `weights` back to back. */
export interface TfjsManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly TfjsWeightSpec[];
}

/** A decoded weight. */
export interface TfjsWeight {
  /** Full manifest name, e.g. `block_1_expand/kernel`. */
  readonly name: string;
  /** Shape in TF.js / Keras layout (convolution kernels: `[kh, kw, in, out]`; depthwise: `[kh, kw, in, mult]`). */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const STORED_BYTES: Record<string, number> = { float32: 4, uint8: 1, uint16: 2, float16: 2 };

/** IEEE 754 binary16 → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decodeOne(spec: TfjsWeightSpec, bytes: Uint8Array): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  const q = spec.quantization;
  if (q === undefined) {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (q.dtype === 'float16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    if (typeof q.scale !== 'number' || typeof q.min !== 'number') {
      throw new Error(`weight ${spec.name}: ${q.dtype} quantisation without scale and min`);
    }
    const wide = q.dtype === 'uint16';
    for (let i = 0; i < n; i++) out[i] = (wide ? view.getUint16(2 * i, true) : bytes[i]!) * q.scale + q.min;
  }
  return out;
}

/**
 * Decodes every weight of `group` from `shards` (the bytes of `group.paths`, in order).
 * Throws on unsupported dtypes and when the shards are shorter or longer than the manifest says.
 */
export function decodeWeightGroup(group: TfjsManifestGroup, shards: readonly Uint8Array[]): TfjsWeight[] {
  const total = shards.reduce((a, s) => a + s.length, 0);
  const buffer = new Uint8Array(total);
  let at = 0;
  for (const s of shards) {
    buffer.set(s, at);
    at += s.length;
  }
  const out: TfjsWeight[] = [];
  let offset = 0;
  for (const spec of group.weights) {
    if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: unsupported dtype ${spec.dtype}`);
    const stored = spec.quantization?.dtype ?? spec.dtype;
    const width = STORED_BYTES[stored];
    if (width === undefined) throw new Error(`weight ${spec.name}: unsupported quantisation ${stored}`);
    const size = spec.shape.reduce((a, b) => a * b, 1) * width;
    if (offset + size > total) {
      throw new Error(`weight ${spec.name}: shards ${group.paths.join(', ')} end at byte ${total}, need ${offset + size}`);
    }
    out.push({ name: spec.name, shape: [...spec.shape], data: decodeOne(spec, buffer.subarray(offset, offset + size)) });
    offset += size;
  }
  if (offset !== total) throw new Error(`shards ${group.paths.join(', ')}: ${total - offset} bytes beyond the manifest's weights`);
  return out;
}
