// Locates libtorch for the native build, in this order: $LIBTORCH (a directory with include/ and
// lib/), the libtorch inside a pip `torch` install, Debian's libtorch-dev. Prints one field for
// binding.gyp (--include, --libdir, --libs, --defines, --openmp) or the whole record as JSON (--json).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

function fromPrefix(root, source) {
  const api = path.join(root, 'include', 'torch', 'csrc', 'api', 'include');
  if (!existsSync(path.join(root, 'include', 'ATen', 'ATen.h')) || !existsSync(api)) return null;
  return { source, include: [path.join(root, 'include'), api], libdir: path.join(root, 'lib'), cxx11abi: null };
}

function fromPip() {
  for (const python of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    try {
      const out = execFileSync(
        python,
        ['-c', 'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      )
        .trim()
        .split('\n');
      const found = fromPrefix(out[0], `pip torch (${python})`);
      if (found) return { ...found, cxx11abi: Number(out[1]) };
    } catch {
      // this interpreter has no torch with headers; try the next one
    }
  }
  return null;
}

function fromDebian() {
  if (!existsSync('/usr/include/torch/csrc/api/include/torch/torch.h')) return null;
  const multiarch = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'].find((d) =>
    existsSync(path.join(d, 'libtorch_cpu.so')),
  );
  if (!multiarch) return null;
  return {
    source: 'debian libtorch-dev',
    include: ['/usr/include', '/usr/include/torch/csrc/api/include'],
    libdir: multiarch,
    cxx11abi: 1,
  };
}

export function findLibtorch() {
  const env = process.env.LIBTORCH;
  if (env) {
    const found = fromPrefix(env, '$LIBTORCH');
    if (!found) throw new Error(`LIBTORCH=${env} does not contain include/ATen/ATen.h and include/torch/csrc/api/include`);
    return found;
  }
  const found = fromPip() ?? fromDebian();
  if (!found) {
    throw new Error(
      "libtorch not found. Install Debian's libtorch-dev (apt-get install libtorch-dev), install PyTorch with pip, " +
        'or set LIBTORCH to a libtorch directory with include/ and lib/.',
    );
  }
  return found;
}

/**
 * The c10d backends this libtorch can be compiled against: Gloo when the gloo headers are found next to
 * libtorch's (pip builds) or system-wide (Debian's libgloo-dev), NCCL when libtorch has CUDA and nccl.h is
 * found (pip's nvidia-nccl package, $NCCL_HOME, or the system). Returns defines and extra include dirs.
 */
export function distributedBackends(lib) {
  const defines = [];
  const include = [];
  const glooDirs = [...lib.include, '/usr/include', '/usr/local/include'];
  if (glooDirs.some((d) => existsSync(path.join(d, 'gloo', 'config.h')))) defines.push('USE_C10D_GLOO');
  const hasCuda = existsSync(path.join(lib.libdir, 'libtorch_cuda.so'));
  if (hasCuda && defines.includes('USE_C10D_GLOO')) {
    const ncclDirs = [
      ...(process.env.NCCL_HOME ? [path.join(process.env.NCCL_HOME, 'include')] : []),
      ...lib.include,
      path.join(lib.libdir, '..', '..', 'nvidia', 'nccl', 'include'),
      '/usr/include',
      '/usr/local/cuda/include',
    ];
    const nccl = ncclDirs.find((d) => existsSync(path.join(d, 'nccl.h')));
    if (nccl) {
      defines.push('USE_C10D_NCCL');
      include.push(path.resolve(nccl));
    }
  }
  return { defines, include };
}

/**
 * `-fopenmp` when libtorch's OpenMP runtime is the system's libgomp (Debian), so that the addon's
 * `at::parallel_for` loops (inline in ATen's headers) run on libtorch's own intra-op threads. Nothing
 * when libtorch bundles its own renamed copy (pip wheels, the libtorch archives: `libgomp-<hash>.so`):
 * a second OpenMP runtime would start a second thread pool. Those loops then run serially.
 */
function openmpFlags(libdir) {
  return readdirSync(libdir).some((n) => /^libgomp-[0-9a-f]+\.so/.test(n)) ? [] : ['-fopenmp'];
}

function libraries(libdir) {
  const names = readdirSync(libdir);
  const wanted = ['torch', 'torch_cpu', 'c10', 'torch_cuda', 'c10_cuda'];
  return wanted.filter((n) => names.includes(`lib${n}.so`)).map((n) => `-l${n}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lib = findLibtorch();
  const field = process.argv[2];
  const dist = distributedBackends(lib);
  if (field === '--include') console.log([...lib.include, ...dist.include].join(' '));
  else if (field === '--libdir') console.log(lib.libdir);
  else if (field === '--libs') console.log(libraries(lib.libdir).join(' '));
  else if (field === '--openmp') console.log(openmpFlags(lib.libdir).join(' '));
  else if (field === '--defines')
    console.log([...(lib.cxx11abi === null ? [] : [`_GLIBCXX_USE_CXX11_ABI=${lib.cxx11abi}`]), ...dist.defines].join(' '));
  else console.log(JSON.stringify({ ...lib, libs: libraries(lib.libdir), openmp: openmpFlags(lib.libdir), distributed: dist }));
}
