// readSeccompFilters: a process's seccomp filters as BPF programs, for execInContainer to install
// the very filters a container's init runs under (container-exec.cc) instead of compiling the
// profile again. ptrace is per thread: seize, interrupt, read and detach in one pool worker.
#include <linux/filter.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>
#include <vector>

#include "args.h"
#include "ops.h"
#include "promise-worker.h"

namespace berth {
namespace {

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

/** Reads the init's seccomp filters with ptrace (attach, get, detach in this one thread). */
class SeccompWorker : public PromiseWorker {
 public:
  SeccompWorker(Napi::Env env, int pid) : PromiseWorker(env, "berth:readSeccompFilters"), pid_(pid) {}

  void Execute() override {
    if (::ptrace(PTRACE_SEIZE, pid_, nullptr, nullptr) != 0) return Fail("readSeccompFilters: attach to " + std::to_string(pid_), errno);
    int err = 0;
    std::string step;
    if (::ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) != 0) {
      err = errno;
      step = "interrupt";
    } else {
      int status;
      while (::waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
      }
      for (long index = 0; err == 0; index++) {
        long count = ::ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), pid_, reinterpret_cast<void*>(index), nullptr);
        if (count < 0) {
          if (errno != ENOENT) {
            err = errno;
            step = "get filter " + std::to_string(index);
          }
          break;
        }
        std::vector<sock_filter> filter(static_cast<size_t>(count));
        if (::ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), pid_, reinterpret_cast<void*>(index), filter.data()) != count) {
          err = errno ? errno : EIO;
          step = "get filter " + std::to_string(index);
          break;
        }
        filters_.insert(filters_.begin(), std::move(filter));  // index 0 is the newest
      }
    }
    ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
    if (err != 0) Fail("readSeccompFilters: " + step + " of " + std::to_string(pid_), err);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, filters_.size());
    for (uint32_t i = 0; i < filters_.size(); i++) {
      auto& f = filters_[i];
      out.Set(i, Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(f.data()), f.size() * sizeof(sock_filter)));
    }
    return out;
  }

 private:
  int pid_;
  std::vector<std::vector<sock_filter>> filters_;
};

/** readSeccompFilters(pid): the process's seccomp filters as Buffers of sock_filter, oldest first. */
Napi::Value ReadSeccompFilters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = static_cast<int>(RequireInteger(env, info[0], "readSeccompFilters", "pid", 1, INT32_MAX));
  return (new SeccompWorker(env, pid))->Start();
}

}  // namespace

void InitSeccompFilters(Napi::Env env, Napi::Object exports) {
  exports.Set("readSeccompFilters", Napi::Function::New(env, ReadSeccompFilters, "readSeccompFilters"));
}

}  // namespace berth
