// Data parallelism through libtorch's own c10d: a TCPStore for the rendezvous, ProcessGroupGloo for
// collectives on CPU tensors (and CUDA tensors, staged through the host), ProcessGroupNCCL for CUDA
// tensors on builds that have it. The binding is thin: create a group, start a collective on a list of
// tensors (in place, as c10d does), wait for its work handle off the JavaScript thread.
//
// Portability: in libtorch 1.13 ProcessGroupGloo derives from ProcessGroup, in 2.x from Backend. Holding
// the concrete group and calling its collectives directly compiles against both.
#include "common.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace regts {
namespace {

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
#ifdef USE_C10D_GLOO
  out.Set(n++, "gloo");
#endif
#ifdef USE_C10D_NCCL
  out.Set(n++, "nccl");
#endif
  (void)n;
  return out;
}

#ifdef USE_C10D_GLOO

/** A process group: the store it met its peers through and one group per backend. */
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef USE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  int rank = 0;
  int size = 1;
};

constexpr uint32_t kGroupTag = 0x67727570;  // "grup"
constexpr uint32_t kWorkTag = 0x776f726b;   // "work"

template <typename T>
Napi::Value wrapShared(Napi::Env env, std::shared_ptr<T> p, uint32_t tag) {
  auto* holder = new std::shared_ptr<T>(std::move(p));
  auto ext = Napi::External<std::shared_ptr<T>>::New(env, holder, [](Napi::Env, std::shared_ptr<T>* h) { delete h; });
  napi_type_tag typeTag{tag, 0x72656774};  // "regt"
  napi_type_tag_object(env, ext, &typeTag);
  return ext;
}

template <typename T>
std::shared_ptr<T>& unwrapShared(Napi::Env env, const Napi::Value& v, uint32_t tag, const char* what) {
  napi_type_tag typeTag{tag, 0x72656774};
  bool ok = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &typeTag, &ok);
  if (!ok) throw Napi::TypeError::New(env, std::string(what) + ": expected a process group handle");
  auto& p = *v.As<Napi::External<std::shared_ptr<T>>>().Data();
  if (!p) throw Napi::Error::New(env, std::string(what) + ": the process group was destroyed");
  return p;
}

std::string stringField(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}

/** Options of a new group (read on the JavaScript thread, used on a worker thread). */
struct GroupOptions {
  std::string host;
  int port = 29500;
  int rank = 0;
  int size = 1;
  bool isServer = false;
  std::string prefix;
  std::string glooHost;
  std::string glooInterface;
  bool nccl = false;
  std::chrono::milliseconds timeout{300000};
};

std::shared_ptr<Group> createGroup(const GroupOptions& o) {
  auto group = std::make_shared<Group>();
  group->rank = o.rank;
  group->size = o.size;
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(o.port);
  so.isServer = o.isServer;
  so.numWorkers = static_cast<std::size_t>(o.size);  // as Python passes world_size to every rank
  so.waitWorkers = true;  // every rank counts itself in; the server waits for all of them
  so.timeout = o.timeout;
  so.multiTenant = false;
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(o.host, so);
  if (!o.prefix.empty()) store = c10::make_intrusive<c10d::PrefixStore>(o.prefix, store);
  group->store = store;
  auto gopts = c10d::ProcessGroupGloo::Options::create(o.timeout);
  if (!o.glooInterface.empty())
    gopts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o.glooInterface));
  else if (!o.glooHost.empty())
    gopts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o.glooHost));
  else
    gopts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  gopts->threads = 2;
  group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", store), o.rank, o.size, gopts);
#ifdef USE_C10D_NCCL
  if (o.nccl) {
    auto nopts = c10d::ProcessGroupNCCL::Options::create();
    nopts->timeout = o.timeout;
    group->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl", store), o.rank, o.size, nopts);
  }
#else
  TORCH_CHECK(!o.nccl, "this build of the reg-ts addon has no NCCL (compile against a CUDA libtorch with nccl.h)");
#endif
  return group;
}

/** Runs `body` on the libuv thread pool and settles a promise: the JavaScript thread never blocks on peers. */
class BlockingTask : public Napi::AsyncWorker {
 public:
  BlockingTask(Napi::Env env, std::function<void()> body, std::function<Napi::Value(Napi::Env)> result)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), body_(std::move(body)), result_(std::move(result)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      body_();
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown native error");
    }
  }
  void OnOK() override { deferred_.Resolve(result_(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> body_;
  std::function<Napi::Value(Napi::Env)> result_;
};

Napi::Value CreateGroup(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "createGroup(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    GroupOptions g;
    g.host = stringField(o, "host", "127.0.0.1");
    g.port = static_cast<int>(toInt64(env, o.Get("port"), "createGroup port"));
    g.rank = static_cast<int>(toInt64(env, o.Get("rank"), "createGroup rank"));
    g.size = static_cast<int>(toInt64(env, o.Get("worldSize"), "createGroup worldSize"));
    g.isServer = o.Get("isServer").ToBoolean().Value();
    g.prefix = stringField(o, "prefix", "");
    g.glooHost = stringField(o, "glooHost", "");
    g.glooInterface = stringField(o, "glooInterface", "");
    g.nccl = o.Get("nccl").ToBoolean().Value();
    g.timeout = std::chrono::milliseconds(toInt64(env, o.Get("timeoutMs"), "createGroup timeoutMs"));
    auto made = std::make_shared<std::shared_ptr<Group>>();
    auto* task = new BlockingTask(
        env, [g, made]() { *made = createGroup(g); }, [made](Napi::Env e) { return wrapShared(e, *made, kGroupTag); });
    Napi::Promise p = task->promise();
    task->Queue();
    return p;
  });
}

/** Calls `f` with the group's backend for these tensors: NCCL for CUDA tensors when the group has it, else Gloo. */
template <typename F>
c10::intrusive_ptr<c10d::Work> onBackend(Group& g, const std::vector<at::Tensor>& tensors, F f) {
#ifdef USE_C10D_NCCL
  if (g.nccl && !tensors.empty() && tensors[0].is_cuda()) return f(*g.nccl);
#endif
  (void)tensors;
  return f(*g.gloo);
}

std::vector<at::Tensor> tensorList(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + ": expected an array of tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(unwrapTensor(env, a.Get(i), what));
  return out;
}

c10d::ReduceOp reduceOp(Napi::Env env, const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw Napi::RangeError::New(env, "reduce op must be sum, max, min or product, got '" + name + "'");
}

Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto group = unwrapShared<Group>(env, info[0], kGroupTag, "allreduce");
    auto tensors = tensorList(env, info[1], "allreduce");
    c10d::AllreduceOptions opts;
    opts.reduceOp = reduceOp(env, info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "sum");
    auto work = onBackend(*group, tensors, [&](auto& pg) { return pg.allreduce(tensors, opts); });
    return wrapShared(env, std::make_shared<c10::intrusive_ptr<c10d::Work>>(work), kWorkTag);
  });
}

Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto group = unwrapShared<Group>(env, info[0], kGroupTag, "broadcast");
    auto tensors = tensorList(env, info[1], "broadcast");
    c10d::BroadcastOptions opts;
    opts.rootRank = toInt64(env, info[2], "broadcast root");
    TORCH_CHECK(opts.rootRank >= 0 && opts.rootRank < group->size, "broadcast: root rank ", opts.rootRank, " is not in [0, ",
                group->size, ")");
    auto work = onBackend(*group, tensors, [&](auto& pg) { return pg.broadcast(tensors, opts); });
    return wrapShared(env, std::make_shared<c10::intrusive_ptr<c10d::Work>>(work), kWorkTag);
  });
}

Napi::Value Allgather(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto group = unwrapShared<Group>(env, info[0], kGroupTag, "allgather");
    // outputs: one list of worldSize tensors per input tensor
    if (!info[1].IsArray()) throw Napi::TypeError::New(env, "allgather: expected an array of output lists");
    Napi::Array outs = info[1].As<Napi::Array>();
    std::vector<std::vector<at::Tensor>> outputs;
    for (uint32_t i = 0; i < outs.Length(); i++) outputs.push_back(tensorList(env, outs.Get(i), "allgather output"));
    auto inputs = tensorList(env, info[2], "allgather input");
    auto work = onBackend(*group, inputs, [&](auto& pg) { return pg.allgather(outputs, inputs); });
    return wrapShared(env, std::make_shared<c10::intrusive_ptr<c10d::Work>>(work), kWorkTag);
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto group = unwrapShared<Group>(env, info[0], kGroupTag, "barrier");
    auto work = group->gloo->barrier();
    return wrapShared(env, std::make_shared<c10::intrusive_ptr<c10d::Work>>(work), kWorkTag);
  });
}

/** wait(work): a promise settled when the collective finished (rejected with c10d's error: a dead peer, a timeout). */
Napi::Value Wait(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto work = unwrapShared<c10::intrusive_ptr<c10d::Work>>(env, info[0], kWorkTag, "wait");
    auto* task = new BlockingTask(
        env, [work]() { (*work)->wait(); }, [](Napi::Env e) { return e.Undefined(); });
    Napi::Promise p = task->promise();
    task->Queue();
    return p;
  });
}

Napi::Value IsCompleted(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto work = unwrapShared<c10::intrusive_ptr<c10d::Work>>(info.Env(), info[0], kWorkTag, "isCompleted");
    return Napi::Boolean::New(info.Env(), (*work)->isCompleted());
  });
}

/** destroyGroup(group): releases the group (its threads and sockets) off the JavaScript thread. */
Napi::Value DestroyGroup(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto& slot = unwrapShared<Group>(env, info[0], kGroupTag, "destroyGroup");
    std::shared_ptr<Group> group = std::move(slot);
    slot.reset();
    auto* task = new BlockingTask(
        env, [group]() mutable { group.reset(); }, [](Napi::Env e) { return e.Undefined(); });
    Napi::Promise p = task->promise();
    task->Queue();
    return p;
  });
}

#endif  // USE_C10D_GLOO

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("distBackends", Napi::Function::New(env, Backends, "distBackends"));
#ifdef USE_C10D_GLOO
  exports.Set("distCreateGroup", Napi::Function::New(env, CreateGroup, "distCreateGroup"));
  exports.Set("distAllreduce", Napi::Function::New(env, Allreduce, "distAllreduce"));
  exports.Set("distBroadcast", Napi::Function::New(env, Broadcast, "distBroadcast"));
  exports.Set("distAllgather", Napi::Function::New(env, Allgather, "distAllgather"));
  exports.Set("distBarrier", Napi::Function::New(env, Barrier, "distBarrier"));
  exports.Set("distWait", Napi::Function::New(env, Wait, "distWait"));
  exports.Set("distIsCompleted", Napi::Function::New(env, IsCompleted, "distIsCompleted"));
  exports.Set("distDestroyGroup", Napi::Function::New(env, DestroyGroup, "distDestroyGroup"));
#endif
}

}  // namespace regts
