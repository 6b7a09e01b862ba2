// Which BLAS library the process really calls: the shared object that defines `sgemm_` (the symbol
// libtorch's CPU matrix products end in when it is built against an external BLAS, as Debian's is),
// resolved through the dynamic linker, and what that library says about itself.
//
// No libtorch header here: this unit compiles in a second.
#include <napi.h>

#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace regts {
namespace {

/** Absolute, link-free path of a file, or the name itself when it cannot be resolved. */
std::string realPath(const char* name) {
  char buf[PATH_MAX];
  if (name != nullptr && realpath(name, buf) != nullptr) return buf;
  return name == nullptr ? "" : name;
}

/** Every shared object mapped into the process, as the dynamic linker lists them. */
std::vector<std::string> loadedObjects() {
  std::vector<std::string> out;
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') {
          static_cast<std::vector<std::string>*>(data)->push_back(realPath(info->dlpi_name));
        }
        return 0;
      },
      &out);
  return out;
}

template <typename Fn>
Fn lookup(void* handle, const char* name) {
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

/**
 * blasInfo() → { library, vendor, symbolFound, corename?, config?, threads?, version?, loaded[] }
 *
 * `library`: the real path of the object that defines `sgemm_` (empty when no loaded object does, as in
 * pip builds of PyTorch that link MKL statically without exporting it). `vendor`: openblas, mkl, blis,
 * or unknown, from the vendor's own query functions found in that object (or, for MKL linked into
 * libtorch, anywhere in the process). `loaded`: every mapped object whose name mentions a BLAS.
 */
Napi::Value BlasInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Object::New(env);
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  std::string library;
  void* handle = RTLD_DEFAULT;
  void* own = nullptr;
  if (sgemm != nullptr) {
    Dl_info where;
    if (dladdr(sgemm, &where) != 0 && where.dli_fname != nullptr) {
      library = realPath(where.dli_fname);
      own = dlopen(where.dli_fname, RTLD_LAZY | RTLD_NOLOAD);  // a new reference to the mapped object
      if (own != nullptr) handle = own;
    }
  }
  out.Set("library", Napi::String::New(env, library));
  out.Set("symbolFound", Napi::Boolean::New(env, sgemm != nullptr));

  std::string vendor = "unknown";
  if (auto corename = lookup<char* (*)()>(handle, "openblas_get_corename")) {
    vendor = "openblas";
    out.Set("corename", Napi::String::New(env, corename()));
    if (auto config = lookup<char* (*)()>(handle, "openblas_get_config")) out.Set("config", Napi::String::New(env, config()));
    if (auto threads = lookup<int (*)()>(handle, "openblas_get_num_threads")) out.Set("threads", Napi::Number::New(env, threads()));
  } else if (auto mklVersion = lookup<void (*)(char*, int)>(handle, "mkl_get_version_string")) {
    vendor = "mkl";
    char buf[256] = {0};
    mklVersion(buf, sizeof(buf) - 1);
    out.Set("version", Napi::String::New(env, buf));
    if (auto threads = lookup<int (*)()>(handle, "mkl_get_max_threads")) out.Set("threads", Napi::Number::New(env, threads()));
  } else if (auto blisVersion = lookup<const char* (*)()>(handle, "bli_info_get_version_str")) {
    vendor = "blis";
    out.Set("version", Napi::String::New(env, blisVersion()));
    if (auto threads = lookup<long (*)()>(handle, "bli_thread_get_num_threads")) out.Set("threads", Napi::Number::New(env, static_cast<double>(threads())));
  }
  out.Set("vendor", Napi::String::New(env, vendor));
  if (own != nullptr) dlclose(own);

  auto loaded = Napi::Array::New(env);
  uint32_t n = 0;
  for (const std::string& name : loadedObjects()) {
    if (name.find("blas") != std::string::npos || name.find("mkl") != std::string::npos || name.find("blis") != std::string::npos) {
      loaded.Set(n++, Napi::String::New(env, name));
    }
  }
  out.Set("loaded", loaded);
  return out;
}

}  // namespace

void registerBlas(Napi::Env env, Napi::Object exports) { exports.Set("blasInfo", Napi::Function::New(env, BlasInfo, "blasInfo")); }

}  // namespace regts
