import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { hashWeights } from '../../test/inception-weights.js';
import { relError } from '../../test/relative-error.js';
import * as torch from '../torch/index.js';
import { loadSafetensors } from '../torch/io/index.js';
import {
  checkInceptionState,
  FidInceptionV3,
  InceptionExtractor,
  InceptionWeightsError,
  loadInception,
  resizeTf1Legacy,
  RESIZE_DESCRIPTIONS,
  type InceptionResize,
} from './inception.js';

const fx = loadSafetensors(fixturePath('eval/inception_w16.safetensors')).tensors;
const get = (k: string) => fx.get(k)!;

/** The width-1/16 network with the reference's hash weights, as an extractor with `resize`. */
function narrow(resize: InceptionResize, fused = false): InceptionExtractor {
  const net = hashWeights(new FidInceptionV3(16)).eval();
  if (fused) net.fuseBatchNorm();
  const info = {
    network: 'test',
    weights: 'hash',
    weightsSha256: '',
    pytorchFidFile: false,
    resize,
    preprocessing: RESIZE_DESCRIPTIONS[resize],
  };
  return new InceptionExtractor(net, info);
}

for (const [resize, fused] of [
  ['tf1-legacy', false],
  ['pytorch', false],
  ['tf1-legacy', true],
] as const) {
  test(`FID Inception (full topology, width 1/16, ${resize} resize${fused ? ', BatchNorm folded into the convolutions' : ''}) matches the PyTorch reference: pool3, spatial, unbiased logits`, () => {
    const inception = narrow(resize, fused);
    torch.scope(() => {
      const out = inception.features(get('images'), 'nhwc');
      const key = resize.replace('-', '_');
      assert.deepEqual(out.pool3.shape, [2, 128]);
      assert.deepEqual(out.spatial.shape, [2, 17 * 17 * 7]);
      assert.deepEqual(out.logits.shape, [2, 1008]);
      for (const part of ['pool3', 'spatial', 'logits'] as const) {
        const err = relError(out[part], get(`${key}.${part}`));
        assert.ok(err <= 1e-5, `${part}: relative error ${err}`);
      }
      // NCHW input gives the same features
      const again = inception.features(get('images').permute(0, 3, 1, 2), 'nchw');
      assert.equal(relError(again.pool3, out.pool3), 0);
    });
    inception.dispose();
  });
}

test('TF1 legacy bilinear resize equals the reference (up and down, non-square)', () => {
  torch.scope(() => {
    const x = get('resize.input');
    assert.ok(relError(resizeTf1Legacy(x, 91), get('resize.up91')) <= 1e-6);
    assert.ok(relError(resizeTf1Legacy(x, 17), get('resize.down17')) <= 1e-6);
  });
});

test("full-width state dict: the names and shapes of pytorch-fid's pt_inception-2015-12-05 file", () => {
  const want = JSON.parse(readFileSync(fixturePath('eval/inception_state.json'), 'utf8')) as Record<string, number[]>;
  const net = new FidInceptionV3();
  const have = Object.fromEntries([...net.stateDict()].map(([k, t]) => [k, t.shape]));
  const expected = Object.fromEntries(Object.entries(want).filter(([k]) => !k.endsWith('num_batches_tracked')));
  assert.deepEqual(have, expected);
  assert.equal(net.numParameters(), 23_850_960);
  net.dispose();
});

test('weights check: each wrong state dict is an error naming the file and the key', () => {
  const net = new FidInceptionV3(16);
  const good = net.stateDict();
  const variant = (edit: (m: Map<string, torch.Tensor>) => void) => {
    const m = new Map(good);
    edit(m);
    return m;
  };
  const check = (m: Map<string, torch.Tensor>) => () => checkInceptionState('w.pth', m, net);
  assert.doesNotThrow(check(variant((m) => m.set('Mixed_5b.branch1x1.bn.num_batches_tracked', torch.tensor([3], { dtype: 'int64' })))));
  assert.throws(
    check(variant((m) => m.delete('Mixed_6d.branch1x1.conv.weight'))),
    /^InceptionWeightsError: w\.pth: missing key 'Mixed_6d\.branch1x1\.conv\.weight'/,
  );
  assert.throws(
    check(variant((m) => m.set('AuxLogits.fc.weight', torch.zeros([1000, 768])))),
    /unexpected key 'AuxLogits\.fc\.weight'.*torchvision's ImageNet Inception-v3/,
  );
  assert.throws(
    check(variant((m) => m.set('fc.weight', torch.zeros([1000, 128])))),
    /key 'fc\.weight' has shape \[1000, 128\], the FID Inception needs \[1008, 128\]/,
  );
  assert.throws(check(variant((m) => m.set('fc.bias', torch.zeros([1008], { dtype: 'int32' })))), /key 'fc\.bias' is stored as int32/);
  assert.throws(check(variant((m) => m.set('fc.bias', torch.full([1008], Number.NaN)))), /key 'fc\.bias' holds non-finite values/);
  net.dispose();
});

test('weights file: unreadable, corrupt or another network is an InceptionWeightsError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inception-'));
  try {
    const legacy = fixturePath('io/legacy_state.pt');
    assert.throws(() => loadInception({ weights: join(dir, 'none.pth') }), /none\.pth: no such file/);
    assert.throws(
      () => loadInception({ weights: legacy }),
      /legacy_state\.pt: missing key 'Conv2d_1a_3x3\.conv\.weight' \(not the FID Inception's weights\)/,
    );
    const cut = join(dir, 'cut.pth');
    writeFileSync(cut, readFileSync(legacy).subarray(0, 700));
    assert.throws(
      () => loadInception({ weights: cut }),
      (e: Error) => e instanceof InceptionWeightsError && /cut\.pth: not a readable torch\.save file/.test(e.message),
    );
    const text = join(dir, 'text.pth');
    writeFileSync(text, 'not a checkpoint');
    assert.throws(() => loadInception({ weights: text }), InceptionWeightsError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
