// mount(2), umount2(2), mknod(2) as promise-returning functions run on the libuv pool (these do
// not change the calling thread's namespaces, so the pool is fine for them), and readFiles: many
// small pseudo-files (cgroup, /proc) read in one pool job instead of three round trips each.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "ops.h"
#include "promise-worker.h"

namespace berth {
namespace {

class MountWorker : public PromiseWorker {
 public:
  MountWorker(Napi::Env env, std::string source, std::string target, std::string fstype, unsigned long flags,
              bool has_data, std::string data)
      : PromiseWorker(env, "berth:mount"), source_(std::move(source)), target_(std::move(target)),
        fstype_(std::move(fstype)), flags_(flags), has_data_(has_data), data_(std::move(data)) {}

  void Execute() override {
    const char* fstype = fstype_.empty() ? nullptr : fstype_.c_str();
    const void* data = has_data_ ? data_.c_str() : nullptr;
    if (::mount(source_.c_str(), target_.c_str(), fstype, flags_, data) != 0) {
      Fail("mount " + source_ + " on " + target_ + (fstype_.empty() ? "" : " (" + fstype_ + ")"), errno);
    }
  }

 private:
  std::string source_, target_, fstype_;
  unsigned long flags_;
  bool has_data_;
  std::string data_;
};

class UnmountWorker : public PromiseWorker {
 public:
  UnmountWorker(Napi::Env env, std::string target, int flags)
      : PromiseWorker(env, "berth:umount2"), target_(std::move(target)), flags_(flags) {}

  void Execute() override {
    if (::umount2(target_.c_str(), flags_) != 0) Fail("umount2 " + target_, errno);
  }

 private:
  std::string target_;
  int flags_;
};

class MknodWorker : public PromiseWorker {
 public:
  MknodWorker(Napi::Env env, std::string path, mode_t mode, dev_t dev)
      : PromiseWorker(env, "berth:mknod"), path_(std::move(path)), mode_(mode), dev_(dev) {}

  void Execute() override {
    if (::mknod(path_.c_str(), mode_, dev_) != 0) Fail("mknod " + path_, errno);
  }

 private:
  std::string path_;
  mode_t mode_;
  dev_t dev_;
};

class ReadFilesWorker : public PromiseWorker {
 public:
  ReadFilesWorker(Napi::Env env, std::vector<std::string> paths, size_t max_bytes)
      : PromiseWorker(env, "berth:readFiles"), paths_(std::move(paths)), max_bytes_(max_bytes),
        texts_(paths_.size()), ok_(paths_.size(), false) {}

  void Execute() override {
    char buf[8192];
    for (size_t i = 0; i < paths_.size(); i++) {
      int fd = ::open(paths_[i].c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) continue;
      std::string& text = texts_[i];
      bool ok = true;
      while (text.size() < max_bytes_) {
        ssize_t n = ::read(fd, buf, std::min(sizeof(buf), max_bytes_ - text.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          ok = false;
          break;
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
      }
      ::close(fd);
      ok_[i] = ok;
      if (!ok) text.clear();
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, paths_.size());
    for (size_t i = 0; i < paths_.size(); i++) {
      out.Set(static_cast<uint32_t>(i), ok_[i] ? Napi::String::New(env, texts_[i]) : env.Undefined());
    }
    return out;
  }

 private:
  std::vector<std::string> paths_;
  size_t max_bytes_;
  std::vector<std::string> texts_;
  std::vector<bool> ok_;
};

/** readFiles(paths: string[], maxBytes: number): Promise<Array<string | undefined>> (undefined: not readable). */
Napi::Value ReadFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "readFiles: paths must be an array of strings");
  Napi::Array arr = info[0].As<Napi::Array>();
  int64_t max_bytes = RequireInteger(info, 1, "readFiles", "maxBytes", 1, 16 << 20);
  std::vector<std::string> paths;
  paths.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "readFiles: paths must be an array of strings");
    paths.push_back(v.As<Napi::String>().Utf8Value());
  }
  return (new ReadFilesWorker(env, std::move(paths), static_cast<size_t>(max_bytes)))->Start();
}

/** mount(source, target, fstype, flags: number, data?: string): Promise<void> */
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string source = RequireString(info, 0, "mount", "source");
  std::string target = RequireNonEmptyString(info, 1, "mount", "target");
  std::string fstype = RequireString(info, 2, "mount", "fstype");
  int64_t flags = RequireInteger(info, 3, "mount", "flags", 0, UINT32_MAX);
  bool has_data = info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull();
  std::string data = has_data ? RequireString(info, 4, "mount", "data") : std::string();
  auto* worker = new MountWorker(info.Env(), source, target, fstype, static_cast<unsigned long>(flags), has_data, data);
  return worker->Start();
}

/** umount2(target, flags: number): Promise<void> */
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  std::string target = RequireNonEmptyString(info, 0, "umount2", "target");
  int64_t flags = RequireInteger(info, 1, "umount2", "flags", 0, INT32_MAX);
  return (new UnmountWorker(info.Env(), target, static_cast<int>(flags)))->Start();
}

/** mknod(path, mode, major, minor): Promise<void> */
Napi::Value Mknod(const Napi::CallbackInfo& info) {
  std::string path = RequireNonEmptyString(info, 0, "mknod", "path");
  int64_t mode = RequireInteger(info, 1, "mknod", "mode", 0, 0177777);
  int64_t major_number = RequireInteger(info, 2, "mknod", "major", 0, 0xfffff);
  int64_t minor_number = RequireInteger(info, 3, "mknod", "minor", 0, 0xfffff);
  dev_t dev = makedev(static_cast<unsigned>(major_number), static_cast<unsigned>(minor_number));
  return (new MknodWorker(info.Env(), path, static_cast<mode_t>(mode), dev))->Start();
}

}  // namespace

void InitFsOps(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("umount2", Napi::Function::New(env, Umount2, "umount2"));
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("readFiles", Napi::Function::New(env, ReadFiles, "readFiles"));
}

}  // namespace berth
