// Argument checks at the C++ entry: wrong types throw a TypeError naming the function and argument.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace berth {

/** info[index] as a string without NUL bytes, else a TypeError "<fn>: <what> must be a string". */
inline std::string RequireString(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* what) {
  if (info.Length() <= index || !info[index].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must be a string");
  }
  std::string value = info[index].As<Napi::String>().Utf8Value();
  if (value.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must not contain NUL bytes");
  }
  return value;
}

/** A non-empty string (paths, names). */
inline std::string RequireNonEmptyString(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* what) {
  std::string value = RequireString(info, index, fn, what);
  if (value.empty()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must not be empty");
  return value;
}

/** A JS number that is an integer in [min, max]. */
inline int64_t RequireInteger(const Napi::Env& env, const Napi::Value& value, const std::string& fn,
                              const std::string& what, int64_t min, int64_t max) {
  if (!value.IsNumber()) throw Napi::TypeError::New(env, fn + ": " + what + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (number != static_cast<double>(static_cast<int64_t>(number)) || number < static_cast<double>(min) ||
      number > static_cast<double>(max)) {
    throw Napi::TypeError::New(env, fn + ": " + what + " must be an integer in [" + std::to_string(min) + ", " +
                                        std::to_string(max) + "]");
  }
  return static_cast<int64_t>(number);
}

inline int64_t RequireInteger(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* what,
                              int64_t min, int64_t max) {
  Napi::Value value = info.Length() > index ? info[index] : info.Env().Undefined();
  return RequireInteger(info.Env(), value, fn, what, min, max);
}

}  // namespace berth
