/** `reg` itself: help, exit codes, one-line usage errors, the same spelling of a setting in every command. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
const reg = (...argv: string[]) => spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8' });

describe('reg', () => {
  it('`reg`, `reg --help` and `reg help` list the commands; exit code 0', () => {
    for (const argv of [[], ['--help'], ['help']]) {
      const r = reg(...argv);
      assert.equal(r.status, 0, r.stderr);
      for (const name of ['demo', 'prepare', 'train', 'sample', 'convert', 'export', 'version']) assert.match(r.stdout, new RegExp(`^  ${name}\\b`, 'm'), `${argv.join(' ')}: ${name}`);
    }
  });

  it('every command has --help with its options and their defaults', () => {
    const sample = reg('sample', '--help');
    assert.equal(sample.status, 0, sample.stderr);
    assert.match(sample.stdout, /^Usage: reg sample \[options\]/);
    assert.match(sample.stdout, /--steps <integer>\s+sampling steps .*\(default: 50\)/);
    assert.match(sample.stdout, /--ckpt <string>\s+checkpoint: .*\(required\)/);
    assert.match(sample.stdout, /--mixed-precision <no\|bf16\|fp16>\s+run the network under autocast.*\(default: no\)/);
    const convert = reg('convert', '-h');
    assert.equal(convert.status, 0);
    assert.match(convert.stdout, /^Usage: reg convert \[options\] <official.pt> <dir>/);
    assert.match(reg('train', '--help').stdout, /--max-train-steps <integer>\s+optimizer steps to train .*\(default: 400000\)/);
  });

  it('bad usage: one line naming the command, exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [['nope'], /^reg: unknown command 'nope'/],
      [['train', '--depth', '1e9'], /^reg train: --depth must be in \[0, 256\], got '1e9'$/],
      [['train', '--bogus'], /^reg train: unknown option '--bogus'$/],
      [['sample', '--out', 'x'], /^reg sample: required option '--ckpt <string>' not specified$/],
      // `reg sample` spells mixed precision as `reg train` does; the old --amp is gone
      [['sample', '--ckpt', 'x', '--out', 'y', '--amp', 'bf16'], /^reg sample: unknown option '--amp'$/],
      [['sample', '--ckpt', 'x', '--out', 'y', '--mixed-precision', 'none'], /^reg sample: --mixed-precision must be one of no, bf16, fp16, got 'none'$/],
      [['sample', '--ckpt', 'x', '--out', 'y', '--device', 'cpu', '--mixed-precision', 'fp16'], /^reg sample: --mixed-precision: fp16 mixed precision needs a CUDA device/],
      // options that `reg demo` shares with training keep the training setting's range
      [['demo', '--ema-decay', '2'], /^reg demo: --ema-decay must be in \[0, 1\], got '2'$/],
      [['demo', '--budget', '0'], /^reg demo: --budget must be greater than 0, got '0'$/],
    ];
    for (const [argv, re] of cases) {
      const r = reg(...argv);
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0]!, re);
    }
  });
});
