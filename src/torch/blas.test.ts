import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { coreTypeWarning } from './blas.js';
import * as torch from './index.js';

// A configuration check of the install, not a timing: scripts/install.sh must leave an optimised BLAS
// behind libtorch. On a fresh machine, apt's libtorch-dev alone brings netlib's reference BLAS (~30× slower).
test('libtorch does not run on the netlib reference BLAS', () => {
  const info = torch.blasInfo();
  assert.notEqual(
    info.vendor,
    'reference',
    `loaded BLAS: ${torch.describeBlas(info)}; run scripts/install.sh or apt-get install ${torch.OPTIMISED_BLAS_PACKAGE}`,
  );
  assert.equal(torch.referenceBlasWarning(info), null);
});

test('blasInfo names a library that exists and is mapped into the process', () => {
  const info = torch.blasInfo();
  if (info.library !== '') {
    assert.ok(existsSync(info.library), info.library);
    assert.ok(
      info.loaded.includes(info.library) || !/blas|mkl|blis/.test(info.library),
      `${info.library} not in ${info.loaded.join(', ')}`,
    );
  }
  if (info.vendor === 'openblas') {
    assert.ok(info.core && info.core.length > 0, 'OpenBLAS reports its core');
    assert.ok(Number.isInteger(info.threads) && info.threads! >= 1, `OpenBLAS threads ${info.threads}`);
    assert.match(info.config ?? '', /OpenBLAS/);
  }
  assert.equal(torch.blasInfo(), info, 'cached');
});

test('describeBlas and the reference warning read as a user needs them', () => {
  const reference: torch.BlasInfo = { library: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0', vendor: 'reference', loaded: [] };
  assert.equal(torch.describeBlas(reference), 'netlib reference BLAS /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0');
  const warning = torch.referenceBlasWarning(reference);
  assert.ok(warning?.includes('apt-get install libopenblas0-pthread'), warning ?? 'no warning');
  const openblas: torch.BlasInfo = {
    library: '/x/libblas.so.3',
    vendor: 'openblas',
    core: 'SkylakeX',
    threads: 2,
    loaded: ['/x/libblas.so.3'],
  };
  assert.equal(torch.describeBlas(openblas), 'OpenBLAS (core SkylakeX, 2 threads) /x/libblas.so.3');
});

test('gemmProbe measures a positive, finite rate over at least three products', () => {
  const probe = torch.gemmProbe(0.01, 64);
  assert.equal(probe.n, 64);
  assert.ok(probe.reps >= 3);
  assert.ok(Number.isFinite(probe.gflops) && probe.gflops > 0, String(probe.gflops));
});

test('OPENBLAS_CORETYPE forcing non-AVX-512 kernels on an AVX-512 CPU is named, and nothing else is', () => {
  const avx512 = new Set(['sse2', 'avx2', 'avx512f']);
  assert.match(coreTypeWarning('Haswell', avx512)!, /OPENBLAS_CORETYPE=Haswell makes OpenBLAS use kernels without AVX-512/);
  assert.equal(coreTypeWarning('SkylakeX', avx512), null);
  assert.equal(coreTypeWarning(undefined, avx512), null);
  assert.equal(coreTypeWarning('Haswell', new Set(['avx2'])), null);
});
