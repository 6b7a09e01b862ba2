// A caching CPU allocator for libtorch, installed at addon load with c10::SetCPUAllocator.
//
// Why: a fresh 4 KiB page costs ~20 µs on these VMs, and glibc gives blocks above its mmap threshold
// back to the kernel on free, so every training step faults its large activations in again (10–23
// thousand pages per SiT-S block step, BENCHMARKS.md). This allocator keeps freed large blocks and hands
// them out again, already faulted in:
//
//   size < 64 KiB   libtorch's own allocator (glibc keeps small blocks itself)
//   size ≥ 64 KiB   rounded up to a size class (8 classes per power of two: ≤ 12.5 % waste), served from
//                   that class's free list, else mmap'ed (with MADV_HUGEPAGE from 2 MiB); on free the
//                   block goes back to its list while the cache holds ≤ the cap, else it is unmapped
//
// The cap is REGTS_CPU_CACHE_MB (default: a quarter of physical memory, at most 8 GiB). When mmap fails
// the cache is emptied and the mapping retried. REGTS_CPU_ALLOCATOR=0 leaves libtorch's allocator in
// place. Statistics and emptyCache() are exported to JavaScript (torch.memoryStats, torch.emptyCache).
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <torch/version.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace regts {
namespace {

constexpr size_t kMinCached = 64 * 1024;
constexpr size_t kHugePage = 2 * 1024 * 1024;

/** Size class of n ≥ kMinCached: n rounded up to a multiple of 2^(⌊log2 n⌋ − 3), then to whole pages. */
size_t sizeClass(size_t n) {
  size_t top = size_t(1) << (63 - __builtin_clzll(n));
  size_t step = top >> 3;
  size_t rounded = (n + step - 1) / step * step;
  const size_t page = 4096;
  return (rounded + page - 1) / page * page;
}

struct Block {
  void* ptr;
  size_t size;
};

[[noreturn]] void outOfMemory(size_t size) {
  TORCH_CHECK(false, "CachingCpuAllocator: can't allocate memory: you tried to allocate ", size, " bytes (", std::strerror(errno), ")");
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* fallback, size_t cap) : fallback_(fallback), cap_(cap) {}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return allocateImpl(n); }
#else
  c10::DataPtr allocate(size_t n) const override { return allocateImpl(n); }
#endif
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif

  /** Gives every cached block back to the kernel. */
  void emptyCache() {
    std::vector<Block> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [size, list] : free_) {
        for (void* p : list) drop.push_back({p, size});
        list.clear();
      }
      cached_ = 0;
    }
    for (const Block& b : drop) munmap(b.ptr, b.size);
  }

  struct Stats {
    size_t allocated, cached, peak, cap;
    uint64_t hits, misses, reusedBytes;
  };
  Stats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {allocated_, cached_, peak_, cap_, hits_, misses_, reusedBytes_};
  }

 private:
  c10::DataPtr allocateImpl(size_t n) const {
    if (n < kMinCached) return fallback_->allocate(n);
    const size_t size = sizeClass(n);
    void* ptr = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        ptr = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        hits_++;
        reusedBytes_ += size;
      } else {
        misses_++;
      }
      allocated_ += size;
      if (allocated_ > peak_) peak_ = allocated_;
    }
    if (ptr == nullptr) ptr = mapBlock(size);
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_[ptr] = size;
    }
    // the context is the data pointer itself, so that raw_allocate/raw_deallocate (oneDNN uses them) work
    return c10::DataPtr(ptr, ptr, &CachingCpuAllocator::release, c10::Device(c10::DeviceType::CPU));
  }

 public:
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }

 private:

  void* mapBlock(size_t size) const {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      const_cast<CachingCpuAllocator*>(this)->emptyCache();  // memory pressure: give the cache back, retry
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          allocated_ -= size;
        }
        outOfMemory(size);
      }
    }
#ifdef MADV_HUGEPAGE
    if (size >= kHugePage) madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
  }

  /** Takes back a block this allocator mapped; a pointer it does not know came from the fallback (small blocks). */
  void recycle(void* ptr) {
    size_t size = 0;
    bool keep = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = live_.find(ptr);
      if (it != live_.end()) {
        size = it->second;
        live_.erase(it);
        allocated_ -= size;
        if (cached_ + size <= cap_) {
          free_[size].push_back(ptr);
          cached_ += size;
          keep = true;
        }
      }
    }
    if (size == 0) {
      fallback_->raw_deleter()(ptr);
      return;
    }
    if (!keep) munmap(ptr, size);
  }

  static void release(void* ctx);

  c10::Allocator* fallback_;
  const size_t cap_;
  mutable std::mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable std::unordered_map<void*, size_t> live_;
  mutable size_t allocated_ = 0, cached_ = 0, peak_ = 0;
  mutable uint64_t hits_ = 0, misses_ = 0, reusedBytes_ = 0;
};

/** The installed allocator (never destroyed: tensors may outlive every JavaScript environment). */
CachingCpuAllocator* installed = nullptr;

void CachingCpuAllocator::release(void* ptr) { installed->recycle(ptr); }

size_t defaultCap() {
  if (const char* mb = std::getenv("REGTS_CPU_CACHE_MB")) return static_cast<size_t>(std::strtoull(mb, nullptr, 10)) << 20;
  const size_t phys = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return std::min(phys / 4, size_t(8) << 30);
}

void install() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* off = std::getenv("REGTS_CPU_ALLOCATOR");
    if (off && (std::string(off) == "0" || std::string(off) == "off")) return;
    installed = new CachingCpuAllocator(c10::GetCPUAllocator(), defaultCap());
    c10::SetCPUAllocator(installed, /*priority=*/100);
  });
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("caching", installed != nullptr);
  if (installed) {
    auto s = installed->stats();
    o.Set("allocatedBytes", static_cast<double>(s.allocated));
    o.Set("cachedBytes", static_cast<double>(s.cached));
    o.Set("peakBytes", static_cast<double>(s.peak));
    o.Set("capBytes", static_cast<double>(s.cap));
    o.Set("hits", static_cast<double>(s.hits));
    o.Set("misses", static_cast<double>(s.misses));
    o.Set("pageFaultsAvoided", static_cast<double>(s.reusedBytes / 4096));
  }
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  if (installed) installed->emptyCache();
  return info.Env().Undefined();
}

}  // namespace

void registerAllocator(Napi::Env env, Napi::Object exports) {
  install();
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats, "memoryStats"));
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache, "emptyCache"));
}

}  // namespace regts
