/** A test body run in a tensor scope that must release every tensor it created. */
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';

/** Wraps `fn` for `test(name, scoped(fn))`: runs it in `torch.scope` and asserts no tensor outlives it. */
export function scoped(fn: () => void): () => void {
  return () => {
    const before = torch.liveTensors();
    torch.scope(fn);
    assert.equal(torch.liveTensors(), before, 'scope released everything');
  };
}
