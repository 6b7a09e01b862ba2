/** Element types of tensors and their libtorch codes (c10::ScalarType). */

/** Supported element types. */
export type DType = 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'float32' | 'float64' | 'bool' | 'bfloat16';

const CODES: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

const NAMES = new Map<number, DType>(Object.entries(CODES).map(([k, v]) => [v, k as DType]));

/** Bytes per element. */
export const ITEM_SIZE: Readonly<Record<DType, number>> = Object.freeze({
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
  bool: 1,
  bfloat16: 2,
});

/** The libtorch code of a dtype; TypeError for an unknown name. */
export function dtypeCode(dtype: DType): number {
  const code = CODES[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype '${String(dtype)}' (expected one of ${Object.keys(CODES).join(', ')})`);
  return code;
}

/** The dtype name of a libtorch code. */
export function dtypeName(code: number): DType {
  const name = NAMES.get(code);
  if (name === undefined) throw new TypeError(`libtorch returned an unsupported dtype (code ${code})`);
  return name;
}

/** True for float16, bfloat16, float32 and float64. */
export function isFloatingPoint(dtype: DType): boolean {
  return dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float32' || dtype === 'float64';
}
