// sealedCopy(path): a sealed, executable in-memory copy of `path` (memfd with write, grow, shrink
// and seal seals). runc re-executes itself as `runc init` and, unless it already runs from such a
// sealed memfd, first copies its own ~9 MB binary into a fresh memfd (its guard against a container
// overwriting the host binary through /proc/<pid>/exe). Running runc from one sealed copy made at
// start keeps that guarantee (nothing can write the copy) without the per-container copy.
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ops.h"
#include "promise-worker.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace berth {
namespace {

// runc's RUNC_MEMFD_SEALS: the exact set runc checks for (F_GET_SEALS == this).
constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

class SealedCopyWorker : public PromiseWorker {
 public:
  SealedCopyWorker(Napi::Env env, std::string path) : PromiseWorker(env, "berth:sealedCopy"), path_(std::move(path)) {}

  void Execute() override {
    int src = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (src < 0) return Fail("open " + path_, errno);
    struct stat st {};
    if (::fstat(src, &st) < 0) return FailClosing("fstat " + path_, src, -1);
    if (!S_ISREG(st.st_mode)) {
      ::close(src);
      return Fail("sealedCopy " + path_ + ": not a regular file", EINVAL);
    }
    // MFD_EXEC where the kernel knows it (vm.memfd_noexec may otherwise make the copy unexecutable).
    int mfd = ::memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (mfd < 0 && errno == EINVAL) mfd = ::memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) return FailClosing("memfd_create", src, -1);
    off_t offset = 0;
    while (offset < st.st_size) {
      ssize_t n = ::sendfile(mfd, src, &offset, static_cast<size_t>(st.st_size - offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FailClosing("sendfile " + path_, src, mfd);
      if (n == 0) break;  // the file shrank meanwhile: the copy is what was there
    }
    if (::fchmod(mfd, st.st_mode & 0755) < 0) return FailClosing("fchmod memfd", src, mfd);
    if (::fcntl(mfd, F_ADD_SEALS, kSeals) < 0) return FailClosing("seal memfd", src, mfd);
    ::close(src);
    fd_ = mfd;
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd_); }

 private:
  void FailClosing(std::string operation, int src, int mfd) {
    int err = errno;
    ::close(src);
    if (mfd >= 0) ::close(mfd);
    Fail(std::move(operation), err);
  }

  std::string path_;
  int fd_ = -1;
};

Napi::Value SealedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "sealedCopy(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return (new SealedCopyWorker(env, info[0].As<Napi::String>().Utf8Value()))->Start();
}

}  // namespace

void InitSealedCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("sealedCopy", Napi::Function::New(env, SealedCopy, "sealedCopy"));
}

}  // namespace berth
