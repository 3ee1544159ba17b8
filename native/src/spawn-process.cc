// spawnProcess and makePipe: starting a program without Node's child_process, whose fork() of
// berthd stalls the event loop for milliseconds (page tables of the whole heap are copied) on
// every conmon, CNI plugin and runc call. posix_spawn in glibc is clone(CLONE_VM|CLONE_VFORK):
// nothing is copied, the caller waits only until the child has exec'd (or failed to), and an exec
// failure comes back as the error.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "ops.h"

extern char** environ;

namespace berth {
namespace {

/** A JS array of strings (no NULs) as owned std::strings. */
std::vector<std::string> RequireStringArray(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* what) {
  if (info.Length() <= index || !info[index].IsArray()) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must be an array of strings");
  }
  Napi::Array array = info[index].As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must be an array of strings");
    std::string value = item.As<Napi::String>().Utf8Value();
    if (value.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must not contain NUL bytes");
    }
    out.push_back(std::move(value));
  }
  return out;
}

/** NULL-terminated char* view of `strings` (valid while they live). */
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/** Owns the posix_spawn attribute and file-action objects. */
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

/** Closes the temporary duplicates made so that no source fd is also a target. */
struct FdList {
  std::vector<int> fds;
  ~FdList() {
    for (int fd : fds) ::close(fd);
  }
};

/**
 * spawnProcess(file, args, env, cwd, fds, newSession): pid. `file` without a slash is searched in PATH.
 * Child fd i is fds[i] (dup2; -1 = /dev/null); every other fd of berthd is close-on-exec already.
 * Signal mask empty and every signal at its default (Node ignores SIGPIPE; children must not).
 */
Napi::Value SpawnProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "spawnProcess";
  std::string file = RequireNonEmptyString(info, 0, fn, "file");
  std::vector<std::string> args = RequireStringArray(info, 1, fn, "args");
  std::vector<std::string> envs = RequireStringArray(info, 2, fn, "env");
  std::string cwd = RequireString(info, 3, fn, "cwd");
  if (info.Length() <= 4 || !info[4].IsArray()) throw Napi::TypeError::New(env, "spawnProcess: fds must be an array of numbers");
  Napi::Array fdArray = info[4].As<Napi::Array>();
  if (fdArray.Length() > 64) throw Napi::TypeError::New(env, "spawnProcess: fds must have at most 64 entries");
  std::vector<int> fds;
  for (uint32_t i = 0; i < fdArray.Length(); i++) {
    fds.push_back(static_cast<int>(RequireInteger(env, fdArray.Get(i), fn, "fds[" + std::to_string(i) + "]", -1, INT32_MAX)));
  }
  bool newSession = info.Length() > 5 && info[5].ToBoolean().Value();
  if (args.empty()) args.push_back(file);

  // A source fd below fds.size() could be overwritten by an earlier dup2: move it out of the way.
  FdList temporaries;
  const int targets = static_cast<int>(fds.size());
  for (int& fd : fds) {
    if (fd >= 0 && fd < targets) {
      int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, targets);
      if (moved < 0) throw MakeSysError(env, "spawnProcess: dup fd " + std::to_string(fd), errno);
      temporaries.fds.push_back(moved);
      fd = moved;
    }
  }

  SpawnSetup setup;
  for (int target = 0; target < targets; target++) {
    int rc = fds[target] >= 0 ? posix_spawn_file_actions_adddup2(&setup.actions, fds[target], target)
                              : posix_spawn_file_actions_addopen(&setup.actions, target, "/dev/null", O_RDWR, 0);
    if (rc != 0) throw MakeSysError(env, "spawnProcess: file actions", rc);
  }
  if (!cwd.empty()) {
    int rc = posix_spawn_file_actions_addchdir_np(&setup.actions, cwd.c_str());
    if (rc != 0) throw MakeSysError(env, "spawnProcess: chdir action", rc);
  }
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&setup.attr, &empty);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (newSession) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&setup.attr, flags);

  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(envs);
  pid_t pid = -1;
  // A bare name is looked up in berthd's PATH (posix_spawnp), a path is used as it is.
  bool search = file.find('/') == std::string::npos;
  int rc = (search ? posix_spawnp : posix_spawn)(&pid, file.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) throw MakeSysError(env, "spawnProcess: " + file, rc);
  return Napi::Number::New(env, pid);
}

/** makePipe(): [readFd, writeFd], both close-on-exec. */
Napi::Value MakePipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw MakeSysError(env, "makePipe: pipe2", errno);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

}  // namespace

void InitSpawnProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnProcess", Napi::Function::New(env, SpawnProcess, "spawnProcess"));
  exports.Set("makePipe", Napi::Function::New(env, MakePipe, "makePipe"));
}

}  // namespace berth
