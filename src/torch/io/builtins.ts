/**
 * What the unpickler does with the Python builtins that pickles of plain data call: dict/OrderedDict →
 * Map, set/frozenset → Set, bytes/bytearray/_codecs.encode → Uint8Array, copyreg object construction.
 * Handlers only build values from their arguments; nothing is imported or executed.
 */

/** Context given to global handlers: call another global the same way REDUCE would. */
export interface CallContext {
  /** Apply `fn` (usually a {@link PyGlobal}) to `args`, as REDUCE does. */
  call(fn: unknown, args: unknown[]): unknown;
}

/**
 * Implements a Python callable by name for REDUCE/NEWOBJ: gets the (already unpickled) arguments,
 * returns the value to push. Must not have side effects outside the value it builds.
 */
export type GlobalHandler = (args: unknown[], ctx: CallContext) => unknown;

function toMap(src: unknown): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  if (src instanceof Map) for (const [k, v] of src) m.set(k, v);
  else if (Array.isArray(src)) {
    for (const kv of src) {
      if (!Array.isArray(kv) || kv.length !== 2) throw new TypeError('dict() expects (key, value) pairs');
      m.set(kv[0], kv[1]);
    }
  } else if (src !== undefined && src !== null) throw new TypeError('dict() expects a mapping or a list of pairs');
  return m;
}

function toArray(src: unknown): unknown[] {
  if (src === undefined) return [];
  if (Array.isArray(src)) return [...src];
  if (src instanceof Set) return [...src];
  if (src instanceof Map) return [...src.keys()];
  throw new TypeError('expected a list, tuple or set');
}

/** Encode a Python str as bytes the way `_codecs.encode(s, encoding)` would, for latin-1/utf-8. */
function encodeString(s: unknown, encoding: unknown): Uint8Array {
  if (typeof s !== 'string') throw new TypeError('_codecs.encode expects a str');
  const enc = typeof encoding === 'string' ? encoding.toLowerCase().replace('_', '-') : 'utf-8';
  if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw new TypeError('latin-1 string has a character above U+00FF');
      out[i] = c;
    }
    return out;
  }
  if (enc === 'utf-8' || enc === 'utf8') return new TextEncoder().encode(s);
  throw new TypeError(`unsupported encoding ${String(encoding)}`);
}

function bytesFrom(args: unknown[]): Uint8Array {
  const [src, encoding] = args;
  if (src === undefined) return new Uint8Array(0);
  if (src instanceof Uint8Array) return src.slice();
  if (typeof src === 'string') return encodeString(src, encoding);
  if (Array.isArray(src)) return Uint8Array.from(src as number[]);
  throw new TypeError('bytes/bytearray: unsupported argument');
}

/**
 * Handlers for the builtin/collections names that pickles of plain data use. Everything else becomes a
 * {@link PyObject} or {@link PyGlobal}.
 */
export const DEFAULT_GLOBALS: ReadonlyMap<string, GlobalHandler> = new Map<string, GlobalHandler>([
  ['collections.OrderedDict', (a) => toMap(a[0])],
  ['collections.defaultdict', () => new Map()],
  ['builtins.dict', (a) => toMap(a[0])],
  ['builtins.list', (a) => toArray(a[0])],
  ['builtins.tuple', (a) => toArray(a[0])],
  ['builtins.set', (a) => new Set(toArray(a[0]))],
  ['builtins.frozenset', (a) => new Set(toArray(a[0]))],
  ['builtins.bytes', bytesFrom],
  ['builtins.bytearray', bytesFrom],
  ['_codecs.encode', (a) => encodeString(a[0], a[1])],
  // protocol 0/1 object construction: _reconstructor(cls, base, state) ≈ object.__new__(cls)
  ['copyreg._reconstructor', (a, ctx) => ctx.call(a[0], [])],
  ['copyreg.__newobj__', (a, ctx) => ctx.call(a[0], a.slice(1))],
]);
