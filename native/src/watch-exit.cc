// watchExit(pid, onExit): a pidfd polled on Node's event loop. No thread is held, the handle is
// unref'd (it never keeps Node alive), onExit runs at most once. Throws synchronously (ESRCH)
// when the process is already gone.
// watchChild(pid, onExit(exitCode, signal)): the same for a child of berthd (spawnProcess), which
// it also reaps (waitid) and whose status it reports (libuv only ever reaps its own children); this
// handle is ref'd like a ChildProcess until the child has exited.
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "ops.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace berth {
namespace {

/**
 * Freed when both the uv handle is closed and the JS close function is collected, so a late
 * close() call never touches freed memory.
 */
struct ExitWatcher {
  uv_poll_t poll;
  napi_env env = nullptr;
  int pid = 0;
  int pidfd = -1;
  /** watchChild: reap the child and pass (exitCode, signal) to the callback. */
  bool reap = false;
  Napi::FunctionReference callback;
  Napi::AsyncContext* async_context = nullptr;
  bool stopping = false;
  bool handle_closed = false;
  bool function_collected = false;
  bool env_tearing_down = false;
};

void MaybeDelete(ExitWatcher* watcher) {
  if (watcher->handle_closed && watcher->function_collected) delete watcher;
}

void OnHandleClosed(uv_handle_t* handle) {
  auto* watcher = static_cast<ExitWatcher*>(handle->data);
  ::close(watcher->pidfd);
  if (watcher->env_tearing_down) {
    watcher->callback.SuppressDestruct();
  } else {
    watcher->callback.Reset();
    delete watcher->async_context;
  }
  watcher->async_context = nullptr;
  watcher->handle_closed = true;
  MaybeDelete(watcher);
}

void OnEnvTeardown(void* arg);

void Stop(ExitWatcher* watcher) {
  if (watcher->stopping) return;
  watcher->stopping = true;
  if (!watcher->env_tearing_down) napi_remove_env_cleanup_hook(watcher->env, OnEnvTeardown, watcher);
  uv_poll_stop(&watcher->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&watcher->poll), OnHandleClosed);
}

void OnEnvTeardown(void* arg) {
  auto* watcher = static_cast<ExitWatcher*>(arg);
  watcher->env_tearing_down = true;
  Stop(watcher);
}

void OnReadable(uv_poll_t* handle, int status, int events) {
  auto* watcher = static_cast<ExitWatcher*>(handle->data);
  if (watcher->stopping) return;
  Napi::Env env(watcher->env);
  Napi::HandleScope scope(env);
  Napi::Function callback = watcher->callback.Value();
  Napi::AsyncContext* context = watcher->async_context;
  std::vector<napi_value> args;
  if (watcher->reap) {
    siginfo_t child{};
    int rc;
    do {
      rc = ::waitid(P_PID, static_cast<id_t>(watcher->pid), &child, WEXITED | WNOHANG);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0 && child.si_pid == 0) return;  // readable but not reapable yet: poll again
    bool exited = rc == 0 && child.si_code == CLD_EXITED;
    bool killed = rc == 0 && (child.si_code == CLD_KILLED || child.si_code == CLD_DUMPED);
    args.push_back(exited ? Napi::Number::New(env, child.si_status) : env.Null());
    args.push_back(killed ? Napi::Number::New(env, child.si_status) : env.Null());
  }
  Stop(watcher);  // before calling out: onExit fires once even if it re-enters
  try {
    callback.MakeCallback(env.Global(), args, *context);
  } catch (const Napi::Error& error) {
    // Nobody can catch it here: report it like any other uncaught exception.
    napi_fatal_exception(env, error.Value());
  }
}

Napi::Value CloseWatch(const Napi::CallbackInfo& info) {
  auto* watcher = static_cast<ExitWatcher*>(info.Data());
  if (!watcher->handle_closed) Stop(watcher);
  return info.Env().Undefined();
}

/** watchExit(pid, onExit) / watchChild(pid, onExit): { close(): void } */
Napi::Value Watch(const Napi::CallbackInfo& info, const std::string& fn, bool reap) {
  Napi::Env env = info.Env();
  int pid = static_cast<int>(RequireInteger(info, 0, fn.c_str(), "pid", 1, INT32_MAX));
  if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(env, fn + ": onExit must be a function");

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) throw MakeSysError(env, fn + ": pidfd_open " + std::to_string(pid), errno);

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ::close(pidfd);
    throw Napi::Error::New(env, fn + ": no event loop");
  }
  auto* watcher = new ExitWatcher();
  watcher->env = env;
  watcher->pid = pid;
  watcher->pidfd = pidfd;
  watcher->reap = reap;
  watcher->poll.data = watcher;
  int rc = uv_poll_init(loop, &watcher->poll, pidfd);
  if (rc != 0) {
    ::close(pidfd);
    delete watcher;
    throw MakeSysError(env, fn + ": poll pidfd of " + std::to_string(pid), -rc);
  }
  rc = uv_poll_start(&watcher->poll, UV_READABLE, OnReadable);
  if (rc != 0) {
    watcher->function_collected = true;  // no JS function was handed out
    watcher->stopping = true;
    watcher->env_tearing_down = true;    // nothing to reset in OnHandleClosed
    uv_close(reinterpret_cast<uv_handle_t*>(&watcher->poll), OnHandleClosed);
    throw MakeSysError(env, fn + ": poll pidfd of " + std::to_string(pid), -rc);
  }
  // A child being waited for keeps Node alive (as libuv's own process handles do); a watch does not.
  if (!reap) uv_unref(reinterpret_cast<uv_handle_t*>(&watcher->poll));
  watcher->callback = Napi::Persistent(info[1].As<Napi::Function>());
  watcher->async_context = new Napi::AsyncContext(env, reap ? "berth:watchChild" : "berth:watchExit");
  napi_add_env_cleanup_hook(env, OnEnvTeardown, watcher);

  Napi::Function close = Napi::Function::New(env, CloseWatch, "close", watcher);
  close.AddFinalizer(
      [](Napi::Env, ExitWatcher* w) {
        w->function_collected = true;
        MaybeDelete(w);
      },
      watcher);
  Napi::Object handle = Napi::Object::New(env);
  handle.Set("close", close);
  return handle;
}

Napi::Value WatchExit(const Napi::CallbackInfo& info) { return Watch(info, "watchExit", false); }
Napi::Value WatchChild(const Napi::CallbackInfo& info) { return Watch(info, "watchChild", true); }

}  // namespace

void InitWatchExit(Napi::Env env, Napi::Object exports) {
  exports.Set("watchExit", Napi::Function::New(env, WatchExit, "watchExit"));
  exports.Set("watchChild", Napi::Function::New(env, WatchChild, "watchChild"));
}

}  // namespace berth
