// idmapMount(source, target, userns, readOnly): an idmapped bind mount of `source` on `target`
// (open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount), the files of
// `source` appearing with their ids shifted by the user namespace's maps. `userns` is either the
// path of a user namespace file (a pod's pin, /proc/<pid>/ns/user) or {uids, gids}: then a
// throwaway user namespace with those maps is made for the call (a forked child that only waits
// to be killed). Nothing here changes the calling thread's namespaces: the libuv pool runs it.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "id-map.h"
#include "ops.h"
#include "promise-worker.h"

namespace berth {
namespace {

int WriteWhole(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n;
  do n = ::write(fd, text.data(), text.size()); while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : (static_cast<size_t>(n) != text.size() ? EIO : 0);
  ::close(fd);
  return err;
}

/**
 * A user namespace fd with the given maps: a child forked into a new user namespace waits on a
 * pipe while its maps are written and its namespace opened, then is killed and reaped.
 * Returns the fd, or -1 with `*failed` and errno set.
 */
int MakeUserNamespace(const std::string& uid_map, const std::string& gid_map, std::string* failed) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *failed = "create pipe";
    return -1;
  }
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0));
  if (pid == 0) {
    // Child (a copy of this process): only async-signal-safe calls until it is killed.
    ::close(pipe_fds[1]);
    char byte;
    while (::read(pipe_fds[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  int saved = errno;
  ::close(pipe_fds[0]);
  if (pid < 0) {
    ::close(pipe_fds[1]);
    *failed = "clone a user namespace";
    errno = saved;
    return -1;
  }
  std::string proc = "/proc/" + std::to_string(pid);
  int err = WriteWhole(proc + "/uid_map", uid_map);
  if (err != 0) *failed = "write uid_map";
  if (err == 0 && (err = WriteWhole(proc + "/gid_map", gid_map)) != 0) *failed = "write gid_map";
  int fd = -1;
  if (err == 0) {
    fd = ::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      *failed = "open the user namespace";
    }
  }
  ::kill(pid, SIGKILL);
  ::close(pipe_fds[1]);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  errno = err;
  return fd;
}

class IdmapMountWorker : public PromiseWorker {
 public:
  IdmapMountWorker(Napi::Env env, std::string source, std::string target, std::string userns_path, std::string uid_map,
                   std::string gid_map, bool read_only)
      : PromiseWorker(env, "berth:idmapMount"), source_(std::move(source)), target_(std::move(target)),
        userns_path_(std::move(userns_path)), uid_map_(std::move(uid_map)), gid_map_(std::move(gid_map)), read_only_(read_only) {}

  void Execute() override {
    int userns_fd;
    if (!userns_path_.empty()) {
      userns_fd = ::open(userns_path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (userns_fd < 0) return Fail("open user namespace " + userns_path_, errno);
    } else {
      std::string failed;
      userns_fd = MakeUserNamespace(uid_map_, gid_map_, &failed);
      if (userns_fd < 0) return Fail("make a user namespace for an idmapped mount: " + failed, errno);
    }
    // Not recursive: like a plain bind, and a submount that cannot be idmapped must not fail it.
    int tree = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, source_.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (tree < 0) {
      int err = errno;
      ::close(userns_fd);
      return Fail("open_tree " + source_, err);
    }
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP | (read_only_ ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    attr.userns_fd = static_cast<uint64_t>(userns_fd);
    int err = 0;
    std::string step;
    if (::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
      err = errno;
      step = "mount_setattr idmap " + source_;
    } else if (::syscall(SYS_move_mount, tree, "", AT_FDCWD, target_.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
      err = errno;
      step = "move_mount " + source_ + " to " + target_;
    }
    ::close(tree);
    ::close(userns_fd);
    if (err != 0) Fail(step, err);
  }

 private:
  std::string source_, target_, userns_path_, uid_map_, gid_map_;
  bool read_only_;
};

/** idmapMount(source, target, userns: string | {uids, gids}, readOnly?: boolean): Promise<void> */
Napi::Value IdmapMount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = RequireNonEmptyString(info, 0, "idmapMount", "source");
  std::string target = RequireNonEmptyString(info, 1, "idmapMount", "target");
  std::string userns_path, uid_map, gid_map;
  if (info.Length() > 2 && info[2].IsString()) {
    userns_path = RequireNonEmptyString(info, 2, "idmapMount", "userns");
  } else if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object maps = info[2].As<Napi::Object>();
    uid_map = ParseIdMappings(env, maps.Get("uids"), "idmapMount", "userns.uids");
    gid_map = ParseIdMappings(env, maps.Get("gids"), "idmapMount", "userns.gids");
  } else {
    throw Napi::TypeError::New(env, "idmapMount: userns must be a namespace file path or {uids, gids}");
  }
  bool read_only = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  return (new IdmapMountWorker(env, source, target, userns_path, uid_map, gid_map, read_only))->Start();
}

}  // namespace

void InitIdmapOps(Napi::Env env, Napi::Object exports) {
  exports.Set("idmapMount", Napi::Function::New(env, IdmapMount, "idmapMount"));
}

}  // namespace berth
