// Generic operator calls through the c10 dispatcher: any ATen operator is looked up once by
// name and overload, and called with arguments converted according to its schema. Autograd,
// autocast and device selection happen inside the dispatcher exactly as for PyTorch. Schemas of a
// few common shapes (unary and binary tensor operators, their Scalar overloads) are called
// unboxed when the arguments fit; every other call goes through the boxed IValue stack.
#include "common.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

namespace regts {
namespace {

std::string describe(const c10::OperatorHandle& op, const c10::Argument& arg) {
  return op.schema().name() + (op.schema().overload_name().empty() ? "" : "." + op.schema().overload_name()) +
         ": argument '" + arg.name() + "'";
}

/**
 * convert(what) with what = "" first: the argument's description is only built when the conversion
 * fails (then it runs again with it, to throw the error that names the argument). Building it on every
 * call cost ~0.1 µs per operator.
 */
template <typename F>
auto describedOnFailure(const c10::OperatorHandle& op, const c10::Argument& arg, F convert) -> decltype(convert("")) {
  try {
    return convert("");
  } catch (const Napi::Error&) {
    const std::string what = describe(op, arg);
    return convert(what.c_str());
  }
}

c10::IValue toIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const c10::Argument& arg,
                     const c10::OperatorHandle& op);

/** A JavaScript number as a Scalar: integral numbers become integer scalars so integer tensors keep their dtype. */
c10::Scalar numberToScalar(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) return c10::Scalar(static_cast<int64_t>(d));
  return c10::Scalar(d);
}

c10::IValue toScalarIValue(Napi::Env env, const Napi::Value& v, const c10::OperatorHandle& op, const c10::Argument& arg) {
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) throw Napi::TypeError::New(env, describe(op, arg) + " expects a number");
  return c10::IValue(numberToScalar(v.As<Napi::Number>().DoubleValue()));
}

c10::IValue toListIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& elem, const c10::Argument& arg,
                         const c10::OperatorHandle& op) {
  auto kind = elem->kind();
  const bool intLike = kind == c10::TypeKind::IntType || kind == c10::TypeKind::SymIntType;
  if (intLike && v.IsNumber()) {
    // PyTorch accepts one integer for a fixed-size list such as int[2] stride.
    int64_t x = describedOnFailure(op, arg, [&](const char* what) { return toInt64(env, v, what); });
    return c10::IValue(std::vector<int64_t>(arg.N() ? static_cast<size_t>(*arg.N()) : 1, x));
  }
  if (!v.IsArray()) throw Napi::TypeError::New(env, describe(op, arg) + " expects an array");
  auto arr = v.As<Napi::Array>();
  const uint32_t n = arr.Length();
  if (intLike) {
    return c10::IValue(describedOnFailure(op, arg, [&](const char* what) { return toIntVector(env, v, what); }));
  }
  if (kind == c10::TypeKind::TensorType) {
    std::vector<at::Tensor> out;
    out.reserve(n);
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value e = arr.Get(i);
      out.push_back(describedOnFailure(op, arg, [&](const char* what) { return unwrapTensor(env, e, what); }));
    }
    return c10::IValue(out);
  }
  if (kind == c10::TypeKind::OptionalType) {
    c10::List<c10::optional<at::Tensor>> out;
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value e = arr.Get(i);
      if (e.IsNull() || e.IsUndefined()) {
        out.push_back(c10::nullopt);
      } else {
        out.push_back(describedOnFailure(op, arg, [&](const char* what) { return unwrapTensor(env, e, what); }));
      }
    }
    return c10::IValue(out);
  }
  if (kind == c10::TypeKind::FloatType) {
    std::vector<double> out(n);
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value e = arr.Get(i);
      if (!e.IsNumber()) throw Napi::TypeError::New(env, describe(op, arg) + " expects numbers");
      out[i] = e.As<Napi::Number>().DoubleValue();
    }
    return c10::IValue(out);
  }
  if (kind == c10::TypeKind::BoolType) {
    c10::List<bool> out;
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value e = arr.Get(i);
      if (!e.IsBoolean()) throw Napi::TypeError::New(env, describe(op, arg) + " expects booleans");
      out.push_back(e.As<Napi::Boolean>().Value());
    }
    return c10::IValue(out);
  }
  throw Napi::TypeError::New(env, describe(op, arg) + " has an unsupported list type " + elem->str());
}

c10::IValue toIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const c10::Argument& arg,
                     const c10::OperatorHandle& op) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType:
      return c10::IValue(describedOnFailure(op, arg, [&](const char* what) { return unwrapTensor(env, v, what); }));
    case c10::TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(env, v, type->castRaw<c10::OptionalType>()->getElementType(), arg, op);
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      return c10::IValue(describedOnFailure(op, arg, [&](const char* what) { return toInt64(env, v, what); }));
    case c10::TypeKind::FloatType:
      if (!v.IsNumber()) throw Napi::TypeError::New(env, describe(op, arg) + " expects a number");
      return c10::IValue(v.As<Napi::Number>().DoubleValue());
    case c10::TypeKind::BoolType:
      if (!v.IsBoolean()) throw Napi::TypeError::New(env, describe(op, arg) + " expects a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case c10::TypeKind::NumberType:
      return toScalarIValue(env, v, op, arg);
    case c10::TypeKind::StringType:
      if (!v.IsString()) throw Napi::TypeError::New(env, describe(op, arg) + " expects a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::DeviceObjType:
      return c10::IValue(toDevice(env, v));
    case c10::TypeKind::GeneratorType:
      return c10::IValue(unwrapGenerator(env, v));
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType:
      return c10::IValue(describedOnFailure(op, arg, [&](const char* what) { return toInt64(env, v, what); }));
    case c10::TypeKind::ListType:
      return toListIValue(env, v, type->castRaw<c10::ListType>()->getElementType(), arg, op);
    default:
      throw Napi::TypeError::New(env, describe(op, arg) + " has unsupported type " + type->str());
  }
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrapTensor(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    auto arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) arr.Set(static_cast<uint32_t>(i), wrapTensor(env, list.get(i)));
    return arr;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    auto arr = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) arr.Set(static_cast<uint32_t>(i), fromIValue(env, elems[i]));
    return arr;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    auto arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) arr.Set(static_cast<uint32_t>(i), fromIValue(env, list[i]));
    return arr;
  }
  if (v.isDevice()) return Napi::String::New(env, v.toDevice().str());
  throw Napi::TypeError::New(env, "operator returned an unsupported value of type " + v.tagKind());
}

using T = const at::Tensor&;
using S = const c10::Scalar&;

/**
 * The unboxed form of a schema: one tensor result, no alias annotations (no in-place, out= or view
 * operators), and arguments that are exactly one of the patterns of UnboxedForm. The C++ signature
 * is checked against the registered kernel once here; a mismatch keeps the boxed path.
 */
UnboxedForm unboxedForm(const c10::OperatorHandle& op) {
  const c10::FunctionSchema& schema = op.schema();
  if (schema.is_vararg() || schema.is_varret() || schema.returns().size() != 1) return UnboxedForm::None;
  const c10::Argument& ret = schema.returns()[0];
  if (ret.type()->kind() != c10::TypeKind::TensorType || ret.alias_info()) return UnboxedForm::None;
  std::string pattern;
  for (const c10::Argument& arg : schema.arguments()) {
    if (arg.alias_info()) return UnboxedForm::None;
    const auto kind = arg.type()->kind();
    if (kind == c10::TypeKind::TensorType) pattern += 'T';
    else if (kind == c10::TypeKind::NumberType) pattern += 'S';
    else return UnboxedForm::None;
  }
  try {
    if (pattern == "T") return (void)op.typed<at::Tensor(T)>(), UnboxedForm::T;
    if (pattern == "TT") return (void)op.typed<at::Tensor(T, T)>(), UnboxedForm::TT;
    if (pattern == "TTS") return (void)op.typed<at::Tensor(T, T, S)>(), UnboxedForm::TTS;
    if (pattern == "TS") return (void)op.typed<at::Tensor(T, S)>(), UnboxedForm::TS;
    if (pattern == "TSS") return (void)op.typed<at::Tensor(T, S, S)>(), UnboxedForm::TSS;
  } catch (const c10::Error&) {
    // the kernel's C++ signature differs from the schema's usual one: boxed
  }
  return UnboxedForm::None;
}

/** A plain number argument as a Scalar; false for anything else (booleans, tensors, …: the boxed path). */
bool scalarArg(const Napi::Value& v, c10::Scalar* out) {
  if (!v.IsNumber()) return false;
  *out = numberToScalar(v.As<Napi::Number>().DoubleValue());
  return true;
}

/**
 * Calls `op` unboxed when its form allows it and the JavaScript arguments are live tensors and
 * plain numbers where the form has them (a missing last Scalar takes its default). Returns false,
 * having called nothing, for any other call: the boxed path then converts (and words the errors).
 * Measured on `add` of 1-element tensors: the boxed stack cost ~0.1 µs of a 0.7 µs call.
 */
bool callUnboxed(Napi::Env env, const RegisteredOp& entry, const Napi::CallbackInfo& info, at::Tensor* result) {
  const size_t given = info.Length() - 1;
  const c10::OperatorHandle& op = entry.handle;
  auto tensorAt = [&](size_t i) { return liveTensor(env, info[i + 1]); };
  // the last Scalar: given, or its default
  auto lastScalar = [&](size_t i, c10::Scalar* out) {
    if (i < given) return scalarArg(info[i + 1], out);
    if (!entry.lastScalarDefault) return false;
    *out = *entry.lastScalarDefault;
    return true;
  };
  switch (entry.form) {
    case UnboxedForm::T: {
      at::Tensor* a = given == 1 ? tensorAt(0) : nullptr;
      if (!a) return false;
      *result = op.typed<at::Tensor(T)>().call(*a);
      return true;
    }
    case UnboxedForm::TT: {
      at::Tensor* a = given == 2 ? tensorAt(0) : nullptr;
      at::Tensor* b = a ? tensorAt(1) : nullptr;
      if (!b) return false;
      *result = op.typed<at::Tensor(T, T)>().call(*a, *b);
      return true;
    }
    case UnboxedForm::TTS: {
      c10::Scalar s;
      at::Tensor* a = given == 2 || given == 3 ? tensorAt(0) : nullptr;
      at::Tensor* b = a ? tensorAt(1) : nullptr;
      if (!b || !lastScalar(2, &s)) return false;
      *result = op.typed<at::Tensor(T, T, S)>().call(*a, *b, s);
      return true;
    }
    case UnboxedForm::TS: {
      c10::Scalar s;
      at::Tensor* a = given == 2 ? tensorAt(0) : nullptr;
      if (!a || !scalarArg(info[2], &s)) return false;
      *result = op.typed<at::Tensor(T, S)>().call(*a, s);
      return true;
    }
    case UnboxedForm::TSS: {
      c10::Scalar s1, s2;
      at::Tensor* a = given == 2 || given == 3 ? tensorAt(0) : nullptr;
      if (!a || !scalarArg(info[2], &s1) || !lastScalar(2, &s2)) return false;
      *result = op.typed<at::Tensor(T, S, S)>().call(*a, s1, s2);
      return true;
    }
    case UnboxedForm::None:
      return false;
  }
  return false;
}

/** findOp(name, overload) -> id, or -1 when this libtorch has no such operator. */
Napi::Value FindOp(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(env, "findOp(name, overload)");
    auto handle = c10::Dispatcher::singleton().findSchema(
        {info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value()});
    if (!handle) return Napi::Number::New(env, -1);
    RegisteredOp entry{*handle, unboxedForm(*handle), std::nullopt};
    const auto& args = handle->schema().arguments();
    if (entry.form != UnboxedForm::None && args.back().type()->kind() == c10::TypeKind::NumberType &&
        args.back().default_value()) {
      entry.lastScalarDefault = args.back().default_value()->toScalar();
    }
    auto& table = operatorTable(env);
    table.push_back(std::move(entry));
    return Napi::Number::New(env, static_cast<double>(table.size() - 1));
  });
}

const RegisteredOp& operatorById(Napi::Env env, const Napi::Value& v) {
  int64_t id = toInt64(env, v, "operator id");
  auto& table = operatorTable(env);
  if (id < 0 || id >= static_cast<int64_t>(table.size())) throw Napi::RangeError::New(env, "unknown operator id");
  return table[static_cast<size_t>(id)];
}

/** opSchema(id) -> the operator's schema as text. */
Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    std::ostringstream os;
    os << operatorById(info.Env(), info[0]).handle.schema();
    return Napi::String::New(info.Env(), os.str());
  });
}

/** opCallForm(id) -> the unboxed form ("T", "TT", "TTS", "TS", "TSS") or "boxed". */
Napi::Value OpCallForm(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    static const char* const names[] = {"boxed", "T", "TT", "TTS", "TS", "TSS"};
    return Napi::String::New(info.Env(), names[static_cast<size_t>(operatorById(info.Env(), info[0]).form)]);
  });
}

/** call(id, ...args): arguments in schema order; undefined takes the schema default. */
Napi::Value Call(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const RegisteredOp& entry = operatorById(env, info[0]);
    at::Tensor unboxed;
    if (callUnboxed(env, entry, info, &unboxed)) return wrapTensor(env, std::move(unboxed));
    const c10::OperatorHandle& op = entry.handle;
    const auto& args = op.schema().arguments();
    const size_t given = info.Length() - 1;
    if (given > args.size()) {
      throw Napi::TypeError::New(env, op.schema().name() + " takes at most " + std::to_string(args.size()) +
                                          " arguments, got " + std::to_string(given));
    }
    torch::jit::Stack stack;
    stack.reserve(args.size());
    for (size_t i = 0; i < args.size(); i++) {
      const c10::Argument& arg = args[i];
      Napi::Value js = i < given ? info[i + 1] : env.Undefined();
      if (!js.IsUndefined()) {
        stack.push_back(toIValue(env, js, arg.type(), arg, op));
      } else if (arg.default_value()) {
        stack.push_back(*arg.default_value());
      } else if (arg.type()->kind() == c10::TypeKind::OptionalType) {
        stack.emplace_back();
      } else {
        throw Napi::TypeError::New(env, describe(op, arg) + " is required");
      }
    }
    op.callBoxed(&stack);
    if (stack.size() == 1) return fromIValue(env, stack[0]);
    auto arr = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) arr.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
    return arr;
  });
}

}  // namespace

void registerDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New(env, FindOp, "findOp"));
  exports.Set("opSchema", Napi::Function::New(env, OpSchema, "opSchema"));
  exports.Set("opCallForm", Napi::Function::New(env, OpCallForm, "opCallForm"));
  exports.Set("call", Napi::Function::New(env, Call, "call"));
}

}  // namespace regts
