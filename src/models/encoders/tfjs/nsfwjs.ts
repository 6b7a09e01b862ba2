/**
 * The TF.js models shipped in the npm package `nsfwjs` 4.4.0. There, `model.json` and each weight shard
 * are browserify modules (`dist/models/<model>/model.min.js`, `…/group1-shard1of1.min.js`) whose single
 * export is a literal: the model object, or the shard's bytes as a base64 string. They are parsed here
 * (acorn) and the literal is read from the syntax tree, never executed.
 */
import { parse, type AnyNode, type Expression } from 'acorn';
import { ancestor } from 'acorn-walk';
import { ACORN_OPTIONS, literalSyntaxError, literalValue, type JsValue } from './js-literal.js';
import { loadLayersModel, type TfjsLayersModel } from './layers-model.js';
import { fetchPinnedTarball, readTgz, type PinnedPackage } from './npm-tarball.js';

/** The pinned nsfwjs release (integrity from `npm view nsfwjs@4.4.0 dist.integrity`). */
export const NSFWJS_PACKAGE: PinnedPackage = {
  name: 'nsfwjs',
  version: '4.4.0',
  integrity: 'sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA==',
};

/** The layers models of nsfwjs (its `mobilenet_v2_mid` is a graph model and is not supported). */
export type NsfwjsModelName = 'mobilenet_v2' | 'inception_v3';

/**
 * Returns the literal exported by a browserify-wrapped module: the value assigned first to
 * `<module>.exports` inside a module function `function(require, module, exports) {…}` of the bundle's
 * module table.
 */
export function unwrapBundledModule(source: string, file: string): JsValue {
  let ast: AnyNode;
  try {
    ast = parse(source, ACORN_OPTIONS);
  } catch (err) {
    throw new Error(`${file}: ${literalSyntaxError(err).message}`);
  }
  let exported: Expression | undefined;
  ancestor(ast, {
    AssignmentExpression(node, _state, ancestors) {
      if (exported !== undefined || node.operator !== '=' || node.left.type !== 'MemberExpression') return;
      const { object, property, computed } = node.left;
      if (computed || object.type !== 'Identifier' || property.type !== 'Identifier' || property.name !== 'exports') return;
      const at = ancestors.map((a) => a.type).lastIndexOf('FunctionExpression');
      const fn = ancestors[at];
      const nested = ancestors.slice(at + 1).some((a) => a.type === 'FunctionDeclaration' || a.type === 'ArrowFunctionExpression');
      const moduleParam = fn?.type === 'FunctionExpression' && fn.params.length === 3 ? fn.params[1] : undefined;
      const inModuleTable = ancestors[at - 1]?.type === 'ArrayExpression';
      if (!nested && inModuleTable && moduleParam?.type === 'Identifier' && moduleParam.name === object.name) exported = node.right;
    },
  });
  if (exported === undefined) throw new Error(`${file}: no bundled module export found`);
  try {
    return literalValue(source, exported);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/**
 * Loads a bundled layers model given a reader of the bundle's files by name (`model.min.js`, then
 * `<manifest path>.min.js` for each shard).
 */
export function readBundledLayersModel(readFile: (name: string) => string): TfjsLayersModel {
  const modelJson = unwrapBundledModule(readFile('model.min.js'), 'model.min.js');
  return loadLayersModel(modelJson, (path) => {
    const file = `${path}.min.js`;
    const b64 = unwrapBundledModule(readFile(file), file);
    if (typeof b64 !== 'string') throw new Error(`${file}: export is not a base64 string`);
    return new Uint8Array(Buffer.from(b64, 'base64'));
  });
}

/**
 * Loads one of nsfwjs's layers models from the pinned package tarball, downloading it (once, verified)
 * into the reg-ts cache on first use.
 */
export async function loadNsfwjsModel(model: NsfwjsModelName): Promise<TfjsLayersModel> {
  const entries = readTgz(await fetchPinnedTarball(NSFWJS_PACKAGE));
  const dir = `package/dist/models/${model}/`;
  const files = new Map(entries.filter((e) => e.path.startsWith(dir)).map((e) => [e.path.slice(dir.length), e.data]));
  const decoder = new TextDecoder();
  return readBundledLayersModel((name) => {
    const data = files.get(name);
    if (data === undefined) throw new Error(`${NSFWJS_PACKAGE.name}@${NSFWJS_PACKAGE.version}: missing ${dir}${name}`);
    return decoder.decode(data);
  });
}
