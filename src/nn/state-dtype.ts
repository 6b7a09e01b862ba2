/**
 * The dtype rule for loading stored weights into a model: a stored tensor is cast to the model's dtype only
 * within its kind (floating, integer, bool). An int32 or bool tensor for a floating parameter, or a
 * floating one for an integer buffer, is an error: a value cast would load garbage (0.039 stored as
 * I32 bits reads back as −1.1e9).
 */
import { isFloatingPoint, type DType } from '../torch/dtype.js';

/** The kind of values a dtype holds. */
export type DTypeKind = 'floating' | 'integer' | 'bool';

/** floating for float16/bfloat16/float32/float64, bool for bool, integer for the rest. */
export function dtypeKind(dtype: DType): DTypeKind {
  return isFloatingPoint(dtype) ? 'floating' : dtype === 'bool' ? 'bool' : 'integer';
}

const KIND_NAMES: Readonly<Record<DTypeKind, string>> = {
  floating: 'a floating dtype: float16, bfloat16, float32 or float64',
  integer: 'an integer dtype: uint8, int8, int16, int32 or int64',
  bool: 'bool',
};

/**
 * Throws unless `stored` is of the same kind as `expected`.
 * @param what the tensor, as the message should name it (e.g. `loadStateDict: 'blocks.0.attn.qkv.weight'`)
 */
export function checkStoredDType(what: string, stored: DType, expected: DType): void {
  if (dtypeKind(stored) !== dtypeKind(expected)) {
    throw new Error(`${what} is stored as ${stored} but the model holds ${expected} (expected ${KIND_NAMES[dtypeKind(expected)]})`);
  }
}
