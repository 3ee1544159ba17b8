#include "errors.h"

#include <uv.h>

#include <cstring>

namespace berth {

std::string ErrnoName(int err) {
  // libuv knows the names of the errno values Linux uses (UV_Exxx == -Exxx on unix).
  const char* name = uv_err_name(-err);
  if (name == nullptr || std::strncmp(name, "Unknown", 7) == 0) return "E" + std::to_string(err);
  return name;
}

Napi::Error MakeSysError(Napi::Env env, const std::string& operation, int err) {
  std::string code = ErrnoName(err);
  Napi::Error error = Napi::Error::New(env, operation + ": " + code + " (" + std::strerror(err) + ")");
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err));
  return error;
}

}  // namespace berth
