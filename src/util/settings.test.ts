/** Declared settings: the value check and the defaults a table derives. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { camelCase, kebabCase } from './case.js';
import { defaultsOf, settingProblem, type SettingTable, type SettingValues } from './settings.js';

const TABLE = {
  steps: { type: 'integer', default: 50, min: 1, help: 'steps' },
  rate: { type: 'number', default: 0.5, min: 0, below: 1, help: 'a probability' },
  scale: { type: 'number', default: 2, above: 0, help: 'positive' },
  mode: { type: 'string', default: 'a', choices: ['a', 'b'], help: 'mode' },
  name: { type: 'string', help: 'optional' },
  quiet: { type: 'boolean', default: false, help: 'flag' },
} as const satisfies SettingTable;

describe('settings', () => {
  it('settingProblem: type, choices and range, in words', () => {
    const s = TABLE;
    assert.equal(settingProblem(s.steps, 3), null);
    assert.equal(settingProblem(s.steps, 2.5), 'an integer');
    assert.equal(settingProblem(s.steps, '3'), 'an integer');
    assert.equal(settingProblem(s.steps, 0), 'at least 1');
    assert.equal(settingProblem(s.rate, 1), 'in [0, 1)');
    assert.equal(settingProblem(s.rate, 0), null);
    assert.equal(settingProblem(s.rate, Number.POSITIVE_INFINITY), 'a finite number');
    assert.equal(settingProblem(s.scale, 0), 'greater than 0');
    assert.equal(settingProblem({ type: 'number', max: 1, help: '' }, 2), 'at most 1');
    assert.equal(settingProblem({ type: 'number', above: 0, max: 1, help: '' }, 0), 'in (0, 1]');
    assert.equal(settingProblem(s.mode, 'c'), 'one of a, b');
    assert.equal(settingProblem(s.mode, 1), 'a string');
    assert.equal(settingProblem(s.quiet, 'true'), 'true or false');
    assert.equal(settingProblem(s.quiet, true), null);
  });

  it('defaultsOf: every default, typed by the table; a setting without one is refused', () => {
    const { name: _name, ...withDefaults } = TABLE;
    const d: SettingValues<typeof withDefaults> = defaultsOf(withDefaults);
    assert.deepEqual(d, { steps: 50, rate: 0.5, scale: 2, mode: 'a', quiet: false });
    assert.throws(() => defaultsOf(TABLE), /setting 'name' declares no default/);
  });

  it('camelCase and kebabCase are inverses on setting names', () => {
    for (const [camel, kebab] of [
      ['batchSize', 'batch-size'],
      ['adamBeta1', 'adam-beta1'],
      ['gradientAccumulationSteps', 'gradient-accumulation-steps'],
      ['seed', 'seed'],
    ]) {
      assert.equal(kebabCase(camel!), kebab);
      assert.equal(camelCase(kebab!), camel);
    }
    assert.equal(camelCase('batchSize'), 'batchSize');
  });
});
