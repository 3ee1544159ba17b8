#include "pause-launcher.h"

#include "pause-steps.h"

#include "device-filter.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace berth {
namespace {

enum MessageKind : int { kMessagePid = 1, kMessageError = 2 };

struct Message {
  int kind;
  int step;
  int index;
  int value;  // pid or errno
};

/** Read-only view of the plan as C pointers, shared with the children (CLONE_VM). */
struct ChildContext {
  const char* executable;
  char* const* argv;
  char* const* envp;
  int namespace_flags;
  const char* hostname;  // nullptr: keep
  size_t hostname_length;
  const char* const* sysctl_paths;
  const char* const* sysctl_values;
  size_t sysctl_count;
  const char* const* cgroup_procs;
  size_t cgroup_count;
  const char* log_file;
  uid_t uid;
  gid_t gid;
  int last_cap;
  int pipe_fd;
  int ready_fd;  // write end of the readiness pipe, becomes fd 3 in pause
  // User namespace (uid_map empty: none). Pause waits on sync_read_fd until the intermediate has
  // written its maps: before that it has no mapped ids and nothing it creates could be owned.
  const char* uid_map;
  size_t uid_map_length;
  const char* gid_map;
  size_t gid_map_length;
  int sync_read_fd;
  int sync_write_fd;
  int netns_fd;  // -1: none to join
  char* pause_stack_top;
};

constexpr size_t kStackSize = 256 * 1024;
/**
 * Where pause's empty root is mounted before pivot_root: any directory every host has works, as
 * the mount happens in pause's own (private) mount namespace and becomes its root at once.
 */
/** Pause's root: empty, read-only, one inode, nothing executable or special on it. */
constexpr const char* kRootMountOptions = "size=4k,nr_inodes=1,mode=0555";
constexpr int kReadyFd = 3;
/** How long pause may take from exec to installing its signal handlers. */
constexpr int kReadyTimeoutMs = 10000;

void WriteMessage(int fd, const Message& message) {
  const char* bytes = reinterpret_cast<const char*>(&message);
  size_t done = 0;
  while (done < sizeof message) {
    ssize_t n = ::write(fd, bytes + done, sizeof message - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void FailChild(const ChildContext* ctx, int step, int index, int err) {
  WriteMessage(ctx->pipe_fd, Message{kMessageError, step, index, err});
  _exit(127);
}

/** Writes `value` to `path` in one write(2); returns 0 or an errno. */
int WriteFile(const char* path, const char* value, size_t length) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n;
  do n = ::write(fd, value, length); while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : (static_cast<size_t>(n) != length ? EIO : 0);
  ::close(fd);
  return err;
}

/** The pause child: PID 1 of its pid namespace when one was requested. Async-signal-safe only. */
int PauseMain(void* arg) {
  const ChildContext* ctx = static_cast<const ChildContext*>(arg);
  // Handlers were inherited from Node (copied, not shared): reset them before unblocking signals.
  struct sigaction default_action;
  std::memset(&default_action, 0, sizeof default_action);
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) ::sigaction(sig, &default_action, nullptr);

  if (ctx->sync_read_fd >= 0) {
    // Our copy of the write end must go, or a dead intermediate would leave us waiting forever.
    ::close(ctx->sync_write_fd);
    char byte = 0;
    ssize_t n;
    do n = ::read(ctx->sync_read_fd, &byte, 1); while (n < 0 && errno == EINTR);
    // No byte: the intermediate failed to write the maps and already reported why.
    if (n != 1) _exit(127);
    ::close(ctx->sync_read_fd);
    // From here pause is root of its user namespace with every capability there (none on the
    // host); its credentials still name host root (kuid 0) until the setresuid below, which is
    // what lets it open its log file and join its cgroup on the host as before.
  }

  // First, so the sysctls below and everything after land in the pod's network namespace.
  if (ctx->netns_fd >= 0 && ::setns(ctx->netns_fd, CLONE_NEWNET) != 0) FailChild(ctx, kStepJoinNetns, 0, errno);
  if (::setsid() < 0) FailChild(ctx, kStepSetsid, 0, errno);
  if (::chdir("/") != 0) FailChild(ctx, kStepChdir, 0, errno);
  if (ctx->hostname != nullptr && ::sethostname(ctx->hostname, ctx->hostname_length) != 0) {
    FailChild(ctx, kStepHostname, 0, errno);
  }
  // Opened before the cgroup join: pause's cgroup denies every device (/dev/null included).
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) FailChild(ctx, kStepStdin, 0, errno);
  int out_fd = ::open(ctx->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (out_fd < 0) FailChild(ctx, kStepLog, 0, errno);
  // "0" moves the writing process itself (cgroup v1 and v2).
  for (size_t i = 0; i < ctx->cgroup_count; i++) {
    int err = WriteFile(ctx->cgroup_procs[i], "0", 1);
    if (err != 0) FailChild(ctx, kStepCgroup, static_cast<int>(i), err);
  }
  if (ctx->sync_read_fd >= 0) {
    // Done with the host's files: become root of the user namespace (host id: the pod's base).
    // The ipc sysctls are writable by that root only, not by holders of capabilities there.
    if (::syscall(SYS_setresgid, 0, 0, 0) != 0) FailChild(ctx, kStepSetgid, 0, errno);
    if (::syscall(SYS_setresuid, 0, 0, 0) != 0) FailChild(ctx, kStepSetuid, 0, errno);
  }
  // /proc/sys/net/* and /proc/sys/kernel/{shm,msg,sem}* resolve against the writer's namespaces.
  for (size_t i = 0; i < ctx->sysctl_count; i++) {
    int err = WriteFile(ctx->sysctl_paths[i], ctx->sysctl_values[i], std::strlen(ctx->sysctl_values[i]));
    if (err != 0) FailChild(ctx, kStepSysctl, static_cast<int>(i), err);
  }
  if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) FailChild(ctx, kStepDup, 0, errno);
  // Everything else Node had open (sockets, the event loop's fds) must not reach pause.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 65536; fd++) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  // The readiness pipe is the one fd pause inherits (as fd 3, see BERTH_PAUSE_READY_FD).
  if (ctx->ready_fd == kReadyFd) {
    if (::fcntl(kReadyFd, F_SETFD, 0) != 0) FailChild(ctx, kStepCloseFds, 0, errno);
  } else if (::dup2(ctx->ready_fd, kReadyFd) < 0) {
    FailChild(ctx, kStepCloseFds, 0, errno);
  }

  // The host's filesystem disappears below; exec goes through this fd (close-on-exec, so pause
  // does not keep it). Opened after fd 3 is taken, so it never lands there.
  int exe_fd = ::open(ctx->executable, O_PATH | O_CLOEXEC);
  if (exe_fd < 0) FailChild(ctx, kStepOpenExecutable, 0, errno);
  // Own mount namespace (CLONE_NEWNS) whose root is an empty read-only tmpfs: a container sharing
  // the pod's pid namespace finds nothing of the host behind /proc/1/root or /proc/1/cwd.
  // Private first, so neither the tmpfs nor the detach below propagates back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) FailChild(ctx, kStepMountPrivate, 0, errno);
  if (::mount("berth-pause", kRootMountPoint, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, kRootMountOptions) != 0) {
    FailChild(ctx, kStepMountRoot, 0, errno);
  }
  // pivot_root(".", ".") stacks the old root on the new one; detaching "." then drops it (and
  // every host mount below it) without needing a put-old directory on a read-only root.
  if (::chdir(kRootMountPoint) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0) FailChild(ctx, kStepPivotRoot, 0, errno);
  if (::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0) FailChild(ctx, kStepUnmountOldRoot, 0, errno);

  for (int cap = 0; cap <= ctx->last_cap; cap++) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) FailChild(ctx, kStepCapBoundingSet, cap, errno);
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    FailChild(ctx, kStepAmbient, 0, errno);
  }
  // Raw syscalls: glibc's set*id would try to sync threads this child does not have.
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) FailChild(ctx, kStepSetgroups, 0, errno);
  if (::syscall(SYS_setresgid, ctx->gid, ctx->gid, ctx->gid) != 0) FailChild(ctx, kStepSetgid, 0, errno);
  if (::syscall(SYS_setresuid, ctx->uid, ctx->uid, ctx->uid) != 0) FailChild(ctx, kStepSetuid, 0, errno);
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  std::memset(data, 0, sizeof data);
  if (::syscall(SYS_capset, &header, data) != 0) FailChild(ctx, kStepCapset, 0, errno);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) FailChild(ctx, kStepNoNewPrivs, 0, errno);

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::syscall(SYS_execveat, exe_fd, "", ctx->argv, ctx->envp, AT_EMPTY_PATH);
  FailChild(ctx, kStepExec, 0, errno);
}

/** "/proc/<pid>/<leaf>" into `out` (at least 64 bytes) without allocating. */
void ProcPath(char* out, pid_t pid, const char* leaf) {
  char digits[16];
  int n = 0;
  unsigned value = static_cast<unsigned>(pid);
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && n < 15);
  size_t at = 0;
  for (const char* p = "/proc/"; *p; p++) out[at++] = *p;
  while (n > 0) out[at++] = digits[--n];
  out[at++] = '/';
  for (const char* p = leaf; *p && at < 63; p++) out[at++] = *p;
  out[at] = '\0';
}

/**
 * Writes pause's uid and gid maps (the intermediate is still host root, so any range is allowed
 * and /proc/<pid>/setgroups may stay "allow": containers joining this namespace need setgroups
 * for their supplementary groups, and the ids they can name are the pod's own).
 * Returns 0, or the step that failed with its errno in `*err`.
 */
int WriteIdMaps(const ChildContext* ctx, pid_t pid, int* err) {
  char path[64];
  ProcPath(path, pid, "uid_map");
  if ((*err = WriteFile(path, ctx->uid_map, ctx->uid_map_length)) != 0) return kStepUidMap;
  ProcPath(path, pid, "gid_map");
  if ((*err = WriteFile(path, ctx->gid_map, ctx->gid_map_length)) != 0) return kStepGidMap;
  return 0;
}

/** The intermediate: clones pause (suspended until pause execs or dies), reports its pid, exits. */
int IntermediateMain(void* arg) {
  const ChildContext* ctx = static_cast<const ChildContext*>(arg);
  if (ctx->uid_map_length > 0) {
    // A user namespace needs its maps written from outside after the clone, so pause cannot be
    // vforked: it waits on the sync pipe instead. Until that byte arrives pause only sits in
    // read(2), so the shared memory (and errno) is this process's alone.
    int flags = ctx->namespace_flags | CLONE_NEWUSER | CLONE_NEWNS | CLONE_VM | SIGCHLD;
    pid_t pid = ::clone(PauseMain, ctx->pause_stack_top, flags, arg);
    if (pid < 0) {
      WriteMessage(ctx->pipe_fd, Message{kMessageError, kStepClone, 0, errno});
      _exit(0);
    }
    int err = 0;
    int step = WriteIdMaps(ctx, pid, &err);
    if (step != 0) {
      ::kill(pid, SIGKILL);
      WriteMessage(ctx->pipe_fd, Message{kMessageError, step, 0, err});
      _exit(0);
    }
    WriteMessage(ctx->pipe_fd, Message{kMessagePid, 0, 0, pid});
    char go = 1;
    if (::write(ctx->sync_write_fd, &go, 1) != 1) {
      ::kill(pid, SIGKILL);
      WriteMessage(ctx->pipe_fd, Message{kMessageError, kStepWaitForMaps, 0, EPIPE});
    }
    _exit(0);
  }
  int flags = ctx->namespace_flags | CLONE_NEWNS | CLONE_VM | CLONE_VFORK | SIGCHLD;
  pid_t pid = ::clone(PauseMain, ctx->pause_stack_top, flags, arg);
  if (pid < 0) {
    WriteMessage(ctx->pipe_fd, Message{kMessageError, kStepClone, 0, errno});
  } else {
    WriteMessage(ctx->pipe_fd, Message{kMessagePid, 0, 0, pid});
  }
  _exit(0);
}

int ReadLastCap() {
  int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 63;
  char buffer[16] = {0};
  ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  int value = n > 0 ? std::atoi(buffer) : 0;
  return value > 0 ? value : 63;
}

/** Waits for pause's readiness byte (its signal handlers are installed once it arrives). */
void WaitUntilReady(int ready_read_fd, LaunchOutcome* outcome) {
  pollfd waiting{ready_read_fd, POLLIN, 0};
  int ready;
  do ready = ::poll(&waiting, 1, kReadyTimeoutMs); while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    outcome->error = ETIMEDOUT;
    outcome->failed_step = "wait for pause to become ready";
    return;
  }
  char byte = 0;
  ssize_t n;
  do n = ::read(ready_read_fd, &byte, 1); while (n < 0 && errno == EINTR);
  if (n != 1) {
    // EOF: pause exited (or is not berth's pause) before reporting readiness.
    outcome->error = n < 0 ? errno : ECHILD;
    outcome->failed_step = "wait for pause to become ready (it exited)";
  }
}

}  // namespace

LaunchOutcome LaunchPause(const PausePlan& plan) {
  LaunchOutcome outcome;
  // Before pause joins these cgroups (it opened its stdio already when it does).
  for (const auto& dir : plan.device_deny_cgroups) {
    int err = AttachDenyAllDeviceFilter(dir.c_str());
    if (err != 0) {
      outcome.error = err;
      outcome.failed_step = "attach a deny-all device filter to " + dir;
      return outcome;
    }
  }
  int netns_fd = -1;
  if (!plan.netns_path.empty()) {
    netns_fd = ::open(plan.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) {
      outcome.error = errno;
      outcome.failed_step = "open network namespace " + plan.netns_path;
      return outcome;
    }
  }
  // Closed on every return below (the children got their copy at clone; close-on-exec in pause).
  struct FdCloser {
    int fd;
    ~FdCloser() {
      if (fd >= 0) ::close(fd);
    }
  } netns_closer{netns_fd};
  std::vector<const char*> sysctl_paths, sysctl_values, cgroups;
  for (const auto& s : plan.sysctl_paths) sysctl_paths.push_back(s.c_str());
  for (const auto& s : plan.sysctl_values) sysctl_values.push_back(s.c_str());
  for (const auto& s : plan.cgroup_procs) cgroups.push_back(s.c_str());
  // Exec goes through an fd: argv[0] need not (and, readable by the pod's containers through
  // /proc/1/cmdline, should not) name the host path of the binary.
  char pause_name[] = "pause";
  char* argv[] = {pause_name, nullptr};
  char path_env[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char ready_env[] = "BERTH_PAUSE_READY_FD=3";
  char* envp[] = {path_env, ready_env, nullptr};

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    outcome.error = errno;
    outcome.failed_step = "create status pipe";
    return outcome;
  }
  if (pipe_fds[1] == kReadyFd) {
    // fd 3 is reserved for the readiness pipe in pause; keep the status pipe elsewhere.
    int moved = ::fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, kReadyFd + 1);
    ::close(pipe_fds[1]);
    pipe_fds[1] = moved;
    if (moved < 0) {
      outcome.error = errno;
      outcome.failed_step = "create status pipe";
      ::close(pipe_fds[0]);
      return outcome;
    }
  }
  int ready_fds[2];
  if (::pipe2(ready_fds, O_CLOEXEC) != 0) {
    outcome.error = errno;
    outcome.failed_step = "create readiness pipe";
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return outcome;
  }
  int sync_fds[2] = {-1, -1};
  if (!plan.uid_map.empty() && ::pipe2(sync_fds, O_CLOEXEC) != 0) {
    outcome.error = errno;
    outcome.failed_step = "create user namespace sync pipe";
    for (int fd : {pipe_fds[0], pipe_fds[1], ready_fds[0], ready_fds[1]}) ::close(fd);
    return outcome;
  }
  auto close_sync = [&]() {
    for (int fd : sync_fds) {
      if (fd >= 0) ::close(fd);
    }
  };
  void* stacks = ::mmap(nullptr, 2 * kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stacks == MAP_FAILED) {
    outcome.error = errno;
    outcome.failed_step = "allocate clone stacks";
    for (int fd : {pipe_fds[0], pipe_fds[1], ready_fds[0], ready_fds[1]}) ::close(fd);
    close_sync();
    return outcome;
  }
  char* stack_base = static_cast<char*>(stacks);
  ChildContext ctx{};
  ctx.executable = plan.executable.c_str();
  ctx.argv = argv;
  ctx.envp = envp;
  ctx.namespace_flags = plan.namespace_flags;
  ctx.hostname = plan.set_hostname ? plan.hostname.c_str() : nullptr;
  ctx.hostname_length = plan.hostname.size();
  ctx.sysctl_paths = sysctl_paths.data();
  ctx.sysctl_values = sysctl_values.data();
  ctx.sysctl_count = sysctl_paths.size();
  ctx.cgroup_procs = cgroups.data();
  ctx.cgroup_count = cgroups.size();
  ctx.log_file = plan.log_file.empty() ? "/dev/null" : plan.log_file.c_str();
  ctx.uid = plan.uid;
  ctx.gid = plan.gid;
  ctx.last_cap = ReadLastCap();
  ctx.pipe_fd = pipe_fds[1];
  ctx.ready_fd = ready_fds[1];
  ctx.pause_stack_top = stack_base + 2 * kStackSize;  // stacks grow down
  ctx.uid_map = plan.uid_map.c_str();
  ctx.uid_map_length = plan.uid_map.size();
  ctx.gid_map = plan.gid_map.c_str();
  ctx.gid_map_length = plan.gid_map.size();
  ctx.sync_read_fd = sync_fds[0];
  ctx.sync_write_fd = sync_fds[1];
  ctx.netns_fd = netns_fd;

  // No Node signal handler may run on the children's (shared) memory: block all until exec.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  pid_t intermediate = ::clone(IntermediateMain, stack_base + kStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &ctx);
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::close(pipe_fds[1]);
  ::close(ready_fds[1]);
  close_sync();

  if (intermediate < 0) {
    outcome.error = clone_errno;
    outcome.failed_step = "clone intermediate process";
  } else {
    int status;
    while (::waitpid(intermediate, &status, __WALL) < 0 && errno == EINTR) {
    }
    Message message;
    bool got_pid = false;
    for (;;) {
      ssize_t n = ::read(pipe_fds[0], &message, sizeof message);
      if (n < 0 && errno == EINTR) continue;
      if (n != static_cast<ssize_t>(sizeof message)) break;
      if (message.kind == kMessagePid) {
        outcome.pid = message.value;
        got_pid = true;
      } else if (message.kind == kMessageError && outcome.error == 0) {
        outcome.error = message.value;
        outcome.failed_step = DescribeStep(plan, message.step, message.index);
      }
    }
    if (!got_pid && outcome.error == 0) {
      outcome.error = EIO;
      outcome.failed_step = "receive pause pid from intermediate process";
    }
    if (outcome.error == 0) WaitUntilReady(ready_fds[0], &outcome);
  }
  ::close(pipe_fds[0]);
  ::close(ready_fds[0]);
  ::munmap(stacks, 2 * kStackSize);
  return outcome;
}

}  // namespace berth
