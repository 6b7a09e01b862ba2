/**
 * Walk a value tree (arrays, Maps, Sets, plain objects) and replace the leaves that match, in place.
 * Iterative and cycle-safe, so deep or self-referencing unpickled data cannot overflow the stack.
 */

function isPlain(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/**
 * Replace, in place, every value `v` in the containers reachable from `root` for which `match(v)` holds
 * by `replace(v)`. Containers are arrays, Map values (keys are left alone), Set elements (order kept)
 * and own enumerable properties of plain objects; matched values are not descended into. Each distinct
 * matched object is replaced once, so shared references stay shared.
 *
 * @returns `replace(root)` if the root itself matches, else `root`
 */
export function replaceLeaves<T>(root: unknown, match: (v: unknown) => v is T, replace: (v: T) => unknown): unknown {
  const done = new Map<unknown, unknown>();
  const sub = (v: unknown): unknown => {
    if (!match(v)) return v;
    if (typeof v === 'object' && v !== null) {
      if (!done.has(v)) done.set(v, replace(v));
      return done.get(v);
    }
    return replace(v);
  };
  if (match(root)) return sub(root);
  const seen = new Set<object>();
  const todo: unknown[] = [root];
  const visit = (v: unknown): void => {
    if (typeof v === 'object' && v !== null && !seen.has(v)) todo.push(v);
  };
  while (todo.length > 0) {
    const c = todo.pop();
    if (typeof c !== 'object' || c === null || seen.has(c)) continue;
    seen.add(c);
    if (Array.isArray(c)) {
      for (let i = 0; i < c.length; i++) {
        const v: unknown = c[i];
        if (match(v)) c[i] = sub(v);
        else visit(v);
      }
    } else if (c instanceof Map) {
      for (const [k, v] of c) {
        if (match(v)) c.set(k, sub(v));
        else visit(v);
        visit(k);
      }
    } else if (c instanceof Set) {
      const items = [...c];
      if (items.some((v) => match(v))) {
        c.clear();
        for (const v of items) c.add(sub(v));
      }
      for (const v of c) visit(v);
    } else if (isPlain(c)) {
      const o = c as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const v = o[k];
        if (match(v)) Object.defineProperty(o, k, { value: sub(v), enumerable: true, writable: true, configurable: true });
        else visit(v);
      }
    }
  }
  return root;
}
