// Moving bytes in and out of tensors: typed arrays, tensor metadata, memory-mapped files and
// explicit release of a tensor's memory.
#include "common.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace regts {
namespace {

struct Mapping {
  void* ptr = nullptr;
  size_t length = 0;
  ~Mapping() {
    if (ptr != nullptr && ptr != MAP_FAILED) munmap(ptr, length);
  }
};
using MappingRef = std::shared_ptr<Mapping>;
const napi_type_tag kMappingTag = {0x7265675f74732d31ULL, 0x6d61707069000003ULL};

bool isMapping(Napi::Env env, const Napi::Value& v) {
  if (!v.IsExternal()) return false;
  bool result = false;
  return napi_check_object_type_tag(env, v, &kMappingTag, &result) == napi_ok && result;
}

struct ByteView {
  const uint8_t* data;
  size_t length;
};

ByteView bytesOf(Napi::Env env, const Napi::Value& v) {
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    auto ab = ta.ArrayBuffer();
    return {static_cast<const uint8_t*>(ab.Data()) + ta.ByteOffset(), ta.ByteLength()};
  }
  if (v.IsArrayBuffer()) {
    auto ab = v.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(ab.Data()), ab.ByteLength()};
  }
  throw Napi::TypeError::New(env, "fromBytes: expected a TypedArray or ArrayBuffer");
}

int64_t checkedNumel(Napi::Env env, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Napi::RangeError::New(env, "shape entries must be non-negative");
    if (d != 0 && n > INT64_MAX / d) throw Napi::RangeError::New(env, "shape is too large");
    n *= d;
  }
  return n;
}

/** fromBytes(bytes, dtypeCode, shape) -> new CPU tensor holding a copy of the bytes. */
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    ByteView bytes = bytesOf(env, info[0]);
    at::ScalarType dtype = toScalarType(env, info[1]);
    auto shape = toIntVector(env, info[2], "fromBytes shape");
    int64_t numel = checkedNumel(env, shape);
    size_t need = static_cast<size_t>(numel) * c10::elementSize(dtype);
    if (need != bytes.length) {
      throw Napi::RangeError::New(env, "fromBytes: shape needs " + std::to_string(need) + " bytes but " +
                                           std::to_string(bytes.length) + " were given");
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (need > 0) std::memcpy(t.data_ptr(), bytes.data, need);
    return wrapTensor(env, t);
  });
}

/** toBytes(tensor) -> ArrayBuffer with a contiguous CPU copy of the data. */
Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    at::Tensor t = unwrapTensor(env, info[0], "toBytes").detach().to(at::kCPU).contiguous();
    size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    auto ab = Napi::ArrayBuffer::New(env, n);
    if (n > 0) std::memcpy(ab.Data(), t.data_ptr(), n);
    return ab;
  });
}

/** meta(tensor) -> [dtypeCode, device, ...shape]: one call for everything a wrapper caches. */
Napi::Value Meta(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const at::Tensor& t = unwrapTensor(env, info[0], "meta");
    auto sizes = t.sizes();
    auto arr = Napi::Array::New(env, sizes.size() + 2);
    arr.Set(0u, Napi::Number::New(env, static_cast<int>(t.scalar_type())));
    arr.Set(1u, Napi::String::New(env, t.device().str()));
    for (size_t i = 0; i < sizes.size(); i++) arr.Set(static_cast<uint32_t>(i + 2), Napi::Number::New(env, sizes[i]));
    return arr;
  });
}

/** strides(tensor) -> number[]. */
Napi::Value Strides(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto strides = unwrapTensor(env, info[0], "strides").strides();
    auto arr = Napi::Array::New(env, strides.size());
    for (size_t i = 0; i < strides.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, strides[i]));
    return arr;
  });
}

/** dispose(tensor) -> whether memory was released now (false if already disposed). */
Napi::Value Dispose(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), releaseTensor(info.Env(), info[0])); });
}

/** trackForGc(handle): report the handle's native memory to V8 until it is released (see common.h). */
Napi::Value TrackForGc(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    trackForGc(info.Env(), info[0]);
    return info.Env().Undefined();
  });
}

/** isDisposed(handle) -> boolean. */
Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    HandleState state = tensorHandleState(env, info[0]);
    if (state == HandleState::Invalid) unwrapTensor(env, info[0], "isDisposed");  // throws "expected a tensor, got …"
    return Napi::Boolean::New(env, state == HandleState::Disposed);
  });
}

/** liveTensors() -> number of tensor handles not yet disposed (or released by the JS finalizer). */
Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(liveTensorCount(info.Env())));
}

/** mmapFile(path) -> mapping handle (private copy-on-write mapping of the whole file). */
Napi::Value MmapFile(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "mmapFile(path)");
    std::string path = info[0].As<Napi::String>().Utf8Value();
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) throw Napi::Error::New(env, "cannot open " + path + ": " + std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
      close(fd);
      throw Napi::Error::New(env, "cannot stat " + path + ": " + std::strerror(errno));
    }
    auto mapping = std::make_shared<Mapping>();
    mapping->length = static_cast<size_t>(st.st_size);
    if (mapping->length > 0) {
      mapping->ptr = mmap(nullptr, mapping->length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    }
    close(fd);
    if (mapping->ptr == MAP_FAILED) throw Napi::Error::New(env, "cannot map " + path + ": " + std::strerror(errno));
    auto ext = Napi::External<MappingRef>::New(env, new MappingRef(mapping), [](Napi::Env, MappingRef* m) { delete m; });
    napi_type_tag_object(env, ext, &kMappingTag);
    return ext;
  });
}

/** tensorFromMapping(mapping, byteOffset, dtypeCode, shape) -> CPU tensor over the mapped bytes. */
Napi::Value TensorFromMapping(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!isMapping(env, info[0])) throw Napi::TypeError::New(env, "tensorFromMapping: expected a mapping");
    MappingRef mapping = *info[0].As<Napi::External<MappingRef>>().Data();
    int64_t offset = toInt64(env, info[1], "byteOffset");
    at::ScalarType dtype = toScalarType(env, info[2]);
    auto shape = toIntVector(env, info[3], "shape");
    size_t bytes = static_cast<size_t>(checkedNumel(env, shape)) * c10::elementSize(dtype);
    if (offset < 0 || static_cast<size_t>(offset) + bytes > mapping->length) {
      throw Napi::RangeError::New(env, "tensorFromMapping: byte range lies outside the mapped file");
    }
    uint8_t* ptr = static_cast<uint8_t*>(mapping->ptr) + offset;
    auto options = at::TensorOptions().dtype(dtype);
    if (bytes == 0) return wrapTensor(env, at::empty(shape, options));
    if (reinterpret_cast<uintptr_t>(ptr) % c10::elementSize(dtype) != 0) {
      // Kernels expect naturally aligned elements: copy misaligned data instead of viewing it.
      at::Tensor t = at::empty(shape, options);
      std::memcpy(t.data_ptr(), ptr, bytes);
      return wrapTensor(env, t);
    }
    at::Tensor t = at::from_blob(ptr, shape, [mapping](void*) {}, options);
    return wrapTensor(env, t);
  });
}

}  // namespace

void registerTensorData(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBytes", Napi::Function::New(env, FromBytes, "fromBytes"));
  exports.Set("toBytes", Napi::Function::New(env, ToBytes, "toBytes"));
  exports.Set("meta", Napi::Function::New(env, Meta, "meta"));
  exports.Set("strides", Napi::Function::New(env, Strides, "strides"));
  exports.Set("dispose", Napi::Function::New(env, Dispose, "dispose"));
  exports.Set("isDisposed", Napi::Function::New(env, IsDisposed, "isDisposed"));
  exports.Set("trackForGc", Napi::Function::New(env, TrackForGc, "trackForGc"));
  exports.Set("liveTensors", Napi::Function::New(env, LiveTensors, "liveTensors"));
  exports.Set("mmapFile", Napi::Function::New(env, MmapFile, "mmapFile"));
  exports.Set("tensorFromMapping", Napi::Function::New(env, TensorFromMapping, "tensorFromMapping"));
}

}  // namespace regts
