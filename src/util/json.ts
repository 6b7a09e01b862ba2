/** Parsing JSON that comes from a file, with errors that say which file (and where in it). */

/**
 * `text` parsed as a JSON object. Otherwise throws an error of class `As` (default SyntaxError) whose message
 * names `where` (a file, or a field of one): `<where>: not valid JSON (<parser message>)` or
 * `<where>: not a JSON object`.
 */
export function parseJsonObject(text: string, where: string, As: new (message: string) => Error = SyntaxError): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new As(`${where}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new As(`${where}: not a JSON object`);
  return value as Record<string, unknown>;
}
