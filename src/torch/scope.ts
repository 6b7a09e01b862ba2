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
}

const stack: Set<Scoped>[] = [];

/** Registers a newly created object with the innermost scope (no-op outside scopes). */
export function track(obj: Scoped): void {
  const current = stack[stack.length - 1];
  if (current) {
    current.add(obj);
    obj._owner = current;
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
      parent?.add(obj);
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
    obj._owner?.delete(obj);
    obj._owner = undefined;
  }
  return value;
}

/** Number of scopes currently open (0 outside any scope). */
export function scopeDepth(): number {
  return stack.length;
}
