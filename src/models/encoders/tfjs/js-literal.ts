/**
 * A parser for JavaScript value literals as minifiers print them: objects with bare or quoted keys,
 * arrays, strings, numbers (`.5`, `1e-3`, `0x1f`), `!0`/`!1` booleans, `null`, `void 0`, `NaN` and
 * `Infinity`. It reads data without executing anything, which is how the model files bundled as
 * JavaScript modules (nsfwjs) are opened here.
 */

/** A parsed literal value. */
export type JsValue = null | undefined | boolean | number | string | JsValue[] | { [key: string]: JsValue };

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', '0': '\0' };

class Parser {
  pos: number;
  constructor(
    readonly src: string,
    start: number,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new SyntaxError(`JS literal: ${what} at offset ${this.pos}: ${JSON.stringify(this.src.slice(this.pos, this.pos + 30))}`);
  }

  skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  eat(text: string): boolean {
    this.skipSpace();
    if (!this.src.startsWith(text, this.pos)) return false;
    this.pos += text.length;
    return true;
  }

  expect(text: string): void {
    if (!this.eat(text)) this.fail(`expected '${text}'`);
  }

  value(): JsValue {
    this.skipSpace();
    const c = this.src[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"' || c === "'") return this.string();
    if (this.eat('!0')) return true;
    if (this.eat('!1')) return false;
    if (this.eat('void 0')) return undefined;
    if (c !== undefined && /[-+.\d]/.test(c)) return this.number();
    const word = this.identifier();
    switch (word) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'null':
        return null;
      case 'NaN':
        return NaN;
      case 'Infinity':
        return Infinity;
      default:
        return this.fail(`unsupported token '${word}'`);
    }
  }

  object(): { [key: string]: JsValue } {
    this.expect('{');
    const out: { [key: string]: JsValue } = {};
    if (this.eat('}')) return out;
    do {
      this.skipSpace();
      const c = this.src[this.pos];
      const key = c === '"' || c === "'" ? this.string() : c !== undefined && /\d/.test(c) ? String(this.number()) : this.identifier();
      this.expect(':');
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
    } while (this.eat(','));
    this.expect('}');
    return out;
  }

  array(): JsValue[] {
    this.expect('[');
    const out: JsValue[] = [];
    if (this.eat(']')) return out;
    do out.push(this.value());
    while (this.eat(','));
    this.expect(']');
    return out;
  }

  identifier(): string {
    this.skipSpace();
    const m = /^[A-Za-z_$][\w$]*/.exec(this.src.slice(this.pos, this.pos + 256));
    if (m === null) return this.fail('expected an identifier');
    this.pos += m[0].length;
    return m[0];
  }

  number(): number {
    this.skipSpace();
    const m = /^[-+]?(?:0[xX][\da-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|Infinity)/.exec(this.src.slice(this.pos, this.pos + 64));
    if (m === null) return this.fail('expected a number');
    this.pos += m[0].length;
    const text = m[0];
    const sign = text.startsWith('-') ? -1 : 1;
    const body = text.replace(/^[-+]/, '');
    return sign * (/^0[xX]/.test(body) ? parseInt(body, 16) : Number(body));
  }

  string(): string {
    const quote = this.src[this.pos]!;
    const end = this.src.indexOf(quote, this.pos + 1);
    const raw = this.src.slice(this.pos + 1, end);
    if (end >= 0 && !raw.includes('\\')) {
      this.pos = end + 1;
      return raw;
    }
    let out = '';
    this.pos++;
    for (;;) {
      const c = this.src[this.pos++];
      if (c === undefined) return this.fail('unterminated string');
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.src[this.pos++];
      if (e === undefined) return this.fail('unterminated string');
      if (e === 'u' || e === 'x') {
        const hex = this.src[this.pos] === '{' && e === 'u' ? this.braced() : this.src.slice(this.pos, (this.pos += e === 'u' ? 4 : 2));
        if (!/^[\da-fA-F]+$/.test(hex)) this.fail('bad escape');
        out += String.fromCodePoint(parseInt(hex, 16));
      } else if (e === '\n') {
        continue;
      } else {
        out += ESCAPES[e] ?? e;
      }
    }
  }

  braced(): string {
    const close = this.src.indexOf('}', this.pos);
    if (close < 0) this.fail('bad escape');
    const hex = this.src.slice(this.pos + 1, close);
    this.pos = close + 1;
    return hex;
  }
}

/**
 * Parses the literal that starts at `start` in `src` (leading white space allowed) and returns it with
 * the offset just after it.
 */
export function parseJsLiteral(src: string, start = 0): { value: JsValue; end: number } {
  const p = new Parser(src, start);
  const value = p.value();
  return { value, end: p.pos };
}
