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
  _owner?: ScopeOwner | undefined;
  /**
   * @internal called once when the object is owned by no scope any more (created outside every
   * scope, returned from the outermost scope, or passed to keep()) and so is left to `dispose()`
   * or, failing that, the garbage collector. Tensors register with their finalizer here: a tensor
   * that a scope disposes never pays for garbage-collector bookkeeping.
   */
  _unscoped?(): void;
}

/** Entries that must have left a scope before it compacts its list. */
const COMPACT_MIN = 1024;

/**
 * @internal The objects one open scope has tracked, in creation order. An entry still belongs to
 * the scope exactly when its `_owner` is this owner: an object that leaves early (`dispose()`,
 * `keep()`) only clears its `_owner` and calls {@link ScopeOwner.left}, so creating a tensor costs
 * an array push and leaving costs no search. The list is compacted once more than half of it (and
 * more than 1,024 entries) has left, so a long loop of explicit disposes inside one scope stays
 * bounded; a closing scope no longer compacts, so disposals during its last pass cannot move the
 * entries under it. (Measured on `add` of 1-element tensors, 100 per scope: a Set that each
 * dispose deletes from cost 0.07–0.1 µs more per tensor than this list.)
 */
export class ScopeOwner {
  readonly items: Scoped[] = [];
  #left = 0;
  #closed = false;

  /** An entry left this scope before it closed (its `_owner` is already cleared). */
  left(): void {
    if (this.#closed || ++this.#left <= COMPACT_MIN || this.#left * 2 <= this.items.length) return;
    let k = 0;
    for (const obj of this.items) if (obj._owner === this) this.items[k++] = obj;
    this.items.length = k;
    this.#left = 0;
  }

  /** The scope has closed: its entries, for the last pass over them (no compaction from now on). */
  close(): readonly Scoped[] {
    this.#closed = true;
    return this.items;
  }
}

const stack: ScopeOwner[] = [];

/**
 * An owner that is never used and lives as long as the module (innermostScopeEntries reads it), so
 * that the shape (V8 map) of owners never dies. V8 drops a map at a full garbage collection when no
 * live object has it and deoptimizes every function compiled against it, and with no scope open
 * (the usual state between steps) no other owner is alive. Without it, scope(), track() and the
 * operators were recompiled after each full collection (measured: `add` in scope() 1.2 µs instead
 * of 0.9 µs, with a full collection before each sample of 20,000 calls).
 */
const noScope = new ScopeOwner();

/** Registers a newly created object with the innermost scope; outside scopes it calls `_unscoped`. */
export function track(obj: Scoped): void {
  const current = stack[stack.length - 1];
  if (current) {
    current.items.push(obj);
    obj._owner = current;
  } else {
    obj._unscoped?.();
  }
}

/** Disposes every object that still belongs to `owner`. */
function disposeAll(owner: ScopeOwner): void {
  for (const obj of owner.close()) {
    if (obj._owner !== owner) continue;
    obj._owner = undefined;
    obj.dispose();
  }
}

/** @internal entries in the innermost scope's list (for tests of its compaction); 0 outside scopes. */
export function innermostScopeEntries(): number {
  return (stack[stack.length - 1] ?? noScope).items.length;
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
  const mine = new ScopeOwner();
  stack.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    disposeAll(mine);
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) {
    disposeAll(mine);
    throw new TypeError('scope() callbacks must be synchronous; await outside the scope');
  }
  // the common cases, one tensor or no object at all, need no walk
  const isObject = result !== null && typeof result === 'object';
  const single = isObject && isScoped(result as object) ? result : undefined;
  let kept: Set<Scoped> | undefined;
  if (isObject && single === undefined) {
    const w = walkResult(result);
    const offender = w.hidden.find((h) => h.obj._owner === mine && !w.kept.has(h.obj));
    if (offender) {
      disposeAll(mine);
      throw hiddenError('the value returned from scope()', offender.className);
    }
    if (w.kept.size > 0) kept = w.kept;
  }
  const parent = stack[stack.length - 1];
  for (const obj of mine.close()) {
    if (obj._owner !== mine) continue;
    if (obj === single || kept?.has(obj)) {
      obj._owner = parent;
      if (parent) parent.items.push(obj);
      else obj._unscoped?.();
    } else {
      obj._owner = undefined;
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
    const owner = obj._owner;
    if (owner === undefined) continue; // already unscoped (or disposed)
    obj._owner = undefined;
    owner.left();
    obj._unscoped?.();
  }
  return value;
}

/** Number of scopes currently open (0 outside any scope). */
export function scopeDepth(): number {
  return stack.length;
}
