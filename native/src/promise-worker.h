// Base of every one-shot operation: an AsyncWorker holding plain data whose Execute() (on the
// libuv pool, never touching N-API) records either success or (operation, errno); OnOK then
// resolves the promise with Result() or rejects with a system error.
#pragma once

#include <napi.h>

#include <string>

#include "errors.h"

namespace berth {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* resource)
      : Napi::AsyncWorker(env, resource), deferred_(Napi::Promise::Deferred::New(env)) {}

  /** Queues the worker and returns its promise. */
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  /** Records a failure of `operation` (e.g. "mount /x") with errno `err`; called from Execute(). */
  void Fail(std::string operation, int err) {
    failed_operation_ = std::move(operation);
    failed_errno_ = err;
  }

  /** The value the promise resolves with on success (main thread). */
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failed_errno_ != 0) {
      deferred_.Reject(MakeSysError(env, failed_operation_, failed_errno_).Value());
    } else {
      deferred_.Resolve(Result(env));
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string failed_operation_;
  int failed_errno_ = 0;
};

}  // namespace berth
