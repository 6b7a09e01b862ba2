/**
 * Deterministic release of native memory. Every tensor created while a `scope` callback runs is
 * disposed when the callback returns, except the tensors it returns (which move to the enclosing
 * scope) and those passed to `keep`; see {@link scope} for exactly which returned tensors count.
 * Outside any scope, tensors live until `dispose()` or GC.
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

/** How many container levels scope() and keep() look through. */
const MAX_DEPTH = 16;

function isScoped(v: object): v is Scoped {
  return '_owner' in v && typeof (v as Scoped).dispose === 'function';
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Binary data and other leaves that never hold tensors (and may be large: not worth walking). */
function isOpaque(v: object): boolean {
  return (
    ArrayBuffer.isView(v) ||
    v instanceof ArrayBuffer ||
    v instanceof Promise ||
    v instanceof Date ||
    v instanceof RegExp ||
    v instanceof Error
  );
}

/** What a walk over a value found. */
interface Walk {
  /** Tensors reachable through arrays, plain objects, Maps and Sets: kept. */
  kept: Set<Scoped>;
  /** Tensors reachable only through a class instance, with that class's name: not kept. */
  hidden: { obj: Scoped; className: string }[];
  /** Objects already walked as containers, and inside class instances (an object may be reached both ways). */
  seen: Set<object>;
  seenInClass: Set<object>;
}

function walk(value: unknown, w: Walk, depth: number, insideClass: string | undefined): void {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return;
  if (isScoped(value)) {
    if (insideClass === undefined) w.kept.add(value);
    else w.hidden.push({ obj: value, className: insideClass });
    return;
  }
  const seen = insideClass === undefined ? w.seen : w.seenInClass;
  if (seen.has(value) || isOpaque(value)) return;
  seen.add(value);
  let inside = insideClass;
  let items: Iterable<unknown>;
  if (Array.isArray(value) || value instanceof Set) items = value as Iterable<unknown>;
  else if (value instanceof Map) items = value.values();
  else {
    if (!isPlainObject(value)) inside ??= (value.constructor as { name?: string } | undefined)?.name || 'anonymous class';
    items = Object.values(value);
  }
  for (const item of items) walk(item, w, depth + 1, inside);
}

function walkResult(value: unknown): Walk {
  const w: Walk = { kept: new Set(), hidden: [], seen: new Set(), seenInClass: new Set() };
  walk(value, w, 0, undefined);
  return w;
}

function hiddenError(where: string, className: string): TypeError {
  return new TypeError(
    `${where} holds a tensor created in a scope inside an instance of class ${className}; scope() and keep() only look ` +
      'through arrays, plain objects, Maps and Sets (class instances can hide tensors in private fields and closures, so ' +
      'they are never searched). Return the tensors in one of those containers, or call keep() on each of them.',
  );
}

/**
 * Runs `fn` and disposes every tensor it created that is not part of its result.
 *
 * The rule: a tensor created while `fn` runs survives the scope (moves to the enclosing one, or is
 * owned by no scope at the outermost level) when it is the result, or is reachable from the result
 * through arrays, plain objects (`{…}`, also with a null prototype), Maps (values) and Sets, up to
 * 16 levels deep; or when `keep()` was called on it. Everything else is disposed when `fn` returns
 * or throws. Class instances are never searched, since their tensors may sit in #private fields or
 * closures no walk can see: a result whose class instances hold (in own enumerable properties) a
 * tensor this scope would dispose is a TypeError, and all the scope's tensors are disposed.
 * `fn` must be synchronous.
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
  let survivors: Set<Scoped>;
  if (result !== null && typeof result === 'object' && isScoped(result)) {
    survivors = new Set([result]); // the common case: one tensor
  } else {
    const w = walkResult(result);
    const offender = w.hidden.find((h) => mine.has(h.obj) && !w.kept.has(h.obj));
    if (offender) {
      for (const obj of mine) obj.dispose();
      throw hiddenError('the value returned from scope()', offender.className);
    }
    survivors = w.kept;
  }
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

/**
 * Removes `value`'s tensors (`value` itself, or those reachable from it through arrays, plain
 * objects, Maps and Sets, as for scope()) from every scope, so they live until disposed explicitly
 * (or garbage-collected). A class instance holding a scope's tensor is a TypeError, as in scope().
 */
export function keep<T>(value: T): T {
  const w = walkResult(value);
  const offender = w.hidden.find((h) => h.obj._owner !== undefined && !w.kept.has(h.obj));
  if (offender) throw hiddenError('the value passed to keep()', offender.className);
  for (const obj of w.kept) {
    if (obj._owner === undefined) continue; // already unscoped (or disposed)
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
