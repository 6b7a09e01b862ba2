// Shared helpers of the reg-ts native binding: the tensor handle, error translation and
// conversions between JavaScript values and libtorch types. The binding stays thin: no model logic.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <optional>
#include <string>
#include <vector>

namespace regts {

/**
 * Tensor handles. A tensor reaches JavaScript as a plain number that names a slot of a per-environment
 * table of at::Tensor together with the slot's generation:
 *
 *   id = kHandleTag·2⁴⁹ + generation·2²² + slot      (an integer below 2⁵³, exact as a double)
 *
 * Creating a handle stores the tensor in a free slot (no per-handle allocation: the table grows in
 * fixed pages and its slots are reused); `dispose` empties the slot and bumps its generation, so an
 * old id of a reused slot reads as disposed, never as the new tensor. A slot whose generation is
 * exhausted is retired rather than reused. Numbers that are not ids (small integers, fractions, NaN,
 * ids of slots never handed out) are rejected. Handles are not valid across worker threads: every
 * Node environment has its own table, released with the environment.
 */
enum class HandleState { Live, Disposed, Invalid };

/** Number of live (not yet disposed) tensor handles of this environment (for leak tests). */
int64_t liveTensorCount(Napi::Env env);

/** Stores a tensor in the handle table and returns its id; an undefined tensor becomes `null`. */
Napi::Value wrapTensor(Napi::Env env, at::Tensor t);
/** Whether `v` is a live tensor id, the id of a disposed tensor, or not a tensor id at all. */
HandleState tensorHandleState(Napi::Env env, const Napi::Value& v);
/**
 * The tensor named by a handle; TypeError "<what>: expected a tensor" for anything that is not a
 * handle and "<what>: the tensor was disposed…" for a disposed one. The reference stays valid until
 * that handle is disposed (table pages never move).
 */
at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& v, const char* what);
/** The live tensor a handle names, or nullptr for anything else (the unboxed calls' check: no error text). */
at::Tensor* liveTensor(Napi::Env env, const Napi::Value& v);
/** Empties a handle's slot, releasing the tensor now. Returns false when it was already disposed. */
bool releaseTensor(Napi::Env env, const Napi::Value& v);

/**
 * Tells V8 how much native memory a live handle holds (its data and ~0.5 KB of records), so that
 * garbage collections come as often as the native memory of tensors left to the collector calls
 * for. For handles no scope owns (only those depend on the JavaScript finalizer); given back when
 * the handle is released. No-op for a handle that is not live or was already tracked.
 */
void trackForGc(Napi::Env env, const Napi::Value& v);

/**
 * The argument pattern of a schema that dispatch.cc calls unboxed, skipping the IValue stack
 * (T: a tensor, S: a Scalar): unary math, the binary arithmetic and comparisons and their .Scalar
 * overloads. Everything else is called boxed.
 */
enum class UnboxedForm : uint8_t { None, T, TT, TTS, TS, TSS };

/** An operator looked up by findOp, with its unboxed form and the default of its last Scalar, if any. */
struct RegisteredOp {
  c10::OperatorHandle handle;
  UnboxedForm form = UnboxedForm::None;
  std::optional<c10::Scalar> lastScalarDefault;
};

/** The dispatcher operators looked up by findOp in this environment (ids index this table). */
std::vector<RegisteredOp>& operatorTable(Napi::Env env);

/** A generator handle (tagged external holding an at::Generator; generators are few and long-lived). */
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
void registerBlas(Napi::Env env, Napi::Object exports);
void registerDistributed(Napi::Env env, Napi::Object exports);
void registerAllocator(Napi::Env env, Napi::Object exports);
void registerBatchedMatmul(Napi::Env env, Napi::Object exports);

}  // namespace regts
