// Runtime controls: autograd, grad mode, autocast, random generators, threads and build facts.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <mutex>

#define REGTS_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace regts {
namespace {

Napi::Value Backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    at::Tensor& t = unwrapTensor(env, info[0], "backward");
    at::Tensor grad;
    if (info.Length() > 1 && !info[1].IsNull() && !info[1].IsUndefined()) grad = unwrapTensor(env, info[1], "backward gradient");
    bool retain = info.Length() > 2 && info[2].ToBoolean().Value();
    t.backward(grad, retain);
    return env.Undefined();
  });
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return wrapTensor(info.Env(), unwrapTensor(info.Env(), info[0], "grad").grad()); });
}

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    at::Tensor& t = unwrapTensor(env, info[0], "setGrad");
    if (info[1].IsNull() || info[1].IsUndefined()) {
      t.mutable_grad().reset();
    } else {
      at::Tensor& g = unwrapTensor(env, info[1], "setGrad gradient");
      TORCH_CHECK(g.sizes() == t.sizes(), "setGrad: gradient shape ", g.sizes(), " does not match tensor shape ", t.sizes());
      // As PyTorch's `.grad =` setter: a gradient of another dtype or device fails later, inside backward.
      TORCH_CHECK(g.scalar_type() == t.scalar_type(), "setGrad: gradient dtype ", g.scalar_type(), " does not match tensor dtype ",
                  t.scalar_type());
      TORCH_CHECK(g.device() == t.device(), "setGrad: gradient device ", g.device(), " does not match tensor device ", t.device());
      t.mutable_grad() = g;
    }
    return env.Undefined();
  });
}

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), unwrapTensor(info.Env(), info[0], "requiresGrad").requires_grad());
  });
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[1].IsBoolean()) throw Napi::TypeError::New(env, "setRequiresGrad(tensor, boolean)");
    at::Tensor& t = unwrapTensor(env, info[0], "setRequiresGrad");
    const bool on = info[1].As<Napi::Boolean>().Value();
    // libtorch's C++ setter silently ignores this for computed tensors; PyTorch's requires_grad_ rejects it.
    if (!on && !t.is_leaf()) {
      throw Napi::Error::New(env,
                             "you can only change requires_grad flags of leaf tensors; use detach() to cut a computed tensor "
                             "from the graph");
    }
    t.set_requires_grad(on);
    return env.Undefined();
  });
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), unwrapTensor(info.Env(), info[0], "isLeaf").is_leaf());
  });
}

Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    unwrapTensor(info.Env(), info[0], "retainGrad").retain_grad();
    return info.Env().Undefined();
  });
}

/** setGradEnabled(on) -> previous state. */
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    bool previous = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(info[0].ToBoolean().Value());
    return Napi::Boolean::New(info.Env(), previous);
  });
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

at::DeviceType autocastDevice(Napi::Env env, const Napi::Value& v) {
  c10::Device d = toDevice(env, v);
  if (d.type() != at::kCPU && d.type() != at::kCUDA) throw Napi::TypeError::New(env, "autocast supports cpu and cuda");
  return d.type();
}

bool autocastEnabled(at::DeviceType device) {
#if REGTS_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

at::ScalarType autocastDtype(at::DeviceType device) {
#if REGTS_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void setAutocast(at::DeviceType device, bool enabled, at::ScalarType dtype) {
#if REGTS_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == at::kCPU) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
}

/** autocastEnter(device, dtypeCode) -> [previousEnabled, previousDtypeCode]. */
Napi::Value AutocastEnter(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    at::DeviceType device = autocastDevice(env, info[0]);
    at::ScalarType dtype = toScalarType(env, info[1]);
    auto previous = Napi::Array::New(env, 2);
    previous.Set(0u, Napi::Boolean::New(env, autocastEnabled(device)));
    previous.Set(1u, Napi::Number::New(env, static_cast<int>(autocastDtype(device))));
    setAutocast(device, true, dtype);
    at::autocast::increment_nesting();
    return previous;
  });
}

/** autocastExit(device, previousEnabled, previousDtypeCode): restores the state saved by autocastEnter. */
Napi::Value AutocastExit(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    at::DeviceType device = autocastDevice(env, info[0]);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    setAutocast(device, info[1].ToBoolean().Value(), toScalarType(env, info[2]));
    return env.Undefined();
  });
}

Napi::Value IsAutocastEnabled(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), autocastEnabled(autocastDevice(info.Env(), info[0])));
  });
}

constexpr int64_t kMaxThreads = 1024;

uint64_t toSeed(Napi::Env env, const Napi::Value& v) {
  int64_t s = toInt64(env, v, "seed");
  if (s < 0) throw Napi::RangeError::New(env, "seed must be a non-negative integer");
  return static_cast<uint64_t>(s);
}

int cudaDeviceCount() { return at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0; }

/** manualSeed(seed): seeds the default generators of the CPU and of every CUDA device. */
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    uint64_t seed = toSeed(info.Env(), info[0]);
    std::vector<c10::Device> devices{c10::Device(at::kCPU)};
    for (int i = 0; i < cudaDeviceCount(); i++) devices.emplace_back(at::kCUDA, static_cast<c10::DeviceIndex>(i));
    for (const auto& d : devices) {
      auto gen = at::globalContext().defaultGenerator(d);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
    return info.Env().Undefined();
  });
}

/** newGenerator(device, seed) -> an independent generator for that device. */
Napi::Value NewGenerator(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    c10::Device device = toDevice(env, info[0]);
    at::Generator gen = at::globalContext().defaultGenerator(device).clone();
    gen.set_current_seed(toSeed(env, info[1]));
    return wrapGenerator(env, gen);
  });
}

/** defaultGenerator(device) -> the global generator of a device (shared, not a copy). */
Napi::Value DefaultGenerator(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return wrapGenerator(info.Env(), at::globalContext().defaultGenerator(toDevice(info.Env(), info[0])));
  });
}

/** generatorState(gen) -> uint8 tensor with the full generator state. */
Napi::Value GeneratorState(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    at::Generator& gen = unwrapGenerator(info.Env(), info[0]);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return wrapTensor(info.Env(), gen.get_state());
  });
}

/** setGeneratorState(gen, uint8 tensor). */
Napi::Value SetGeneratorState(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    at::Generator& gen = unwrapGenerator(info.Env(), info[0]);
    at::Tensor& state = unwrapTensor(info.Env(), info[1], "setGeneratorState");
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return info.Env().Undefined();
  });
}

Napi::Value GeneratorSeed(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(unwrapGenerator(info.Env(), info[0]).current_seed()));
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    int64_t n = toInt64(info.Env(), info[0], "threads");
    if (n < 1 || n > kMaxThreads) {
      throw Napi::RangeError::New(info.Env(), "thread count must be at least 1 and at most " + std::to_string(kMaxThreads) + ", got " + std::to_string(n));
    }
    at::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value SetNumInteropThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    int64_t n = toInt64(info.Env(), info[0], "threads");
    if (n < 1 || n > kMaxThreads) {
      throw Napi::RangeError::New(info.Env(), "thread count must be at least 1 and at most " + std::to_string(kMaxThreads) + ", got " + std::to_string(n));
    }
    at::set_num_interop_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

/** buildInfo() -> facts about the libtorch this addon was built against and runs with. */
Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto out = Napi::Object::New(env);
    out.Set("libtorch", Napi::String::New(env, TORCH_VERSION));
    out.Set("cudaAvailable", Napi::Boolean::New(env, cudaDeviceCount() > 0));
    out.Set("cudaDeviceCount", Napi::Number::New(env, cudaDeviceCount()));
    out.Set("mkl", Napi::Boolean::New(env, at::hasMKL()));
    out.Set("openmp", Napi::Boolean::New(env, at::hasOpenMP()));
    out.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
    out.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
#ifdef _OPENMP
    out.Set("addonOpenmp", Napi::Boolean::New(env, true));
#else
    out.Set("addonOpenmp", Napi::Boolean::New(env, false));
#endif
    return out;
  });
}

}  // namespace

void registerRuntime(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> fns[] = {
      {"backward", Backward},
      {"grad", Grad},
      {"setGrad", SetGrad},
      {"requiresGrad", RequiresGrad},
      {"setRequiresGrad", SetRequiresGrad},
      {"isLeaf", IsLeaf},
      {"retainGrad", RetainGrad},
      {"setGradEnabled", SetGradEnabled},
      {"isGradEnabled", IsGradEnabled},
      {"autocastEnter", AutocastEnter},
      {"autocastExit", AutocastExit},
      {"isAutocastEnabled", IsAutocastEnabled},
      {"manualSeed", ManualSeed},
      {"newGenerator", NewGenerator},
      {"defaultGenerator", DefaultGenerator},
      {"generatorState", GeneratorState},
      {"setGeneratorState", SetGeneratorState},
      {"generatorSeed", GeneratorSeed},
      {"setNumThreads", SetNumThreads},
      {"getNumThreads", GetNumThreads},
      {"setNumInteropThreads", SetNumInteropThreads},
      {"buildInfo", BuildInfo},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace regts
