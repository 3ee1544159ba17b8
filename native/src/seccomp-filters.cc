// readSeccompFilters: a process's seccomp filters as BPF programs, for execInContainer to install
// the very filters a container's init runs under (container-exec.cc) instead of compiling the
// profile again. ptrace is per thread: seize, interrupt, read and detach happen in one thread.
#include <linux/filter.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
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

/** What one read found; shared with its thread, which may outlive the worker. */
struct ReadState {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  int err = 0;
  std::string step;
  std::vector<std::vector<sock_filter>> filters;  // oldest first
};

/** Seize, interrupt, wait for the stop, read every filter, detach: all in the calling thread. */
void ReadFilters(int pid, ReadState* out) {
  int err = 0;
  std::string step;
  std::vector<std::vector<sock_filter>> filters;
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
    err = errno;
    step = "attach to";
  } else {
    if (::ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) != 0) {
      err = errno;
      step = "interrupt";
    } else {
      int status;
      while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
      }
      for (long index = 0; err == 0; index++) {
        long count = ::ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), pid, reinterpret_cast<void*>(index), nullptr);
        if (count < 0) {
          if (errno != ENOENT) {  // ENOENT: past the oldest filter
            err = errno;
            step = "get filter " + std::to_string(index) + " of";
          }
          break;
        }
        std::vector<sock_filter> filter(static_cast<size_t>(count));
        if (::ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), pid, reinterpret_cast<void*>(index), filter.data()) != count) {
          err = errno ? errno : EIO;
          step = "get filter " + std::to_string(index) + " of";
          break;
        }
        filters.insert(filters.begin(), std::move(filter));  // index 0 is the newest
      }
    }
    ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  }
  std::lock_guard<std::mutex> lock(out->mutex);
  out->err = err;
  out->step = std::move(step);
  out->filters = std::move(filters);
  out->done = true;
  out->done_cv.notify_all();
}

/**
 * Reads on a thread of its own and waits at most kStopWaitMs: a process that does not reach the
 * ptrace stop (frozen, or in an uninterruptible wait) must not hold a pool thread. That thread
 * stays until the stop comes, then detaches, so the process is never left traced.
 */
class SeccompWorker : public PromiseWorker {
 public:
  SeccompWorker(Napi::Env env, int pid) : PromiseWorker(env, "berth:readSeccompFilters"), pid_(pid) {}

  void Execute() override {
    auto state = std::make_shared<ReadState>();
    try {
      std::thread([pid = pid_, state]() { ReadFilters(pid, state.get()); }).detach();
    } catch (const std::system_error& e) {
      return Fail("readSeccompFilters: start a thread", e.code().value());
    }
    std::unique_lock<std::mutex> lock(state->mutex);
    if (!state->done_cv.wait_for(lock, std::chrono::milliseconds(kStopWaitMs), [&] { return state->done; })) {
      return Fail("readSeccompFilters: " + std::to_string(pid_) + " did not stop within " + std::to_string(kStopWaitMs) + " ms", ETIMEDOUT);
    }
    if (state->err != 0) return Fail("readSeccompFilters: " + state->step + " " + std::to_string(pid_), state->err);
    filters_ = std::move(state->filters);
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
  static constexpr int kStopWaitMs = 2000;
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
