// startPause(spec): validates the spec at the entry, then launches pause from a pool worker
// (the launch clones children; the worker thread's own namespaces never change).
#include <sched.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "id-map.h"
#include "ops.h"
#include "pause-launcher.h"
#include "promise-worker.h"

namespace berth {
namespace {

class StartPauseWorker : public PromiseWorker {
 public:
  StartPauseWorker(Napi::Env env, PausePlan plan) : PromiseWorker(env, "berth:startPause"), plan_(std::move(plan)) {}

  void Execute() override {
    outcome_ = LaunchPause(plan_);
    if (outcome_.error != 0) Fail("start pause: " + outcome_.failed_step, outcome_.error);
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, outcome_.pid); }

 private:
  PausePlan plan_;
  LaunchOutcome outcome_;
};

std::string StringField(const Napi::Object& spec, const char* key) {
  Napi::Value value = spec.Get(key);
  if (!value.IsString()) throw Napi::TypeError::New(spec.Env(), std::string("startPause: spec.") + key + " must be a string");
  std::string text = value.As<Napi::String>().Utf8Value();
  if (text.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(spec.Env(), std::string("startPause: spec.") + key + " must not contain NUL bytes");
  }
  return text;
}

/** "net.ipv4.conf.eth0/1.rp_filter" → "/proc/sys/net/ipv4/conf/eth0.1/rp_filter" (runc's rule). */
std::string SysctlPath(Napi::Env env, const std::string& name) {
  if (name.empty() || name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos) {
    throw Napi::TypeError::New(env, "startPause: invalid sysctl name '" + name + "'");
  }
  std::string path = "/proc/sys/";
  for (char c : name) {
    if (c == '\0') throw Napi::TypeError::New(env, "startPause: invalid sysctl name");
    path += c == '.' ? '/' : (c == '/' ? '.' : c);
  }
  // A component made only of dots after the swap would escape /proc/sys.
  if (path.find("/./") != std::string::npos || path.find("/../") != std::string::npos ||
      (path.size() >= 2 && path.compare(path.size() - 2, 2, "/.") == 0)) {
    throw Napi::TypeError::New(env, "startPause: invalid sysctl name '" + name + "'");
  }
  return path;
}

PausePlan ParseSpec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "startPause: spec must be an object");
  Napi::Object spec = info[0].As<Napi::Object>();
  PausePlan plan;
  plan.executable = StringField(spec, "executable");
  if (plan.executable.empty() || plan.executable.front() != '/') {
    throw Napi::TypeError::New(env, "startPause: spec.executable must be an absolute path");
  }
  Napi::Value namespaces = spec.Get("namespaces");
  if (!namespaces.IsArray()) throw Napi::TypeError::New(env, "startPause: spec.namespaces must be an array");
  Napi::Array kinds = namespaces.As<Napi::Array>();
  for (uint32_t i = 0; i < kinds.Length(); i++) {
    Napi::Value kind = kinds.Get(i);
    std::string name = kind.IsString() ? kind.As<Napi::String>().Utf8Value() : std::string();
    if (name == "net") plan.namespace_flags |= CLONE_NEWNET;
    else if (name == "ipc") plan.namespace_flags |= CLONE_NEWIPC;
    else if (name == "uts") plan.namespace_flags |= CLONE_NEWUTS;
    else if (name == "pid") plan.namespace_flags |= CLONE_NEWPID;
    else throw Napi::TypeError::New(env, "startPause: spec.namespaces entries must be 'net', 'ipc', 'uts' or 'pid'");
  }
  plan.hostname = StringField(spec, "hostname");
  plan.set_hostname = (plan.namespace_flags & CLONE_NEWUTS) != 0 && !plan.hostname.empty();
  if (plan.hostname.size() > 64) throw Napi::TypeError::New(env, "startPause: spec.hostname is longer than 64 bytes");
  plan.uid = static_cast<uid_t>(RequireInteger(env, spec.Get("uid"), "startPause", "spec.uid", 0, 0xfffffffe));
  plan.gid = static_cast<gid_t>(RequireInteger(env, spec.Get("gid"), "startPause", "spec.gid", 0, 0xfffffffe));

  Napi::Value cgroups = spec.Get("cgroupProcs");
  if (!cgroups.IsArray()) throw Napi::TypeError::New(env, "startPause: spec.cgroupProcs must be an array of strings");
  Napi::Array cgroup_list = cgroups.As<Napi::Array>();
  for (uint32_t i = 0; i < cgroup_list.Length(); i++) {
    Napi::Value entry = cgroup_list.Get(i);
    if (!entry.IsString()) throw Napi::TypeError::New(env, "startPause: spec.cgroupProcs must be an array of strings");
    std::string path = entry.As<Napi::String>().Utf8Value();
    if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, "startPause: spec.cgroupProcs entries must be absolute paths");
    }
    plan.cgroup_procs.push_back(path);
  }

  Napi::Value deny = spec.Get("denyDevicesCgroups");
  if (!deny.IsUndefined() && !deny.IsNull()) {
    if (!deny.IsArray()) throw Napi::TypeError::New(env, "startPause: spec.denyDevicesCgroups must be an array of strings");
    Napi::Array dirs = deny.As<Napi::Array>();
    for (uint32_t i = 0; i < dirs.Length(); i++) {
      Napi::Value entry = dirs.Get(i);
      if (!entry.IsString()) throw Napi::TypeError::New(env, "startPause: spec.denyDevicesCgroups must be an array of strings");
      std::string dir = entry.As<Napi::String>().Utf8Value();
      if (dir.empty() || dir.front() != '/' || dir.find('\0') != std::string::npos) {
        throw Napi::TypeError::New(env, "startPause: spec.denyDevicesCgroups entries must be absolute paths");
      }
      plan.device_deny_cgroups.push_back(dir);
    }
  }

  Napi::Value sysctls = spec.Get("sysctls");
  if (!sysctls.IsObject() || sysctls.IsArray()) throw Napi::TypeError::New(env, "startPause: spec.sysctls must be an object");
  Napi::Object sysctl_map = sysctls.As<Napi::Object>();
  Napi::Array names = sysctl_map.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); i++) {
    std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value value = sysctl_map.Get(name);
    if (!value.IsString()) throw Napi::TypeError::New(env, "startPause: sysctl " + name + " must have a string value");
    std::string text = value.As<Napi::String>().Utf8Value();
    if (text.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "startPause: sysctl " + name + " contains NUL");
    plan.sysctl_names.push_back(name);
    plan.sysctl_paths.push_back(SysctlPath(env, name));
    plan.sysctl_values.push_back(text);
  }

  Napi::Value userns = spec.Get("userNamespace");
  if (!userns.IsUndefined() && !userns.IsNull()) {
    if (!userns.IsObject()) throw Napi::TypeError::New(env, "startPause: spec.userNamespace must be an object {uids, gids}");
    Napi::Object maps = userns.As<Napi::Object>();
    plan.uid_map = ParseIdMappings(env, maps.Get("uids"), "startPause", "spec.userNamespace.uids");
    plan.gid_map = ParseIdMappings(env, maps.Get("gids"), "startPause", "spec.userNamespace.gids");
  }

  Napi::Value log_file = spec.Get("logFile");
  if (!log_file.IsUndefined() && !log_file.IsNull()) {
    plan.log_file = StringField(spec, "logFile");
    if (plan.log_file.empty() || plan.log_file.front() != '/') {
      throw Napi::TypeError::New(env, "startPause: spec.logFile must be an absolute path");
    }
  }
  Napi::Value netns = spec.Get("netns");
  if (!netns.IsUndefined() && !netns.IsNull()) {
    plan.netns_path = StringField(spec, "netns");
    if (plan.netns_path.empty() || plan.netns_path.front() != '/') {
      throw Napi::TypeError::New(env, "startPause: spec.netns must be an absolute path");
    }
    if ((plan.namespace_flags & CLONE_NEWNET) != 0) {
      throw Napi::TypeError::New(env, "startPause: spec.netns and 'net' in spec.namespaces exclude each other");
    }
    // A user namespace must own the pod's netns; one made beforehand belongs to the host's.
    if (!plan.uid_map.empty()) throw Napi::TypeError::New(env, "startPause: spec.netns cannot be combined with spec.userNamespace");
  }
  return plan;
}

/** startPause(spec): Promise<number> — the host pid of pause once it has exec'd. */
Napi::Value StartPause(const Napi::CallbackInfo& info) {
  PausePlan plan = ParseSpec(info);
  return (new StartPauseWorker(info.Env(), std::move(plan)))->Start();
}

}  // namespace

void InitStartPause(Napi::Env env, Napi::Object exports) {
  exports.Set("startPause", Napi::Function::New(env, StartPause, "startPause"));
}

}  // namespace berth
