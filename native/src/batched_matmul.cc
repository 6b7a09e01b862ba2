// Batched matrix products with the batch split across libtorch's intra-op threads.
//
// Attention multiplies many small matrices: 12 products of 257×64 by 64×257 for a batch-2 SiT-S/2
// block. OpenBLAS splits each such product over its own threads, and at that size its threads gain
// almost nothing (0.78 ms with 2 threads, 0.77 ms with 1, on this 2-core machine). Giving each intra-op
// thread its own share of the batch, each running single-threaded GEMMs, keeps both cores busy. The
// result is bit-identical to `matmul`: OpenBLAS splits the output, never the sum over k, so every
// element is the same sequence of multiply-adds whatever the thread count (true of its float32 kernels
// here, not of its float64 ones, which this path therefore leaves to `matmul`); and each matrix reaches
// the GEMM in the orientation `matmul` gives it (see `needsCopy`), since OpenBLAS's kernels for a
// transposed and a plain operand round differently (its small-matrix kernels do, below ~64 rows).
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/TensorUtils.h>
#include <c10/core/GradMode.h>
#include <dlfcn.h>

#include <mutex>

namespace regts {
namespace {

/** OpenBLAS's thread-count controls, when the BLAS in this process is OpenBLAS. */
struct OpenBlasThreads {
  void (*set)(int) = nullptr;
  int (*get)() = nullptr;
  bool found() const { return set != nullptr && get != nullptr; }
};

const OpenBlasThreads& openBlasThreads() {
  static const OpenBlasThreads t = [] {
    OpenBlasThreads r;
    r.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    r.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return r;
  }();
  return t;
}

/**
 * While alive, OpenBLAS runs each call on its caller's thread. Nested and concurrent holders share one
 * saved count, restored when the last one ends.
 */
class SingleThreadedOpenBlas {
 public:
  SingleThreadedOpenBlas() {
    std::lock_guard<std::mutex> lock(mutex());
    if (holders()++ == 0) {
      saved() = openBlasThreads().get();
      openBlasThreads().set(1);
    }
  }
  ~SingleThreadedOpenBlas() {
    std::lock_guard<std::mutex> lock(mutex());
    if (--holders() == 0) openBlasThreads().set(saved());
  }
  SingleThreadedOpenBlas(const SingleThreadedOpenBlas&) = delete;
  SingleThreadedOpenBlas& operator=(const SingleThreadedOpenBlas&) = delete;

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static int& holders() {
    static int n = 0;
    return n;
  }
  static int& saved() {
    static int n = 1;
    return n;
  }
};

/** Products smaller than this (n·k·m) are left to `matmul`: their GEMMs cost less than a thread wake-up. */
constexpr int64_t kMinWorkPerProduct = 32 * 32 * 32;

/**
 * Whether the batch-split path applies: CPU float32 tensors of equal rank ≥ 3 with the same leading
 * (batch) sizes and matching inner sizes, no gradient to record, OpenBLAS in the process, more than
 * one intra-op thread, and an addon compiled with libtorch's OpenMP runtime. Everything else (broadcasting, autograd, other devices and dtypes) is `matmul`'s.
 */
bool splitsBatch(const at::Tensor& a, const at::Tensor& b) {
  if (!a.device().is_cpu() || !b.device().is_cpu()) return false;
  if (a.scalar_type() != at::kFloat || b.scalar_type() != at::kFloat) return false;
  if (a.dim() < 3 || a.dim() != b.dim()) return false;
  const int64_t d = a.dim();
  for (int64_t i = 0; i < d - 2; i++) {
    if (a.size(i) != b.size(i)) return false;
  }
  if (a.size(d - 1) != b.size(d - 2)) return false;
  if (c10::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad())) return false;
  if (a.size(d - 2) * a.size(d - 1) * b.size(d - 1) < kMinWorkPerProduct) return false;
#ifdef _OPENMP
  return openBlasThreads().found() && at::get_num_threads() > 1 && !at::in_parallel_region();
#else
  return false;  // built without libtorch's OpenMP runtime (see find-libtorch.mjs): parallel_for is serial
#endif
}

/**
 * Whether each matrix of `t` (…, r, c) must be copied to contiguous memory to reach the GEMM as it does
 * through `matmul`. `matmul` hands a 3-D stack to `bmm` as it is, folds the leading dimensions of a
 * deeper one into a batch as a view where it can, and otherwise (a transposed K picked out of a fused
 * QKV tensor, say) copies the whole stack into contiguous, row-major memory. A matrix that is already
 * row-major (unit last stride) needs no copy for that: only the orientation decides the kernel, not
 * the row stride.
 */
bool needsCopy(const at::Tensor& t) {
  if (t.dim() == 3) return false;
  if (t.size(-1) > 1 && t.size(-2) > 1 && t.stride(-1) == 1 && t.stride(-2) >= t.size(-1)) return false;
  int64_t batch = 1;
  for (int64_t d = 0; d < t.dim() - 2; d++) batch *= t.size(d);
  const std::vector<int64_t> folded = {batch, t.size(-2), t.size(-1)};
  return !at::detail::computeStride(t.sizes(), t.strides(), folded).has_value();
}

/** The `index`-th matrix of a stack with any number of leading dimensions (a view, no copy). */
at::Tensor matrixAt(const at::Tensor& t, int64_t index) {
  at::Tensor m = t;
  for (int64_t dim = t.dim() - 3; dim >= 0; dim--) {
    const int64_t size = t.size(dim);
    m = m.select(dim, index % size);
    index /= size;
  }
  return m;
}

/**
 * batchedMatmul(a, b) → a @ b for stacks a (…, n, k) and b (…, k, m) with equal leading sizes.
 * Row-major strided views (heads picked out of a fused QKV projection) are multiplied in place; a
 * transposed operand is copied matrix by matrix, on the worker threads, as `matmul` would copy it. Falls back to `matmul` where `splitsBatch` says.
 */
Napi::Value BatchedMatmul(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const at::Tensor& a = unwrapTensor(env, info[0], "batchedMatmul: a");
    const at::Tensor& b = unwrapTensor(env, info[1], "batchedMatmul: b");
    if (!splitsBatch(a, b)) return wrapTensor(env, at::matmul(a, b));
    std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
    shape.back() = b.size(-1);
    at::Tensor out = at::empty(shape, a.options());
    int64_t batch = 1;
    for (int64_t d = 0; d < out.dim() - 2; d++) batch *= out.size(d);
    const bool copyA = needsCopy(a);
    const bool copyB = needsCopy(b);
    SingleThreadedOpenBlas oneThread;
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        at::Tensor o = matrixAt(out, i);
        at::Tensor ai = matrixAt(a, i);
        at::Tensor bi = matrixAt(b, i);
        at::mm_out(o, copyA ? ai.contiguous() : ai, copyB ? bi.contiguous() : bi);
      }
    });
    return wrapTensor(env, out);
  });
}

}  // namespace

void registerBatchedMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("batchedMatmul", Napi::Function::New(env, BatchedMatmul, "batchedMatmul"));
}

}  // namespace regts
