/**
 * The JavaScript shapes that unpickled Python values take. Nothing here runs Python code: classes are
 * only names, and instances of classes without a known mapping are plain data objects.
 *
 * | Python                         | JavaScript                                                    |
 * |--------------------------------|---------------------------------------------------------------|
 * | None, bool, str, float         | null, boolean, string, number                                 |
 * | int                            | number when a safe integer, else bigint                       |
 * | bytes, bytearray               | Uint8Array                                                    |
 * | list, tuple                    | Array                                                         |
 * | dict, OrderedDict, defaultdict | Map (insertion order kept; keys keep their Python types)      |
 * | set, frozenset                 | Set                                                           |
 * | a class or function reference  | {@link PyGlobal}                                              |
 * | any other object               | {@link PyObject}: `{__class__: 'module.Name', ...attributes}` |
 * | torch tensor (in `.pt` files)  | the tensor type `T`                                           |
 */

/** A reference to a Python class or function by name (never resolved or called). */
export class PyGlobal {
  /**
   * @param module defining module, e.g. `argparse`
   * @param name qualified name inside the module, e.g. `Namespace`
   */
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  /** `module.name` */
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }

  /** `<global module.name>` */
  toString(): string {
    return `<global ${this.qualname}>`;
  }
}

/**
 * An instance of a Python class that has no mapping: its class name and its attributes (the pickled
 * `__dict__`/slots state). Extra keys appear when the pickle supplied them: `__args__` (constructor
 * arguments), `__kwargs__`, `__state__` (a non-dict state), `__listitems__`, `__dictitems__`,
 * `__setitems__` (items added to list/dict/set subclasses).
 */
export interface PyObject<T = unknown> {
  /** `module.QualName` of the Python class, e.g. `argparse.Namespace`. */
  readonly __class__: string;
  /** Attributes. */
  [attribute: string]: PyValue<T>;
}

/** A value produced by the unpickler, with tensors of type `T`. */
export type PyValue<T = unknown> =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | T
  | PyValue<T>[]
  | Map<PyValue<T>, PyValue<T>>
  | Set<PyValue<T>>
  | PyObject<T>
  | PyGlobal;

/** True for a {@link PyObject} (a plain object with a string `__class__`). */
export function isPyObject(v: unknown): v is PyObject {
  return (
    typeof v === 'object' &&
    v !== null &&
    Object.getPrototypeOf(v) === Object.prototype &&
    typeof (v as { __class__?: unknown }).__class__ === 'string'
  );
}
