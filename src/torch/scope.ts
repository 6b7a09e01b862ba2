/**
 * Deterministic release of native memory. Every tensor created while a `scope` callback runs is
 * disposed when the callback returns, except the tensors it returns (which move to the enclosing
 * scope) and those passed to `keep`. Outside any scope, tensors live until `dispose()` or GC.
 *
 *   const loss = scope(() => model.loss(batch));   // intermediates freed here, loss survives
 */

/** What a scope can own: anything with a dispose method. */
export interface Scoped {
  dispose(): void;
  /** @internal the scope that owns this object, if any */
  _owner?: Set<Scoped> | undefined;
  /**
   * @internal called once when the object is owned by no scope any more (created outside every
   * scope, returned from the outermost scope, or passed to keep()) and so is left to `dispose()`
   * or, failing that, the garbage collector. Tensors register with their finalizer here: a tensor
   * that a scope disposes never pays for garbage-collector bookkeeping.
   */
  _unscoped?(): void;
}

const stack: Set<Scoped>[] = [];

/** Registers a newly created object with the innermost scope; outside scopes it calls `_unscoped`. */
export function track(obj: Scoped): void {
  const current = stack[stack.length - 1];
  if (current) {
    current.add(obj);
    obj._owner = current;
  } else {
    obj._unscoped?.();
  }
}

function collect(value: unknown, found: Set<Scoped>, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 6) return;
  if ('_owner' in value && typeof (value as Scoped).dispose === 'function') {
    found.add(value as Scoped);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, found, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, found, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, found, depth + 1);
  }
}

/**
 * Runs `fn` and disposes every tensor it created that is not part of its result
 * (tensors inside returned arrays, Maps and plain objects are kept). `fn` must be synchronous.
 */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Scoped>();
  stack.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const obj of mine) obj.dispose();
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const obj of mine) obj.dispose();
    throw new TypeError('scope() callbacks must be synchronous; await outside the scope');
  }
  const survivors = new Set<Scoped>();
  collect(result, survivors, 0);
  const parent = stack[stack.length - 1];
  for (const obj of mine) {
    if (survivors.has(obj)) {
      obj._owner = parent;
      if (parent) parent.add(obj);
      else obj._unscoped?.();
    } else {
      obj.dispose();
    }
  }
  return result;
}

/** Removes `value`'s tensors from every scope so they live until disposed explicitly. */
export function keep<T>(value: T): T {
  const found = new Set<Scoped>();
  collect(value, found, 0);
  for (const obj of found) {
    if (obj._owner === undefined) continue;  // already unscoped (or disposed)
    obj._owner.delete(obj);
    obj._owner = undefined;
    obj._unscoped?.();
  }
  return value;
}

/** Number of scopes currently open (0 outside any scope). */
export function scopeDepth(): number {
  return stack.length;
}
