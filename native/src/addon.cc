// Entry point of the reg-ts native addon and the handle types shared by every translation unit.
#include "common.h"

#include <algorithm>
#include <memory>

namespace regts {

namespace {
const napi_type_tag kGeneratorTag = {0x7265675f74732d31ULL, 0x67656e6572610002ULL};

bool hasTag(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag) {
  if (!v.IsExternal()) return false;
  bool result = false;
  napi_status s = napi_check_object_type_tag(env, v, &tag, &result);
  return s == napi_ok && result;
}

// Handle layout (see common.h): 4-bit tag | 27-bit generation | 22-bit slot = 53 bits.
constexpr int kSlotBits = 22;
constexpr int kGenBits = 27;
constexpr uint64_t kHandleTag = 0xB;
constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;
constexpr uint64_t kGenMask = (uint64_t{1} << kGenBits) - 1;
constexpr uint32_t kMaxSlots = uint32_t{1} << kSlotBits;
constexpr uint32_t kRetired = static_cast<uint32_t>(kGenMask) + 1;  // above every encodable generation
static_assert((kHandleTag << (kSlotBits + kGenBits)) >= (uint64_t{1} << 52), "ids must be integral doubles");
constexpr double kMinId = static_cast<double>(kHandleTag << (kSlotBits + kGenBits));
constexpr double kMaxId = static_cast<double>(((kHandleTag + 1) << (kSlotBits + kGenBits)) - 1);
constexpr int kPageBits = 12;
constexpr uint32_t kPageSize = uint32_t{1} << kPageBits;

struct Slot {
  at::Tensor tensor;     // defined exactly while the slot is live
  uint32_t gen = 0;      // generation of the current (or next) occupant
  int64_t external = 0;  // bytes reported to V8 for this handle (trackForGc), returned on release
};

/** Native bytes a handle holds beyond its data: TensorImpl, storage and autograd records (measured ~470 B). */
constexpr int64_t kHandleOverhead = 512;

/** The handle table of one Node environment. */
class TensorTable {
 public:
  bool full() const { return free_.empty() && used_ == kMaxSlots; }

  /** Stores a (defined) tensor in a free slot and returns its id. The caller checks full() first. */
  double add(at::Tensor t) {
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      if (used_ % kPageSize == 0) pages_.emplace_back(new Slot[kPageSize]);
      // Reserve room to free every slot later, so release() never allocates.
      if (free_.capacity() <= used_) free_.reserve(std::max<size_t>(kPageSize, 2 * free_.capacity()));
      index = used_++;
    }
    Slot& s = at(index);
    s.tensor = std::move(t);
    live_++;
    return static_cast<double>((kHandleTag << (kSlotBits + kGenBits)) | (uint64_t{s.gen} << kSlotBits) | index);
  }

  /** Whether a JavaScript value is a live id (then `*index` is its slot), a stale id or no id at all. */
  HandleState find(napi_env env, napi_value v, uint32_t* index) {
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok) return HandleState::Invalid;  // not a number
    // Also rejects NaN. Every double in [kMinId, kMaxId] (≥ 2⁵²) is an integer: no fractions here.
    if (!(d >= kMinId && d <= kMaxId)) return HandleState::Invalid;
    const uint64_t id = static_cast<uint64_t>(d);
    const uint32_t i = static_cast<uint32_t>(id & kSlotMask);
    const uint32_t gen = static_cast<uint32_t>((id >> kSlotBits) & kGenMask);
    if (i >= used_) return HandleState::Invalid;
    const Slot& s = at(i);
    if (gen < s.gen) return HandleState::Disposed;
    if (gen > s.gen || !s.tensor.defined()) return HandleState::Invalid;  // never handed out
    *index = i;
    return HandleState::Live;
  }

  Slot& at(uint32_t index) { return pages_[index >> kPageBits][index & (kPageSize - 1)]; }

  /** Empties a live slot; the tensor is destroyed once the table is consistent again. */
  void release(napi_env env, uint32_t index) {
    Slot& s = at(index);
    at::Tensor dying = std::move(s.tensor);
    s.tensor.reset();
    live_--;
    if (s.external != 0) {
      int64_t ignored;
      napi_adjust_external_memory(env, -s.external, &ignored);
      s.external = 0;
    }
    if (++s.gen <= kGenMask) {
      free_.push_back(index);  // capacity reserved in add(): no allocation here
    } else {
      s.gen = kRetired;  // every id of this slot now reads as disposed; never reused
    }
  }

  int64_t live() const { return live_; }

 private:
  std::vector<std::unique_ptr<Slot[]>> pages_;  // fixed-size pages: slot addresses never move
  std::vector<uint32_t> free_;
  uint32_t used_ = 0;
  int64_t live_ = 0;
};

/** Per-environment state, owned by Node as the addon's instance data. */
struct EnvData {
  TensorTable tensors;
  std::vector<RegisteredOp> ops;
};

/** "a string", "null", …: what a JavaScript value is, for "expected a tensor, got …" errors. */
std::string describeValue(napi_env env, napi_value v) {
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, v, &type) != napi_ok) return "an unknown value";
  switch (type) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number that is not a tensor handle";
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    case napi_external: return "a native handle of another kind";
    case napi_bigint: return "a bigint";
    default: {
      bool isArray = false;
      napi_is_array(env, v, &isArray);
      return isArray ? "an array" : "an object";
    }
  }
}

EnvData& envData(Napi::Env env) {
  EnvData* data = env.GetInstanceData<EnvData>();
  if (data == nullptr) {
    data = new EnvData();
    env.SetInstanceData(data);  // deleted (tensors released) when the environment shuts down
  }
  return *data;
}
}  // namespace

int64_t liveTensorCount(Napi::Env env) { return envData(env).tensors.live(); }

std::vector<RegisteredOp>& operatorTable(Napi::Env env) { return envData(env).ops; }

Napi::Value wrapTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  TensorTable& table = envData(env).tensors;
  if (table.full()) {
    throw Napi::RangeError::New(env, "too many live tensors (" + std::to_string(kMaxSlots) +
                                         "): dispose tensors you no longer need, or use scope()");
  }
  return Napi::Number::New(env, table.add(std::move(t)));
}

HandleState tensorHandleState(Napi::Env env, const Napi::Value& v) {
  uint32_t index;
  return envData(env).tensors.find(env, v, &index);
}

at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& v, const char* what) {
  TensorTable& table = envData(env).tensors;
  uint32_t index;
  switch (table.find(env, v, &index)) {
    case HandleState::Live:
      return table.at(index).tensor;
    case HandleState::Disposed:
      throw Napi::TypeError::New(env, std::string(what) + ": the tensor was disposed and can no longer be used");
    default:
      throw Napi::TypeError::New(env, std::string(what) + ": expected a tensor, got " + describeValue(env, v));
  }
}

at::Tensor* liveTensor(Napi::Env env, const Napi::Value& v) {
  TensorTable& table = envData(env).tensors;
  uint32_t index;
  return table.find(env, v, &index) == HandleState::Live ? &table.at(index).tensor : nullptr;
}

bool releaseTensor(Napi::Env env, const Napi::Value& v) {
  TensorTable& table = envData(env).tensors;
  uint32_t index;
  switch (table.find(env, v, &index)) {
    case HandleState::Live:
      table.release(env, index);
      return true;
    case HandleState::Disposed:
      return false;
    default:
      throw Napi::TypeError::New(env, "dispose: expected a tensor, got " + describeValue(env, v));
  }
}

void trackForGc(Napi::Env env, const Napi::Value& v) {
  TensorTable& table = envData(env).tensors;
  uint32_t index;
  if (table.find(env, v, &index) != HandleState::Live) return;  // disposed meanwhile: nothing to report
  Slot& s = table.at(index);
  if (s.external != 0) return;
  const at::Tensor& t = s.tensor;
  int64_t data = 0;
  if (t.has_storage()) {
    // A view reports the data it spans, not its whole storage: many views of one big tensor must not
    // look like many big tensors.
    const int64_t span = t.numel() * static_cast<int64_t>(t.element_size());
    data = std::min<int64_t>(span, static_cast<int64_t>(t.storage().nbytes()));
  }
  s.external = kHandleOverhead + data;
  int64_t ignored;
  napi_adjust_external_memory(env, s.external, &ignored);
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
  regts::operatorTable(env);  // creates this environment's tables
  regts::registerAllocator(env, exports);  // first: every tensor from here on uses it
  regts::registerDispatch(env, exports);
  regts::registerTensorData(env, exports);
  regts::registerRuntime(env, exports);
  regts::registerBlas(env, exports);
  regts::registerBatchedMatmul(env, exports);
  regts::registerDistributed(env, exports);
  return exports;
}

NODE_API_MODULE(regts, Init)
