/** `reg` itself: help, exit codes, one-line usage errors, the same spelling of a setting in every command. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildInfo } from '../torch/runtime.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
const reg = (...argv: string[]) => spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8' });

/** Debian's netlib reference BLAS directory (package libblas3, which scripts/install.sh keeps installed). */
function referenceBlasDir(): string {
  const dirs = readdirSync('/usr/lib').map((d) => path.join('/usr/lib', d, 'blas'));
  const dir = dirs.find((d) => existsSync(path.join(d, 'libblas.so.3')));
  assert.ok(dir, 'netlib reference BLAS not found under /usr/lib/*/blas/ (apt-get install libblas3)');
  return dir;
}

describe('reg', () => {
  it('`reg`, `reg --help` and `reg help` list the commands; exit code 0', () => {
    for (const argv of [[], ['--help'], ['help']]) {
      const r = reg(...argv);
      assert.equal(r.status, 0, r.stderr);
      for (const name of ['demo', 'prepare', 'train', 'sample', 'convert', 'export', 'version'])
        assert.match(r.stdout, new RegExp(`^  ${name}\\b`, 'm'), `${argv.join(' ')}: ${name}`);
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
      [
        ['sample', '--ckpt', 'x', '--out', 'y', '--mixed-precision', 'none'],
        /^reg sample: --mixed-precision must be one of no, bf16, fp16, got 'none'$/,
      ],
      [
        ['sample', '--ckpt', 'x', '--out', 'y', '--device', 'cpu', '--mixed-precision', 'fp16'],
        /^reg sample: --mixed-precision: fp16 mixed precision needs a CUDA device/,
      ],
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

  it('commands that compute warn once, on stderr, when libtorch runs on the reference BLAS; reg version shows the BLAS and a GEMM figure', () => {
    const onReference = { ...process.env, LD_LIBRARY_PATH: referenceBlasDir() };
    const heavy = spawnSync(process.execPath, [MAIN, 'sample', '--ckpt', '/nonexistent/ckpt', '--out', '/nonexistent/out'], {
      encoding: 'utf8',
      env: onReference,
    });
    assert.equal(heavy.status, 2, heavy.stderr);
    const lines = heavy.stderr.trim().split('\n');
    assert.equal(lines.filter((l) => l.includes('reference BLAS')).length, 1, heavy.stderr);
    assert.match(lines[0]!, /^warning: libtorch is running on netlib's reference BLAS .*apt-get install libopenblas0-pthread/);
    assert.match(lines[1]!, /^reg sample: .*\/nonexistent\/ckpt/);
    // the same command on this install's BLAS: no warning
    const normal = reg('sample', '--ckpt', '/nonexistent/ckpt', '--out', '/nonexistent/out');
    assert.equal(normal.status, 2);
    assert.doesNotMatch(normal.stderr, /reference BLAS/);
    // help is not heavy work
    assert.doesNotMatch(
      spawnSync(process.execPath, [MAIN, 'train', '--help'], { encoding: 'utf8', env: onReference }).stderr,
      /reference BLAS/,
    );

    const version = spawnSync(process.execPath, [MAIN, 'version'], { encoding: 'utf8', env: onReference });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^blas {5}netlib reference BLAS \/usr\/lib\/.*\/blas\/libblas\.so/m);
    assert.match(version.stdout, /^gemm {5}\d+(\.\d)? GFLOP\/s \(1024³ float32/m);
    assert.match(version.stderr, /reference BLAS/);
    assert.match(version.stdout, /attention products: matmul \(the batch split needs OpenBLAS, the BLAS is reference\)/);
    const mine = reg('version');
    assert.equal(mine.status, 0, mine.stderr);
    assert.match(mine.stdout, /^blas {5}(OpenBLAS|MKL|BLIS)/m);
    assert.match(mine.stdout, /^threads {2}\d+ intra-op/m);
    const threads = Number(/^threads {2}(\d+) intra-op/m.exec(mine.stdout)![1]);
    if (/^blas {5}OpenBLAS/m.test(mine.stdout) && threads > 1 && buildInfo().addonOpenmp) {
      assert.match(mine.stdout, new RegExp(`attention products: float32 batch split across ${threads} intra-op threads`));
    }
  });
});
