// lsetxattr(2), lgetxattr(2), llistxattr(2): never follow a symlink at the path (image layers
// contain symlinks pointing anywhere on the host).
#include <sys/xattr.h>

#include <cerrno>
#include <string>
#include <vector>

#include "args.h"
#include "ops.h"
#include "promise-worker.h"

namespace berth {
namespace {

class SetXattrWorker : public PromiseWorker {
 public:
  SetXattrWorker(Napi::Env env, std::string path, std::string name, std::vector<char> value)
      : PromiseWorker(env, "berth:lsetxattr"), path_(std::move(path)), name_(std::move(name)), value_(std::move(value)) {}

  void Execute() override {
    if (::lsetxattr(path_.c_str(), name_.c_str(), value_.data(), value_.size(), 0) != 0) {
      Fail("lsetxattr " + name_ + " on " + path_, errno);
    }
  }

 private:
  std::string path_, name_;
  std::vector<char> value_;
};

class GetXattrWorker : public PromiseWorker {
 public:
  GetXattrWorker(Napi::Env env, std::string path, std::string name)
      : PromiseWorker(env, "berth:lgetxattr"), path_(std::move(path)), name_(std::move(name)) {}

  void Execute() override {
    // Size, then value; the attribute may grow in between, so retry on ERANGE.
    for (int attempt = 0; attempt < 8; attempt++) {
      ssize_t size = ::lgetxattr(path_.c_str(), name_.c_str(), nullptr, 0);
      if (size < 0) return HandleError(errno);
      value_.resize(static_cast<size_t>(size));
      if (size == 0) return;
      ssize_t got = ::lgetxattr(path_.c_str(), name_.c_str(), value_.data(), value_.size());
      if (got >= 0) {
        value_.resize(static_cast<size_t>(got));
        return;
      }
      if (errno != ERANGE) return HandleError(errno);
    }
    Fail("lgetxattr " + name_ + " on " + path_, ERANGE);
  }

  Napi::Value Result(Napi::Env env) override {
    if (absent_) return env.Undefined();
    return Napi::Buffer<char>::Copy(env, value_.data(), value_.size());
  }

 private:
  void HandleError(int err) {
    if (err == ENODATA) {
      absent_ = true;
    } else {
      Fail("lgetxattr " + name_ + " on " + path_, err);
    }
  }

  std::string path_, name_;
  std::vector<char> value_;
  bool absent_ = false;
};

class ListXattrWorker : public PromiseWorker {
 public:
  ListXattrWorker(Napi::Env env, std::string path) : PromiseWorker(env, "berth:llistxattr"), path_(std::move(path)) {}

  void Execute() override {
    for (int attempt = 0; attempt < 8; attempt++) {
      ssize_t size = ::llistxattr(path_.c_str(), nullptr, 0);
      if (size < 0) return Fail("llistxattr " + path_, errno);
      list_.resize(static_cast<size_t>(size));
      if (size == 0) return;
      ssize_t got = ::llistxattr(path_.c_str(), list_.data(), list_.size());
      if (got >= 0) {
        list_.resize(static_cast<size_t>(got));
        return;
      }
      if (errno != ERANGE) return Fail("llistxattr " + path_, errno);
    }
    Fail("llistxattr " + path_, ERANGE);
  }

  Napi::Value Result(Napi::Env env) override {
    // The list is NUL-terminated names back to back.
    Napi::Array names = Napi::Array::New(env);
    uint32_t index = 0;
    size_t start = 0;
    for (size_t i = 0; i < list_.size(); i++) {
      if (list_[i] != '\0') continue;
      if (i > start) names.Set(index++, Napi::String::New(env, list_.data() + start, i - start));
      start = i + 1;
    }
    return names;
  }

 private:
  std::string path_;
  std::vector<char> list_;
};

/** lsetxattr(path, name, value: Buffer): Promise<void> */
Napi::Value LSetXattr(const Napi::CallbackInfo& info) {
  std::string path = RequireNonEmptyString(info, 0, "lsetxattr", "path");
  std::string name = RequireNonEmptyString(info, 1, "lsetxattr", "name");
  if (info.Length() < 3 || !info[2].IsBuffer()) {
    throw Napi::TypeError::New(info.Env(), "lsetxattr: value must be a Buffer");
  }
  Napi::Buffer<char> buffer = info[2].As<Napi::Buffer<char>>();
  std::vector<char> value(buffer.Data(), buffer.Data() + buffer.Length());
  return (new SetXattrWorker(info.Env(), path, name, std::move(value)))->Start();
}

/** lgetxattr(path, name): Promise<Buffer | undefined> (undefined on ENODATA) */
Napi::Value LGetXattr(const Napi::CallbackInfo& info) {
  std::string path = RequireNonEmptyString(info, 0, "lgetxattr", "path");
  std::string name = RequireNonEmptyString(info, 1, "lgetxattr", "name");
  return (new GetXattrWorker(info.Env(), path, name))->Start();
}

/** llistxattr(path): Promise<string[]> */
Napi::Value LListXattr(const Napi::CallbackInfo& info) {
  std::string path = RequireNonEmptyString(info, 0, "llistxattr", "path");
  return (new ListXattrWorker(info.Env(), path))->Start();
}

}  // namespace

void InitXattrOps(Napi::Env env, Napi::Object exports) {
  exports.Set("lsetxattr", Napi::Function::New(env, LSetXattr, "lsetxattr"));
  exports.Set("lgetxattr", Napi::Function::New(env, LGetXattr, "lgetxattr"));
  exports.Set("llistxattr", Napi::Function::New(env, LListXattr, "llistxattr"));
}

}  // namespace berth
