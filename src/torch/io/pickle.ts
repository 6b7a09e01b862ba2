/**
 * A restricted unpickler: reads Python pickles (protocols 0–5) into plain JavaScript data without
 * executing anything. GLOBAL/STACK_GLOBAL only produce a {@link PyGlobal} name; REDUCE/NEWOBJ/BUILD on
 * a name either run a small TypeScript handler registered for that name (OrderedDict → Map, set → Set,
 * and whatever the caller adds, e.g. torch's tensor rebuilders) or build a {@link PyObject}.
 *
 * Opcode reference: CPython `Lib/pickletools.py` and `Lib/pickle.py`.
 */
import { SerializationError } from './errors.js';
import { DEFAULT_GLOBALS, type CallContext, type GlobalHandler } from './builtins.js';
import { isPyObject, PyGlobal, type PyObject } from './pyvalue.js';

export { DEFAULT_GLOBALS, type CallContext, type GlobalHandler } from './builtins.js';

/** Options for {@link unpickle}. */
export interface UnpickleOptions {
  /** Name used in error messages (file/record). Default `<pickle>`. */
  name?: string;
  /** Resolve persistent ids (PERSID/BINPERSID); without it they are an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Handlers for `module.name` callables, added to (and overriding) {@link DEFAULT_GLOBALS}. */
  globals?: ReadonlyMap<string, GlobalHandler> | Record<string, GlobalHandler>;
  /** Decoding of Python 2 `str` (STRING/BINSTRING/SHORT_BINSTRING): `utf-8` (torch's choice, Latin-1 fallback) or `latin1`. */
  py2StringEncoding?: 'utf-8' | 'latin1';
}

/** The highest pickle protocol understood. */
export const HIGHEST_PROTOCOL = 5;

// Python 2 module names written by Python 3 for protocols < 3 (subset of _compat_pickle).
const PY2_MODULES: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'],
  ['copy_reg', 'copyreg'],
  ['exceptions', 'builtins'],
  ['UserDict', 'collections'],
  ['UserList', 'collections'],
]);

function makePyObject(qualname: string, args: unknown[], kwargs?: unknown): PyObject {
  const o: Record<string, unknown> = { __class__: qualname };
  if (args.length > 0) o.__args__ = args;
  if (kwargs instanceof Map && kwargs.size > 0) o.__kwargs__ = kwargs;
  return o as PyObject;
}

function setAttr(obj: object, key: string, value: unknown): void {
  if (key === '__class__') return;
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** BUILD: apply `state` (a dict, a (dict, slots) pair, or anything else) to `obj`. */
function applyState(obj: unknown, state: unknown): void {
  if (state === null || state === undefined) return;
  if (!(typeof obj === 'object' && obj !== null) || obj instanceof Uint8Array || obj instanceof PyGlobal) return; // state of builtin values is dropped
  const target = obj;
  const applyDict = (d: Map<unknown, unknown>): void => {
    for (const [k, v] of d) if (typeof k === 'string') setAttr(target, k, v);
  };
  if (state instanceof Map) applyDict(state);
  else if (
    Array.isArray(state) &&
    state.length === 2 &&
    (state[0] === null || state[0] instanceof Map) &&
    (state[1] === null || state[1] instanceof Map)
  ) {
    if (state[0] instanceof Map) applyDict(state[0]);
    if (state[1] instanceof Map) applyDict(state[1]);
  } else if (isPyObject(target)) setAttr(target, '__state__', state);
}

/**
 * Largest Python integer read, in bytes of two's complement (LONG1/LONG4) — 8192 bits. A checkpoint holds
 * sizes, counters, seeds and RNG words, all within 64 bits; the bound keeps a hostile multi-megabyte LONG4
 * from costing more than a clear error.
 */
export const MAX_INT_BYTES = 1024;

/** Decimal digits of the largest text integer (INT/LONG) read: ⌈8·MAX_INT_BYTES·log₁₀2⌉. */
export const MAX_INT_DIGITS = Math.ceil(8 * MAX_INT_BYTES * Math.log10(2));

/** Two's-complement little-endian bytes → bigint, in one linear pass (hex digits, then one BigInt parse). */
function signedFromLE(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let hexDigits = '';
  for (let i = b.length - 1; i >= 0; i--) hexDigits += (b[i] as number).toString(16).padStart(2, '0');
  const v = BigInt(`0x${hexDigits}`);
  return ((b[b.length - 1] as number) & 0x80) !== 0 ? v - (1n << BigInt(8 * b.length)) : v;
}

function intValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decode a Python-literal string body (protocol 0 STRING) with backslash escapes into bytes. */
function unescapeBytes(s: string): Uint8Array {
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\') {
      out.push(s.charCodeAt(i) & 0xff);
      continue;
    }
    const n = s[++i];
    if (n === 'x') {
      const h = parseInt(s.slice(i + 1, i + 3), 16);
      if (Number.isNaN(h)) throw new TypeError('bad \\x escape');
      out.push(h);
      i += 2;
    } else if (n !== undefined && /[0-7]/.test(n)) {
      let j = i;
      while (j < i + 3 && j < s.length && /[0-7]/.test(s[j] as string)) j++;
      out.push(parseInt(s.slice(i, j), 8) & 0xff);
      i = j - 1;
    } else if (n !== undefined && n in simple) out.push(simple[n] as number);
    else throw new TypeError(`bad escape \\${String(n)}`);
  }
  return Uint8Array.from(out);
}

/** Decode protocol 0 UNICODE (raw-unicode-escape, given as a Latin-1 string): only \uXXXX and \UXXXXXXXX are escapes. */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4?: string, u8?: string) =>
    String.fromCodePoint(parseInt((u4 ?? u8) as string, 16)),
  );
}

/**
 * Unpickle `bytes` without executing anything. Returns the value left by STOP.
 * Throws {@link SerializationError} (naming `options.name` and the byte offset) on truncated or corrupt
 * input, unknown opcodes, unsupported features (extension registry, out-of-band buffers) or a failing
 * handler.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  return new Unpickler(bytes, options).load();
}

/**
 * Unpickle the pickle that starts at byte `start` of `bytes` (one of several pickles written one after
 * another, as the legacy `torch.save` format does). Returns its value and the offset just after its STOP.
 */
export function unpickleAt(bytes: Uint8Array, start: number, options: UnpickleOptions = {}): { value: unknown; end: number } {
  const u = new Unpickler(bytes, options, start);
  return { value: u.load(), end: u.offset };
}

class Unpickler implements CallContext {
  private pos: number;
  private stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly pyObjects = new WeakSet<object>();
  private readonly handlers: Map<string, GlobalHandler>;
  private readonly view: DataView;
  private readonly name: string;
  private opStart = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly options: UnpickleOptions,
    start = 0,
  ) {
    this.pos = start;
    this.name = options.name ?? '<pickle>';
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const extra = options.globals;
    this.handlers = extra === undefined ? new Map() : new Map(extra instanceof Map ? extra : Object.entries(extra));
  }

  private fail(msg: string, cause?: unknown): never {
    throw new SerializationError(this.name, `${msg} (pickle byte ${this.opStart})`, cause === undefined ? undefined : { cause });
  }

  // ------------------------------------------------------------------ input

  private need(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.data.byteLength - this.pos) {
      this.fail(`truncated pickle: needs ${n} more bytes at offset ${this.pos}, ${this.data.byteLength - this.pos} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private bytes(n: number): Uint8Array {
    const at = this.need(n);
    return this.data.subarray(at, at + n);
  }

  private u8(): number {
    return this.data[this.need(1)] as number;
  }

  private u16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  private u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  private u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(this.data.byteLength)) this.fail(`truncated pickle: length ${v} exceeds the data`);
    return Number(v);
  }

  private line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated pickle: missing end of line');
    const s = LATIN1.decode(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  private utf8(b: Uint8Array): string {
    try {
      return UTF8.decode(b);
    } catch (e) {
      return this.fail('invalid UTF-8 in string', e);
    }
  }

  private py2String(b: Uint8Array): string {
    if (this.options.py2StringEncoding === 'latin1') return LATIN1.decode(b);
    try {
      return UTF8.decode(b);
    } catch {
      return LATIN1.decode(b);
    }
  }

  // ------------------------------------------------------------------ stack

  private push(v: unknown): void {
    this.stack.push(v);
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow (corrupt pickle)');
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow (corrupt pickle)');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (prev === undefined) this.fail('MARK missing (corrupt pickle)');
    this.stack = prev;
    return items;
  }

  private memoGet(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo entry ${i} is missing (corrupt pickle)`);
    return this.memo.get(i);
  }

  private memoPut(i: number): void {
    if (!Number.isSafeInteger(i) || i < 0) this.fail(`bad memo index ${i}`);
    this.memo.set(i, this.top());
  }

  // ------------------------------------------------------------------ objects

  private global(module: string, name: string): PyGlobal {
    return new PyGlobal(PY2_MODULES.get(module) ?? module, name);
  }

  /** REDUCE / NEWOBJ: a registered handler, or a PyObject of that class. */
  call(fn: unknown, args: unknown[], kwargs?: unknown): unknown {
    if (!(fn instanceof PyGlobal))
      this.fail(`cannot call a ${fn === null ? 'None' : typeof fn} value (only class/function names are callable)`);
    const h = this.handlers.get(fn.qualname) ?? DEFAULT_GLOBALS.get(fn.qualname);
    if (h === undefined) {
      const o = makePyObject(fn.qualname, args, kwargs);
      this.pyObjects.add(o);
      return o;
    }
    try {
      return h(args, this);
    } catch (e) {
      if (e instanceof SerializationError) throw e;
      return this.fail(`${fn.qualname}: ${(e as Error).message}`, e);
    }
  }

  private argsTuple(v: unknown, op: string): unknown[] {
    if (!Array.isArray(v)) this.fail(`${op} expects an argument tuple`);
    return v;
  }

  private setItems(target: unknown, kv: unknown[]): void {
    if (kv.length % 2 !== 0) this.fail('SETITEMS with an odd number of items');
    let m: Map<unknown, unknown>;
    if (target instanceof Map) m = target;
    else if (typeof target === 'object' && target !== null && this.pyObjects.has(target)) {
      const o = target as Record<string, unknown>;
      if (!(o.__dictitems__ instanceof Map)) setAttr(o, '__dictitems__', new Map());
      m = o.__dictitems__ as Map<unknown, unknown>;
    } else return this.fail(`SETITEM on a value that is not a dict (${describe(target)})`);
    for (let i = 0; i < kv.length; i += 2) m.set(kv[i], kv[i + 1]);
  }

  private appendItems(target: unknown, items: unknown[]): void {
    let a: unknown[];
    if (Array.isArray(target)) a = target;
    else if (typeof target === 'object' && target !== null && this.pyObjects.has(target)) {
      const o = target as Record<string, unknown>;
      if (!Array.isArray(o.__listitems__)) setAttr(o, '__listitems__', []);
      a = o.__listitems__ as unknown[];
    } else return this.fail(`APPEND on a value that is not a list (${describe(target)})`);
    for (const x of items) a.push(x);
  }

  private addItems(target: unknown, items: unknown[]): void {
    if (target instanceof Set) for (const x of items) target.add(x);
    else if (typeof target === 'object' && target !== null && this.pyObjects.has(target)) {
      const o = target as Record<string, unknown>;
      if (!(o.__setitems__ instanceof Set)) setAttr(o, '__setitems__', new Set());
      for (const x of items) (o.__setitems__ as Set<unknown>).add(x);
    } else this.fail(`ADDITEMS on a value that is not a set (${describe(target)})`);
  }

  private persistent(pid: unknown): unknown {
    const f = this.options.persistentLoad;
    if (f === undefined) this.fail('persistent id found but no persistent_load is available');
    try {
      return f(pid);
    } catch (e) {
      if (e instanceof SerializationError) throw e;
      return this.fail(`persistent_load: ${(e as Error).message}`, e);
    }
  }

  /** The read position (after load(): just past STOP). */
  get offset(): number {
    return this.pos;
  }

  // ------------------------------------------------------------------ main loop

  load(): unknown {
    const len = this.data.byteLength;
    while (this.pos < len) {
      this.opStart = this.pos;
      const op = this.data[this.pos++] as number;
      switch (op) {
        case 0x80: {
          // PROTO
          const p = this.u8();
          if (p > HIGHEST_PROTOCOL) this.fail(`unsupported pickle protocol ${p}`);
          break;
        }
        case 0x95: {
          // FRAME: framing only groups opcodes; check it fits, then read on
          const n = this.u64();
          if (n > len - this.pos) this.fail(`truncated pickle: frame of ${n} bytes, ${len - this.pos} left`);
          break;
        }
        case 0x2e: // STOP '.'
          return this.pop();
        case 0x28: // MARK '('
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP '0'
          if (this.stack.length > 0) this.stack.pop();
          else this.popMark();
          break;
        case 0x31: // POP_MARK '1'
          this.popMark();
          break;
        case 0x32: // DUP '2'
          this.push(this.top());
          break;

        // ---- numbers
        case 0x4a: // BININT 'J'
          this.push(this.view.getInt32(this.need(4), true));
          break;
        case 0x4b: // BININT1 'K'
          this.push(this.u8());
          break;
        case 0x4d: // BININT2 'M'
          this.push(this.u16());
          break;
        case 0x8a: // LONG1
          this.push(intValue(signedFromLE(this.bytes(this.u8()))));
          break;
        case 0x8b: {
          // LONG4
          const n = this.view.getInt32(this.need(4), true);
          if (n < 0) this.fail('LONG4 with a negative length');
          if (n > MAX_INT_BYTES) this.fail(`LONG4 integer of ${n} bytes is larger than any checkpoint holds (at most ${MAX_INT_BYTES})`);
          this.push(intValue(signedFromLE(this.bytes(n))));
          break;
        }
        case 0x49: {
          // INT 'I' (text); "00"/"01" are False/True
          const s = this.line().trim();
          if (s === '00') this.push(false);
          else if (s === '01') this.push(true);
          else this.push(this.parseInt(s));
          break;
        }
        case 0x4c: // LONG 'L' (text, optional trailing L)
          this.push(this.parseInt(this.line().trim().replace(/L$/, '')));
          break;
        case 0x47: // BINFLOAT 'G' (big-endian double)
          this.push(this.view.getFloat64(this.need(8), false));
          break;
        case 0x46: {
          // FLOAT 'F' (text)
          const s = this.line().trim();
          const v = /^[+-]?inf$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : /^[+-]?nan$/i.test(s) ? NaN : Number(s);
          if (Number.isNaN(v) && !/nan/i.test(s)) this.fail(`bad FLOAT ${JSON.stringify(s)}`);
          this.push(v);
          break;
        }

        // ---- strings and bytes
        case 0x8c: // SHORT_BINUNICODE
          this.push(this.utf8(this.bytes(this.u8())));
          break;
        case 0x58: // BINUNICODE 'X'
          this.push(this.utf8(this.bytes(this.u32())));
          break;
        case 0x8d: // BINUNICODE8
          this.push(this.utf8(this.bytes(this.u64())));
          break;
        case 0x56: // UNICODE 'V' (raw-unicode-escape text line)
          this.push(rawUnicodeEscape(this.line()));
          break;
        case 0x55: // SHORT_BINSTRING 'U' (Python 2 str)
          this.push(this.py2String(this.bytes(this.u8())));
          break;
        case 0x54: {
          // BINSTRING 'T'
          const n = this.view.getInt32(this.need(4), true);
          if (n < 0) this.fail('BINSTRING with a negative length');
          this.push(this.py2String(this.bytes(n)));
          break;
        }
        case 0x53: {
          // STRING 'S' (quoted repr)
          const s = this.line().trimEnd();
          const q = s[0];
          if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) this.fail('STRING opcode argument is not quoted');
          try {
            this.push(this.py2String(unescapeBytes(s.slice(1, -1))));
          } catch (e) {
            this.fail(`bad STRING: ${(e as Error).message}`, e);
          }
          break;
        }
        case 0x43: // SHORT_BINBYTES 'C'
          this.push(this.bytes(this.u8()).slice());
          break;
        case 0x42: // BINBYTES 'B'
          this.push(this.bytes(this.u32()).slice());
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.push(this.bytes(this.u64()).slice());
          break;
        case 0x97: // NEXT_BUFFER
        case 0x98: // READONLY_BUFFER
          this.fail('out-of-band buffers (pickle protocol 5 buffer_callback) are not supported');
          break;

        // ---- constants
        case 0x4e: // NONE 'N'
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;

        // ---- containers
        case 0x7d: // EMPTY_DICT '}'
          this.push(new Map());
          break;
        case 0x5d: // EMPTY_LIST ']'
          this.push([]);
          break;
        case 0x29: // EMPTY_TUPLE ')'
          this.push([]);
          break;
        case 0x8f: // EMPTY_SET
          this.push(new Set());
          break;
        case 0x85: // TUPLE1
          this.push([this.pop()]);
          break;
        case 0x86: {
          // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.push([a, b]);
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push([a, b, c]);
          break;
        }
        case 0x74: // TUPLE 't'
          this.push(this.popMark());
          break;
        case 0x6c: // LIST 'l'
          this.push(this.popMark());
          break;
        case 0x64: {
          // DICT 'd'
          const items = this.popMark();
          const m = new Map();
          this.stack.push(m);
          this.setItems(m, items);
          break;
        }
        case 0x91: // FROZENSET
          this.push(new Set(this.popMark()));
          break;
        case 0x73: {
          // SETITEM 's'
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS 'u'
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x61: {
          // APPEND 'a'
          const v = this.pop();
          this.appendItems(this.top(), [v]);
          break;
        }
        case 0x65: {
          // APPENDS 'e'
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          this.addItems(this.top(), items);
          break;
        }

        // ---- memo
        case 0x71: // BINPUT 'q'
          this.memoPut(this.u8());
          break;
        case 0x72: // LONG_BINPUT 'r'
          this.memoPut(this.u32());
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memo.size);
          break;
        case 0x70: // PUT 'p'
          this.memoPut(this.parseIndex(this.line()));
          break;
        case 0x68: // BINGET 'h'
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a: // LONG_BINGET 'j'
          this.push(this.memoGet(this.u32()));
          break;
        case 0x67: // GET 'g'
          this.push(this.memoGet(this.parseIndex(this.line())));
          break;

        // ---- globals and objects (names only; nothing is imported or executed)
        case 0x63: {
          // GLOBAL 'c'
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL expects two strings');
          this.push(this.global(module, name));
          break;
        }
        case 0x52: {
          // REDUCE 'R'
          const args = this.argsTuple(this.pop(), 'REDUCE');
          const fn = this.pop();
          this.push(this.call(fn, args));
          break;
        }
        case 0x81: {
          // NEWOBJ: cls.__new__(cls, *args)
          const args = this.argsTuple(this.pop(), 'NEWOBJ');
          const cls = this.pop();
          this.push(this.call(cls, args));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
          const kwargs = this.pop();
          const args = this.argsTuple(this.pop(), 'NEWOBJ_EX');
          const cls = this.pop();
          this.push(this.call(cls, args, kwargs));
          break;
        }
        case 0x62: {
          // BUILD 'b'
          const state = this.pop();
          applyState(this.top(), state);
          break;
        }
        case 0x69: {
          // INST 'i' (protocol 0): MARK args, then module\nname\n
          const module = this.line();
          const name = this.line();
          const args = this.popMark();
          this.push(this.call(this.global(module, name), args));
          break;
        }
        case 0x6f: {
          // OBJ 'o' (protocol 1): MARK cls args
          const items = this.popMark();
          if (items.length === 0) this.fail('OBJ without a class');
          this.push(this.call(items[0], items.slice(1)));
          break;
        }
        case 0x51: // BINPERSID 'Q'
          this.push(this.persistent(this.pop()));
          break;
        case 0x50: // PERSID 'P'
          this.push(this.persistent(this.line()));
          break;
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: // EXT4
          this.fail('the copyreg extension registry (EXT1/EXT2/EXT4) is not supported');
          break;
        default:
          this.fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} (corrupt or not a pickle)`);
      }
    }
    return this.fail('truncated pickle: reached the end of the data without STOP');
  }

  private parseInt(s: string): number | bigint {
    if (s.length > MAX_INT_DIGITS + 1)
      this.fail(`text integer of ${s.length} characters is larger than any checkpoint holds (at most ${MAX_INT_DIGITS} digits)`);
    if (!/^[+-]?\d+$/.test(s)) this.fail(`bad integer ${JSON.stringify(s)}`);
    return intValue(BigInt(s));
  }

  private parseIndex(s: string): number {
    const v = this.parseInt(s.trim());
    if (typeof v !== 'number' || v < 0) this.fail(`bad memo index ${s}`);
    return v;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyGlobal) return v.toString();
  if (Array.isArray(v)) return 'list/tuple';
  if (v instanceof Set) return 'set';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}
