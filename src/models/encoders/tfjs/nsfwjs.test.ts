import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { layersThrough, loadLayersModel } from './layers-model.js';
import { readBundledLayersModel, unwrapBundledModule } from './nsfwjs.js';
import { fixturePath } from '../../../../test/fixture-path.js';

// nsfwjs 4.4.0's MobileNetV2 cut after its 10th layer: real topology entries and real quantised bytes
// in the original bundled-module format (test/fixtures/data/make-fixtures.ts).
const DIR = fixturePath('data', 'tfjs-mobilenet');
const model = readBundledLayersModel((name) => readFileSync(join(DIR, name), 'utf8'));

test('topology: layer names, classes, configs and connections', () => {
  assert.equal(model.name, 'model_1');
  assert.equal(model.kerasVersion, '2.2.4');
  assert.deepEqual(
    model.layers.map((l) => `${l.className}:${l.name}`),
    [
      'InputLayer:input_1',
      'ZeroPadding2D:Conv1_pad',
      'Conv2D:Conv1',
      'BatchNormalization:bn_Conv1',
      'ReLU:Conv1_relu',
      'DepthwiseConv2D:expanded_conv_depthwise',
      'BatchNormalization:expanded_conv_depthwise_BN',
      'ReLU:expanded_conv_depthwise_relu',
      'Conv2D:expanded_conv_project',
      'BatchNormalization:expanded_conv_project_BN',
    ],
  );
  const [input, pad, conv, bn, relu, dw] = model.layers;
  assert.deepEqual(input!.config['batch_input_shape'], [null, 224, 224, 3]);
  assert.deepEqual(pad!.config['padding'], [
    [0, 1],
    [0, 1],
  ]);
  assert.deepEqual(
    [conv!.config['filters'], conv!.config['kernel_size'], conv!.config['strides'], conv!.config['padding'], conv!.config['use_bias']],
    [32, [3, 3], [2, 2], 'valid', false],
  );
  assert.deepEqual([bn!.config['epsilon'], bn!.config['trainable']], [0.001, false]);
  assert.equal(relu!.config['max_value'], 6);
  assert.deepEqual([dw!.config['padding'], dw!.config['depth_multiplier']], ['same', 1]);
  assert.deepEqual(conv!.inbound, [[{ layer: 'Conv1_pad', nodeIndex: 0, tensorIndex: 0 }]]);
  assert.deepEqual(input!.inbound, []);
  assert.deepEqual(model.inputs, [{ layer: 'input_1', nodeIndex: 0, tensorIndex: 0 }]);
  assert.deepEqual(model.outputs, [{ layer: 'expanded_conv_project_BN', nodeIndex: 0, tensorIndex: 0 }]);
  assert.deepEqual(
    layersThrough(model, 'Conv1_relu')
      .map((l) => l.name)
      .at(-1),
    'Conv1_relu',
  );
  assert.throws(() => layersThrough(model, 'block_99'), /no layer named block_99/);
});

// Reference values: V8's evaluation of the real nsfwjs modules, Math.fround(q·scale + min).
test('weights: names, shapes and dequantised values', () => {
  const w = (layer: string, key: string) => model.layers.find((l) => l.name === layer)!.weights[key]!;
  assert.deepEqual(Object.keys(model.layers[3]!.weights), ['gamma', 'beta', 'moving_mean', 'moving_variance']);
  assert.deepEqual(Object.keys(model.layers[1]!.weights), []);
  assert.deepEqual(w('Conv1', 'kernel').shape, [3, 3, 3, 32]);
  assert.deepEqual(w('expanded_conv_depthwise', 'depthwise_kernel').shape, [3, 3, 32, 1]);
  assert.deepEqual(w('expanded_conv_project', 'kernel').shape, [1, 1, 32, 16]);
  const expected: [string, string, number[]][] = [
    ['Conv1', 'kernel', [-0.22000296413898468, -0.4333391785621643, 0.06666756421327591]],
    ['bn_Conv1', 'gamma', [0.7752246856689453, 1.6777900457382202, 1.6777900457382202]],
    ['bn_Conv1', 'beta', [2.192082643508911, 2.922776699066162, -1.6333163976669312]],
    ['bn_Conv1', 'moving_mean', [0.1702026128768921, -0.040047675371170044, -0.13015493750572205]],
    ['bn_Conv1', 'moving_variance', [0.029300278052687645, 0.03995492681860924, 0.005327323451638222]],
    ['expanded_conv_depthwise', 'depthwise_kernel', [-0.9678661227226257, 0.7742929458618164, -4.25861120223999]],
  ];
  for (const [layer, key, values] of expected) assert.deepEqual([...w(layer, key).data.subarray(0, 3)], values, `${layer}/${key}`);
  const params = model.layers.reduce((a, l) => a + Object.values(l.weights).reduce((s, x) => s + x.data.length, 0), 0);
  assert.equal(params, 864 + 4 * 32 + 288 + 4 * 32 + 512 + 4 * 16);
});

test('bundled modules and malformed models give clear errors', () => {
  assert.throws(() => unwrapBundledModule('module.exports = 1', 'x.js'), /x\.js: no bundled module export/);
  // a browserify bundle: the UMD wrapper's `module.exports=e()` is not the module's export
  const bundle = (body: string) =>
    `!function(e){module.exports=e()}(function(){return function r(e,n,t){}({1:[function(e,a,t){${body}},{}]},{},[1])(1)});`;
  assert.deepEqual(unwrapBundledModule(bundle('a.exports={x:[1,!0]}'), 'b.js'), { x: [1, true] });
  assert.throws(() => unwrapBundledModule(bundle('a.exports=require("fs")'), 'b.js'), /b\.js: JS literal: unsupported token 'require'/);
  assert.throws(() => unwrapBundledModule(bundle('t.exports=1'), 'b.js'), /b\.js: no bundled module export/);
  assert.throws(() => unwrapBundledModule('a.exports={', 'c.js'), /c\.js: JS literal: unexpected token at offset 11/);
  assert.throws(() => loadLayersModel({ format: 'graph-model', modelTopology: {} }, () => new Uint8Array()), /not a layers model/);
  const seq = { modelTopology: { class_name: 'Sequential', config: { layers: [] } } };
  assert.throws(() => loadLayersModel(seq, () => new Uint8Array()), /unsupported model class Sequential/);
  const orphan = {
    modelTopology: { class_name: 'Model', config: { layers: [], input_layers: [], output_layers: [] } },
    weightsManifest: [{ paths: ['s'], weights: [{ name: 'ghost/kernel', shape: [1], dtype: 'float32' }] }],
  };
  assert.throws(() => loadLayersModel(orphan, () => new Uint8Array(4)), /ghost\/kernel belongs to no layer/);
});
