// Shared helpers of the reg-ts native binding: the tensor handle, error translation and
// conversions between JavaScript values and libtorch types. The binding stays thin: no model logic.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <atomic>
#include <string>
#include <vector>

namespace regts {

/** Heap box owned by a JavaScript external; `dispose()` empties it before the GC runs the finalizer. */
struct TensorBox {
  at::Tensor tensor;
  explicit TensorBox(at::Tensor t);
  ~TensorBox();
};

/** Number of boxes currently holding a tensor (for leak tests). */
int64_t liveTensorCount();

/** Wraps a tensor as a tagged external; an undefined tensor becomes `null`. */
Napi::Value wrapTensor(Napi::Env env, at::Tensor t);
/** True when `v` is an external created by wrapTensor. */
bool isTensorHandle(Napi::Env env, const Napi::Value& v);
/** The tensor inside a handle; TypeError for anything else or for a disposed tensor. */
at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& v, const char* what);
/** Empties a handle's box, releasing the tensor now. Returns false when it was already empty. */
bool releaseTensor(Napi::Env env, const Napi::Value& v);

/** A generator handle (tagged external holding an at::Generator). */
Napi::Value wrapGenerator(Napi::Env env, at::Generator g);
at::Generator& unwrapGenerator(Napi::Env env, const Napi::Value& v);

at::ScalarType toScalarType(Napi::Env env, const Napi::Value& v);
c10::Device toDevice(Napi::Env env, const Napi::Value& v);
std::vector<int64_t> toIntVector(Napi::Env env, const Napi::Value& v, const char* what);
int64_t toInt64(Napi::Env env, const Napi::Value& v, const char* what);

/** Throws a JavaScript error of the class that matches a libtorch exception. */
[[noreturn]] void rethrowAsJs(Napi::Env env);

/** Runs `body` and turns every C++ exception into a JavaScript exception with libtorch's message. */
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    rethrowAsJs(info.Env());
  }
}

void registerDispatch(Napi::Env env, Napi::Object exports);
void registerTensorData(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);

}  // namespace regts
