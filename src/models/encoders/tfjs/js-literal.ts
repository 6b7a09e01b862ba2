/**
 * JavaScript value literals read with the acorn parser, never evaluated: objects (bare, quoted or
 * numeric keys), arrays, strings, numbers, `true`/`false`/`!0`/`!1`, `null`, `void 0`, `NaN`,
 * `Infinity` and signed numbers — what minifiers print for data. Any other expression (a call, an
 * operator, a name) is refused, which is how the model files bundled as JavaScript modules (nsfwjs)
 * are opened here.
 */
import { parseExpressionAt, type AnyNode, type Expression } from 'acorn';

/** A parsed literal value. */
export type JsValue = null | undefined | boolean | number | string | JsValue[] | { [key: string]: JsValue };

/** The latest syntax, so that a modern bundle around the literal still parses. */
export const ACORN_OPTIONS = { ecmaVersion: 'latest' } as const;

/** An acorn error as a literal-reading error: `JS literal: unterminated string constant at offset 0`. */
export function literalSyntaxError(err: unknown): SyntaxError {
  const e = err as Error & { pos?: number };
  const what = e.message.replace(/ \(\d+:\d+\)$/, '');
  return new SyntaxError(`JS literal: ${what.charAt(0).toLowerCase()}${what.slice(1)}${e.pos === undefined ? '' : ` at offset ${e.pos}`}`);
}

/**
 * Parses the literal that starts at `start` in `src` (leading white space allowed) and returns it with
 * the offset just after it.
 */
export function parseJsLiteral(src: string, start = 0): { value: JsValue; end: number } {
  let node: Expression;
  try {
    node = parseExpressionAt(src, start, ACORN_OPTIONS);
  } catch (err) {
    throw literalSyntaxError(err);
  }
  return { value: literalValue(src, node), end: node.end };
}

/**
 * The value of a literal expression node of `src`'s syntax tree; throws a SyntaxError naming the first
 * token that is not data. `closer` is what may follow the literal where it stands (`'}'`, `']'`).
 */
export function literalValue(src: string, node: AnyNode, closer?: string): JsValue {
  const value = tryLiteral(src, node);
  if (value !== NOT_DATA) return value.v;
  throw refusal(src, node, closer);
}

const NOT_DATA = Symbol('not data');

/** `{v}` for a literal node (its children converted recursively, errors thrown), NOT_DATA for any other node. */
function tryLiteral(src: string, node: AnyNode): { v: JsValue } | typeof NOT_DATA {
  switch (node.type) {
    case 'Literal':
      // a regular expression's or a bigint's value is an object or a bigint: not data
      if (typeof node.value === 'string' || typeof node.value === 'number' || typeof node.value === 'boolean' || node.value === null)
        return { v: node.value };
      return NOT_DATA;
    case 'Identifier':
      if (node.name === 'NaN') return { v: NaN };
      if (node.name === 'Infinity') return { v: Infinity };
      return NOT_DATA;
    case 'UnaryExpression': {
      const arg = node.argument;
      const num =
        arg.type === 'Literal' && typeof arg.value === 'number'
          ? arg.value
          : arg.type === 'Identifier' && arg.name === 'Infinity'
            ? Infinity
            : undefined;
      if (num === undefined) return NOT_DATA;
      if (node.operator === '-') return { v: -num };
      if (node.operator === '+') return { v: num };
      if (node.operator === '!' && (num === 0 || num === 1)) return { v: num === 0 };
      if (node.operator === 'void' && num === 0) return { v: undefined };
      return NOT_DATA;
    }
    case 'ArrayExpression':
      return {
        v: node.elements.map((el, i) => {
          if (el === null) throw new SyntaxError(`JS literal: array hole at index ${i} of the array at offset ${node.start}`);
          return literalValue(src, el, ']');
        }),
      };
    case 'ObjectExpression': {
      const out: { [key: string]: JsValue } = {};
      for (const prop of node.properties) {
        if (prop.type !== 'Property' || prop.kind !== 'init' || prop.method || prop.shorthand || prop.computed)
          throw refusal(src, prop, '}');
        const k = prop.key;
        const key =
          k.type === 'Identifier'
            ? k.name
            : k.type === 'Literal' && (typeof k.value === 'string' || typeof k.value === 'number')
              ? String(k.value)
              : undefined;
        if (key === undefined) throw refusal(src, k, ':');
        // defineProperty: a `__proto__` key is plain data, not a prototype change
        Object.defineProperty(out, key, {
          value: literalValue(src, prop.value, '}'),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return { v: out };
    }
    default:
      return NOT_DATA;
  }
}

/** The operand an expression starts with (`1` of `1+1`, `require` of `require("fs")`), if any. */
function leadingOperand(node: AnyNode): AnyNode | null {
  switch (node.type) {
    case 'BinaryExpression':
    case 'LogicalExpression':
    case 'AssignmentExpression':
      return node.left;
    case 'CallExpression':
      return node.callee;
    case 'MemberExpression':
      return node.object;
    case 'ConditionalExpression':
      return node.test;
    case 'SequenceExpression':
      return node.expressions[0] ?? null;
    case 'TaggedTemplateExpression':
      return node.tag;
    case 'ChainExpression':
      return node.expression;
    case 'UpdateExpression':
      return node.prefix ? null : node.argument;
    default:
      return null;
  }
}

/**
 * Why `node` is not data, worded as a left-to-right reader would: a literal followed by an operator
 * (`{a:1+1}`: "expected '}' … found '+'"), or the first token that is no literal ("unsupported token
 * 'require'").
 */
function refusal(src: string, node: AnyNode, closer?: string): SyntaxError {
  for (let n: AnyNode | null = node; n !== null && n.start === node.start; n = leadingOperand(n)) {
    if (n !== node && tryLiteral(src, n) !== NOT_DATA) {
      const expected = closer === undefined ? 'the end of the literal' : `'${closer}'`;
      return new SyntaxError(`JS literal: expected ${expected} at offset ${n.end}: ${JSON.stringify(src.slice(n.end, n.end + 30))}`);
    }
    if (leadingOperand(n) === null) {
      const token = n.type === 'Literal' ? n.raw : /^[A-Za-z_$][\w$]*|^\S/.exec(src.slice(n.start, n.start + 256))?.[0];
      return new SyntaxError(
        `JS literal: unsupported token '${token}' at offset ${n.start}: ${JSON.stringify(src.slice(n.start, n.start + 30))}`,
      );
    }
  }
  return new SyntaxError(`JS literal: unsupported ${node.type} at offset ${node.start}`);
}
