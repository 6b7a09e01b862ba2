// Entry point of the reg-ts native addon and the handle types shared by every translation unit.
#include "common.h"

namespace regts {

namespace {
std::atomic<int64_t> gLiveTensors{0};
const napi_type_tag kTensorTag = {0x7265675f74732d31ULL, 0x74656e736f720001ULL};
const napi_type_tag kGeneratorTag = {0x7265675f74732d31ULL, 0x67656e6572610002ULL};

bool hasTag(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag) {
  if (!v.IsExternal()) return false;
  bool result = false;
  napi_status s = napi_check_object_type_tag(env, v, &tag, &result);
  return s == napi_ok && result;
}
}  // namespace

TensorBox::TensorBox(at::Tensor t) : tensor(std::move(t)) { gLiveTensors++; }
TensorBox::~TensorBox() {
  if (tensor.defined()) gLiveTensors--;
}

int64_t liveTensorCount() { return gLiveTensors.load(); }

Napi::Value wrapTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  auto ext = Napi::External<TensorBox>::New(env, new TensorBox(std::move(t)),
                                            [](Napi::Env, TensorBox* box) { delete box; });
  napi_type_tag_object(env, ext, &kTensorTag);
  return ext;
}

bool isTensorHandle(Napi::Env env, const Napi::Value& v) { return hasTag(env, v, kTensorTag); }

at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!hasTag(env, v, kTensorTag)) {
    throw Napi::TypeError::New(env, std::string(what) + ": expected a tensor");
  }
  TensorBox* box = v.As<Napi::External<TensorBox>>().Data();
  if (!box->tensor.defined()) {
    throw Napi::TypeError::New(env, std::string(what) + ": the tensor was disposed and can no longer be used");
  }
  return box->tensor;
}

bool releaseTensor(Napi::Env env, const Napi::Value& v) {
  if (!hasTag(env, v, kTensorTag)) throw Napi::TypeError::New(env, "dispose: expected a tensor");
  TensorBox* box = v.As<Napi::External<TensorBox>>().Data();
  if (!box->tensor.defined()) return false;
  box->tensor.reset();
  gLiveTensors--;
  return true;
}

Napi::Value wrapGenerator(Napi::Env env, at::Generator g) {
  auto ext = Napi::External<at::Generator>::New(env, new at::Generator(std::move(g)),
                                                [](Napi::Env, at::Generator* gen) { delete gen; });
  napi_type_tag_object(env, ext, &kGeneratorTag);
  return ext;
}

at::Generator& unwrapGenerator(Napi::Env env, const Napi::Value& v) {
  if (!hasTag(env, v, kGeneratorTag)) throw Napi::TypeError::New(env, "expected a generator");
  return *v.As<Napi::External<at::Generator>>().Data();
}

at::ScalarType toScalarType(Napi::Env env, const Napi::Value& v) {
  int64_t code = toInt64(env, v, "dtype");
  if (code < 0 || code >= static_cast<int64_t>(at::ScalarType::NumOptions)) {
    throw Napi::RangeError::New(env, "unknown dtype code " + std::to_string(code));
  }
  return static_cast<at::ScalarType>(code);
}

c10::Device toDevice(Napi::Env env, const Napi::Value& v) {
  if (!v.IsString()) throw Napi::TypeError::New(env, "device must be a string such as 'cpu' or 'cuda:0'");
  std::string s = v.As<Napi::String>().Utf8Value();
  try {
    return c10::Device(s);
  } catch (...) {
    throw Napi::TypeError::New(env, "invalid device '" + s + "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
}

int64_t toInt64(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + ": expected an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == static_cast<double>(static_cast<int64_t>(d))) || d > 9.007199254740992e15 || d < -9.007199254740992e15) {
    throw Napi::TypeError::New(env, std::string(what) + ": expected an integer, got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

std::vector<int64_t> toIntVector(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + ": expected an array of integers");
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out[i] = toInt64(env, arr.Get(i), what);
  return out;
}

void rethrowAsJs(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::IndexError& e) {
    throw Napi::RangeError::New(env, e.what_without_backtrace());
  } catch (const c10::TypeError& e) {
    throw Napi::TypeError::New(env, e.what_without_backtrace());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "out of memory while allocating a tensor");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  } catch (...) {
    throw Napi::Error::New(env, "unknown native error");
  }
}

}  // namespace regts

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  regts::registerDispatch(env, exports);
  regts::registerTensorData(env, exports);
  regts::registerRuntime(env, exports);
  return exports;
}

NODE_API_MODULE(regts, Init)
