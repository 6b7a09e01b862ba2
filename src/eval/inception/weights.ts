/**
 * Loading pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (the TF 2015-12-05 graph's weights in
 * torchvision's names; a legacy, non-zip `torch.save` file) through reg-ts's restricted reader:
 * nothing in the file is executed. Every tensor is checked before anything is loaded, and each problem
 * is an {@link InceptionWeightsError} naming the file and the key: unreadable or corrupt file, missing
 * or unexpected key, wrong shape or dtype, non-finite values. `num_batches_tracked` counters are
 * ignored when present.
 */
import * as torch from '../../torch/index.js';
import type { Device, Tensor } from '../../torch/index.js';
import { asStateDict, loadPt, SerializationError } from '../../torch/io/index.js';
import { FidInceptionV3 } from './network.js';

/** The file name pytorch-fid downloads; its sha256 starts with the 8 hex digits in the name. */
export const PYTORCH_FID_WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth';
/** First hex digits of the sha256 of pytorch-fid's file (torch.hub's naming convention). */
export const PYTORCH_FID_SHA256_PREFIX = '6726825d';

/** A weights file that is not the FID Inception's, or is damaged. */
export class InceptionWeightsError extends Error {
  override name = 'InceptionWeightsError';
  constructor(
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${message}`, options);
  }
}

/**
 * Checks `state` against the network's state dict (names, shapes, floating dtypes, finite values);
 * throws an {@link InceptionWeightsError} naming `file` and the first key that is wrong.
 */
export function checkInceptionState(file: string, state: ReadonlyMap<string, Tensor>, net: FidInceptionV3): void {
  const want = net.stateDict();
  const given = [...state.keys()].filter((k) => !k.endsWith('.num_batches_tracked'));
  const unexpected = given.filter((k) => !want.has(k));
  if (unexpected.length > 0) {
    const aux = unexpected.some((k) => k.startsWith('AuxLogits.'));
    throw new InceptionWeightsError(
      file,
      `unexpected key '${unexpected[0]}'${unexpected.length > 1 ? ` (and ${unexpected.length - 1} more)` : ''}${
        aux ? ": this looks like torchvision's ImageNet Inception-v3, not the FID Inception (pytorch-fid's pt_inception-2015-12-05)" : ''
      }`,
    );
  }
  for (const [k, target] of want) {
    const t = state.get(k);
    if (t === undefined) throw new InceptionWeightsError(file, `missing key '${k}' (not the FID Inception's weights, or truncated)`);
    if (t.shape.join() !== target.shape.join()) {
      throw new InceptionWeightsError(
        file,
        `key '${k}' has shape [${t.shape.join(', ')}], the FID Inception needs [${target.shape.join(', ')}]`,
      );
    }
    if (!torch.isFloatingPoint(t.dtype))
      throw new InceptionWeightsError(file, `key '${k}' is stored as ${t.dtype}, not a floating-point tensor`);
    if (!t.isfinite().all().item()) throw new InceptionWeightsError(file, `key '${k}' holds non-finite values (corrupt file)`);
  }
}

/** Reads `file` (zip or legacy `torch.save` of a state dict) into a CPU state dict; errors name the file. */
export function readInceptionState(file: string): Map<string, Tensor> {
  try {
    return asStateDict(loadPt(file, { legacy: true }), 'the file');
  } catch (e) {
    if (e instanceof SerializationError)
      throw new InceptionWeightsError(file, `not a readable torch.save file: ${e.message}`, { cause: e });
    if (e instanceof TypeError) throw new InceptionWeightsError(file, `${e.message} (expected a state dict)`, { cause: e });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InceptionWeightsError(file, 'no such file', { cause: e });
    throw e;
  }
}

/**
 * The width divisor of a state dict, from its first convolution (32 output channels in the real
 * network): 1 for pytorch-fid's file; narrower copies of the topology (tests) load too.
 */
export function stateWidth(file: string, state: ReadonlyMap<string, Tensor>): number {
  const first = state.get('Conv2d_1a_3x3.conv.weight');
  if (first === undefined)
    throw new InceptionWeightsError(file, "missing key 'Conv2d_1a_3x3.conv.weight' (not the FID Inception's weights)");
  const out = first.shape[0] ?? 0;
  if (out < 1 || 32 % out !== 0 || ![1, 2, 4, 8, 16].includes(32 / out)) {
    throw new InceptionWeightsError(
      file,
      `key 'Conv2d_1a_3x3.conv.weight' has shape [${first.shape.join(', ')}], the FID Inception needs [32, 3, 3, 3]`,
    );
  }
  return 32 / out;
}

/** The FID Inception with the weights of `file`, in eval mode on `device`, BatchNorms folded into the convolutions. */
export function loadFidInception(file: string, device: Device = 'cpu'): FidInceptionV3 {
  const state = readInceptionState(file);
  let net: FidInceptionV3;
  try {
    net = new FidInceptionV3(stateWidth(file, state));
  } catch (e) {
    for (const t of state.values()) t.dispose();
    throw e;
  }
  try {
    checkInceptionState(file, state, net);
    net.loadStateDict(new Map([...state].filter(([k]) => !k.endsWith('.num_batches_tracked'))), { strict: true });
  } catch (e) {
    net.dispose();
    throw e;
  } finally {
    for (const t of state.values()) t.dispose();
  }
  return net.fuseBatchNorm().to({ device }).eval();
}
