// execInContainer: starting an ExecSync process inside a running container
// as `runc exec` would (its namespaces, cgroups, ids, capabilities, rlimits, no_new_privs and the
// very seccomp filters its init runs under), without runc's Go start-up and libseccomp compile.
//
// Launch (from a pool worker, like startPause): the worker clones an intermediate with
// CLONE_VM|CLONE_VFORK that joins the cgroups, sets oom_score_adj and rlimits from the host side
// (as runc's parent does), then joins the init's namespaces (user first, mnt last) and clones the
// exec'd process with CLONE_PARENT, so it lands in the container's pid namespace as berthd's own
// child. Children share berthd's memory until execve: they use raw syscalls only (glibc's set*id
// would signal berthd's threads), and report their pid or failing step in the shared context.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "ops.h"
#include "promise-worker.h"

namespace berth {
namespace {

constexpr size_t kStackSize = 256 * 1024;
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct Rlimit {
  int resource;
  struct rlimit value;
};

/** Everything the children need, prepared before the clone (they allocate nothing). */
struct ExecPlan {
  int init_pid = 0;
  std::vector<std::string> cgroup_procs;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<std::string> candidates;  // execve paths tried in order (PATH lookup done here)
  std::string cwd;
  uint32_t uid = 0, gid = 0;
  std::vector<gid_t> groups;
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
  bool no_new_privs = false;
  std::vector<Rlimit> rlimits;
  bool set_oom = false;
  std::string oom_score_adj;
  std::vector<std::vector<sock_filter>> filters;  // oldest first
};

/** Shared between the worker and its CLONE_VM children. */
struct ExecContext {
  const ExecPlan* plan;
  int ns_fds[8];
  int ns_count;
  int cgroup_fds[32];
  int cgroup_count;
  int null_fd, out_fd, err_fd;
  int last_cap;
  char* const* argv;
  char* const* envp;
  const char* const* candidates;
  size_t candidate_count;
  const sock_fprog* progs;
  size_t prog_count;
  char* exec_stack_top;
  volatile pid_t pid;
  volatile int error;
  const char* volatile step;
};

long Sys(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) { return ::syscall(nr, a, b, c, d, e); }

int Failed(ExecContext* ctx, const char* step) {
  ctx->error = errno ? errno : EIO;
  ctx->step = step;
  return 1;
}

bool CapSet(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2];
  data[0] = {static_cast<uint32_t>(effective), static_cast<uint32_t>(permitted), static_cast<uint32_t>(inheritable)};
  data[1] = {static_cast<uint32_t>(effective >> 32), static_cast<uint32_t>(permitted >> 32), static_cast<uint32_t>(inheritable >> 32)};
  return Sys(SYS_capset, reinterpret_cast<long>(&header), reinterpret_cast<long>(data)) == 0;
}

bool InstallFilters(const ExecContext* ctx) {
  for (size_t i = 0; i < ctx->prog_count; i++) {
    if (Sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, reinterpret_cast<long>(&ctx->progs[i])) != 0) return false;
  }
  return true;
}

/** The exec'd process, in the container's namespaces: runc's setns init, then execve. */
int ExecMain(void* arg) {
  auto* ctx = static_cast<ExecContext*>(arg);
  const ExecPlan& p = *ctx->plan;
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for glibc's reserved signals
  }
  if (::dup2(ctx->null_fd, 0) < 0 || ::dup2(ctx->out_fd, 1) < 0 || ::dup2(ctx->err_fd, 2) < 0) return Failed(ctx, "set up stdio");
  if (Sys(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) return Failed(ctx, "close other fds");
  if (::setsid() < 0) return Failed(ctx, "setsid");
  if (p.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Failed(ctx, "set no_new_privs");
  // Without no_new_privs installing a filter needs CAP_SYS_ADMIN: before the drop, as runc does.
  if (!p.no_new_privs && !InstallFilters(ctx)) return Failed(ctx, "install seccomp filters");
  bool in_cwd = ::chdir(p.cwd.c_str()) == 0;
  for (int cap = 0; cap <= ctx->last_cap; cap++) {
    if (!(p.bounding & (1ULL << cap)) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return Failed(ctx, "drop bounding capabilities");
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return Failed(ctx, "keep capabilities");
  if (Sys(SYS_setgroups, static_cast<long>(p.groups.size()), reinterpret_cast<long>(p.groups.data())) != 0) return Failed(ctx, "setgroups");
  if (Sys(SYS_setresgid, p.gid, p.gid, p.gid) != 0) return Failed(ctx, "setresgid");
  if (Sys(SYS_setresuid, p.uid, p.uid, p.uid) != 0) return Failed(ctx, "setresuid");
  if (!in_cwd && ::chdir(p.cwd.c_str()) != 0) return Failed(ctx, "chdir to cwd");
  if (!CapSet(p.effective, p.permitted, p.inheritable)) return Failed(ctx, "capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return Failed(ctx, "clear ambient capabilities");
  for (int cap = 0; cap <= ctx->last_cap; cap++) {
    if ((p.ambient & (1ULL << cap)) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return Failed(ctx, "raise ambient capabilities");
  }
  if (p.no_new_privs && !InstallFilters(ctx)) return Failed(ctx, "install seccomp filters");
  sigset_t none;
  sigemptyset(&none);
  Sys(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&none), 0, _NSIG / 8);
  int exec_error = ENOENT;
  for (size_t i = 0; i < ctx->candidate_count; i++) {
    Sys(SYS_execve, reinterpret_cast<long>(ctx->candidates[i]), reinterpret_cast<long>(ctx->argv), reinterpret_cast<long>(ctx->envp));
    // like execvp: a missing candidate lets the next one be tried; any other error is remembered
    if (errno != ENOENT && errno != ENOTDIR) exec_error = errno;
  }
  errno = exec_error;
  return Failed(ctx, "execve");
}

/** The intermediate: host-side steps, namespaces, then the exec'd process as berthd's child. */
int IntermediateMain(void* arg) {
  auto* ctx = static_cast<ExecContext*>(arg);
  for (int i = 0; i < ctx->cgroup_count; i++) {
    if (::write(ctx->cgroup_fds[i], "0", 1) != 1) return Failed(ctx, "join the container's cgroup");
  }
  const ExecPlan& p = *ctx->plan;
  if (p.set_oom) {
    // opened here: a /proc/self file opened by the worker would be berthd's own
    int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Failed(ctx, "open oom_score_adj");
    ssize_t n = ::write(fd, p.oom_score_adj.data(), p.oom_score_adj.size());
    ::close(fd);
    if (n < 0) return Failed(ctx, "set oom_score_adj");
  }
  for (const Rlimit& r : p.rlimits) {
    if (Sys(SYS_prlimit64, 0, r.resource, reinterpret_cast<long>(&r.value), 0) != 0) return Failed(ctx, "set rlimits");
  }
  for (int i = 0; i < ctx->ns_count; i++) {
    if (::setns(ctx->ns_fds[i], 0) != 0) return Failed(ctx, "join the container's namespaces");
  }
  pid_t pid = ::clone(ExecMain, ctx->exec_stack_top, CLONE_VM | CLONE_VFORK | CLONE_PARENT, ctx);
  if (pid < 0) return Failed(ctx, "clone the exec'd process");
  ctx->pid = pid;
  return 0;
}

int ReadLastCap() {
  int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return CAP_LAST_CAP;
  char buf[16] = {0};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return n > 0 ? std::atoi(buf) : CAP_LAST_CAP;
}

/** Closes every fd in the list when it goes out of scope. */
struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds) ::close(fd);
  }
  int Add(int fd) {
    if (fd >= 0) fds.push_back(fd);
    return fd;
  }
};

struct ExecOutcome {
  pid_t pid = 0;
  int out_fd = -1, err_fd = -1;
};

class ExecWorker : public PromiseWorker {
 public:
  ExecWorker(Napi::Env env, ExecPlan plan) : PromiseWorker(env, "berth:execInContainer"), plan_(std::move(plan)) {}

  void Execute() override {
    std::string failed;
    int err = Launch(&failed);
    if (err != 0) Fail("execInContainer: " + failed, err);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("pid", outcome_.pid);
    out.Set("stdoutFd", outcome_.out_fd);
    out.Set("stderrFd", outcome_.err_fd);
    return out;
  }

 private:
  int Launch(std::string* failed) {
    Fds fds;
    ExecContext ctx{};
    ctx.plan = &plan_;
    // Every namespace of the init that is not already ours; user first (it owns the others), mnt last.
    static const char* const kOrder[] = {"user", "cgroup", "ipc", "uts", "net", "pid", "mnt"};
    for (const char* kind : kOrder) {
      std::string mine = std::string("/proc/self/ns/") + kind;
      std::string theirs = "/proc/" + std::to_string(plan_.init_pid) + "/ns/" + kind;
      struct stat a {}, b {};
      if (::stat(theirs.c_str(), &b) != 0) {
        *failed = "open " + theirs;
        return errno;
      }
      if (::stat(mine.c_str(), &a) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) continue;
      int fd = fds.Add(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd < 0) {
        *failed = "open " + theirs;
        return errno;
      }
      ctx.ns_fds[ctx.ns_count++] = fd;
    }
    if (plan_.cgroup_procs.size() > 32) {
      *failed = "too many cgroups";
      return E2BIG;
    }
    for (const std::string& procs : plan_.cgroup_procs) {
      int fd = fds.Add(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
      if (fd < 0) {
        *failed = "open " + procs;
        return errno;
      }
      ctx.cgroup_fds[ctx.cgroup_count++] = fd;
    }
    ctx.null_fd = fds.Add(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (ctx.null_fd < 0) {
      *failed = "open /dev/null";
      return errno;
    }
    int out[2], errp[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      *failed = "create stdout pipe";
      return errno;
    }
    fds.Add(out[1]);
    if (::pipe2(errp, O_CLOEXEC) != 0) {
      ::close(out[0]);
      *failed = "create stderr pipe";
      return errno;
    }
    fds.Add(errp[1]);
    // The children's fds 0-2 are dup2 targets: keep every source above them.
    for (int* fd : {&ctx.null_fd, &out[1], &errp[1]}) {
      if (*fd <= 2) *fd = fds.Add(::fcntl(*fd, F_DUPFD_CLOEXEC, 3));
    }
    ctx.out_fd = out[1];
    ctx.err_fd = errp[1];
    ctx.last_cap = ReadLastCap();

    std::vector<char*> argv, envp;
    for (auto& a : plan_.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : plan_.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    std::vector<const char*> candidates;
    for (auto& c : plan_.candidates) candidates.push_back(c.c_str());
    std::vector<sock_fprog> progs;
    for (auto& f : plan_.filters) progs.push_back(sock_fprog{static_cast<unsigned short>(f.size()), f.data()});
    ctx.argv = argv.data();
    ctx.envp = envp.data();
    ctx.candidates = candidates.data();
    ctx.candidate_count = candidates.size();
    ctx.progs = progs.data();
    ctx.prog_count = progs.size();

    void* stacks = ::mmap(nullptr, 2 * kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stacks == MAP_FAILED) {
      ::close(out[0]);
      ::close(errp[0]);
      *failed = "allocate clone stacks";
      return errno;
    }
    char* base = static_cast<char*>(stacks);
    ctx.exec_stack_top = base + 2 * kStackSize;
    // Until it execs, the exec'd process shares berthd's memory while being visible in the
    // container's pid namespace. Non-dumpable memory can be ptraced or opened through /proc/<pid>/mem
    // only with CAP_SYS_PTRACE in the host user namespace (the caller sends containers that may hold
    // it to runc). The flag belongs to the memory, so it is berthd's too (no core dumps of berthd).
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
      ::munmap(stacks, 2 * kStackSize);
      ::close(out[0]);
      ::close(errp[0]);
      *failed = "make berthd's memory non-dumpable";
      return errno;
    }
    // No Node signal handler may run on the children's (shared) memory: block all until exec.
    sigset_t all, previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t intermediate = ::clone(IntermediateMain, base + kStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &ctx);
    int clone_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    int result = 0;
    if (intermediate < 0) {
      *failed = "clone intermediate process";
      result = clone_errno;
    } else {
      int status;
      while (::waitpid(intermediate, &status, __WALL) < 0 && errno == EINTR) {
      }
      if (ctx.error != 0) {
        *failed = ctx.step;
        result = ctx.error;
        if (std::strcmp(ctx.step, "execve") == 0) *failed = "execve " + plan_.args[0];
      }
      if (result != 0 && ctx.pid > 0) {
        // the exec'd process failed before execve and has exited: reap it (it is our child)
        while (::waitpid(ctx.pid, &status, __WALL) < 0 && errno == EINTR) {
        }
      }
    }
    ::munmap(stacks, 2 * kStackSize);
    if (result != 0) {
      ::close(out[0]);
      ::close(errp[0]);
      return result;
    }
    outcome_.pid = ctx.pid;
    outcome_.out_fd = out[0];
    outcome_.err_fd = errp[0];
    return 0;
  }

  ExecPlan plan_;
  ExecOutcome outcome_;
};

std::vector<std::string> StringList(const Napi::Object& spec, const char* key) {
  Napi::Value v = spec.Get(key);
  if (!v.IsArray()) throw Napi::TypeError::New(spec.Env(), std::string("execInContainer: spec.") + key + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value item = a.Get(i);
    if (!item.IsString()) throw Napi::TypeError::New(spec.Env(), std::string("execInContainer: spec.") + key + " must be an array of strings");
    std::string s = item.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(spec.Env(), std::string("execInContainer: spec.") + key + " must not contain NUL bytes");
    out.push_back(std::move(s));
  }
  return out;
}

double Number(const Napi::Object& spec, const char* key, double min, double max) {
  Napi::Value v = spec.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(spec.Env(), std::string("execInContainer: spec.") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::TypeError::New(spec.Env(), std::string("execInContainer: spec.") + key + " is out of range");
  }
  return d;
}

/** A capability set given as a decimal string of its 64-bit mask. */
uint64_t CapMask(const Napi::Object& spec, const char* key) {
  Napi::Value v = spec.Get(key);
  if (!v.IsBigInt()) throw Napi::TypeError::New(spec.Env(), std::string("execInContainer: spec.") + key + " must be a bigint");
  bool lossless = false;
  uint64_t mask = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::TypeError::New(spec.Env(), std::string("execInContainer: spec.") + key + " is out of range");
  return mask;
}

/** execInContainer(spec): { pid, stdoutFd, stderrFd }. See the file comment and native/binding.ts. */
Napi::Value ExecInContainer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "execInContainer: spec must be an object");
  Napi::Object spec = info[0].As<Napi::Object>();
  ExecPlan plan;
  plan.init_pid = static_cast<int>(Number(spec, "initPid", 1, INT32_MAX));
  plan.cgroup_procs = StringList(spec, "cgroupProcs");
  plan.args = StringList(spec, "args");
  if (plan.args.empty()) throw Napi::TypeError::New(env, "execInContainer: spec.args must not be empty");
  plan.env = StringList(spec, "env");
  plan.candidates = StringList(spec, "candidates");
  Napi::Value cwd = spec.Get("cwd");
  if (!cwd.IsString()) throw Napi::TypeError::New(env, "execInContainer: spec.cwd must be a string");
  plan.cwd = cwd.As<Napi::String>().Utf8Value();
  plan.uid = static_cast<uint32_t>(Number(spec, "uid", 0, UINT32_MAX - 1));
  plan.gid = static_cast<uint32_t>(Number(spec, "gid", 0, UINT32_MAX - 1));
  Napi::Value groups = spec.Get("additionalGids");
  if (!groups.IsArray()) throw Napi::TypeError::New(env, "execInContainer: spec.additionalGids must be an array");
  for (uint32_t i = 0; i < groups.As<Napi::Array>().Length(); i++) {
    Napi::Value g = groups.As<Napi::Array>().Get(i);
    if (!g.IsNumber()) throw Napi::TypeError::New(env, "execInContainer: spec.additionalGids must be numbers");
    plan.groups.push_back(static_cast<gid_t>(g.As<Napi::Number>().Uint32Value()));
  }
  plan.bounding = CapMask(spec, "bounding");
  plan.effective = CapMask(spec, "effective");
  plan.permitted = CapMask(spec, "permitted");
  plan.inheritable = CapMask(spec, "inheritable");
  plan.ambient = CapMask(spec, "ambient");
  plan.no_new_privs = spec.Get("noNewPrivileges").ToBoolean().Value();
  Napi::Value rlimits = spec.Get("rlimits");
  if (!rlimits.IsArray()) throw Napi::TypeError::New(env, "execInContainer: spec.rlimits must be an array");
  for (uint32_t i = 0; i < rlimits.As<Napi::Array>().Length(); i++) {
    Napi::Value r = rlimits.As<Napi::Array>().Get(i);
    if (!r.IsObject()) throw Napi::TypeError::New(env, "execInContainer: spec.rlimits entries must be objects");
    Napi::Object o = r.As<Napi::Object>();
    Rlimit limit{};
    limit.resource = static_cast<int>(Number(o, "resource", 0, RLIM_NLIMITS - 1));
    limit.value.rlim_cur = CapMask(o, "soft");
    limit.value.rlim_max = CapMask(o, "hard");
    plan.rlimits.push_back(limit);
  }
  Napi::Value oom = spec.Get("oomScoreAdj");
  if (!oom.IsUndefined()) {
    plan.set_oom = true;
    plan.oom_score_adj = std::to_string(static_cast<int>(Number(spec, "oomScoreAdj", -1000, 1000)));
  }
  Napi::Value filters = spec.Get("seccompFilters");
  if (!filters.IsArray()) throw Napi::TypeError::New(env, "execInContainer: spec.seccompFilters must be an array of Buffers");
  for (uint32_t i = 0; i < filters.As<Napi::Array>().Length(); i++) {
    Napi::Value f = filters.As<Napi::Array>().Get(i);
    if (!f.IsBuffer()) throw Napi::TypeError::New(env, "execInContainer: spec.seccompFilters must be an array of Buffers");
    auto buf = f.As<Napi::Buffer<uint8_t>>();
    if (buf.Length() == 0 || buf.Length() % sizeof(sock_filter) != 0 || buf.Length() / sizeof(sock_filter) > BPF_MAXINSNS) {
      throw Napi::TypeError::New(env, "execInContainer: spec.seccompFilters entries must be whole BPF programs");
    }
    std::vector<sock_filter> prog(buf.Length() / sizeof(sock_filter));
    std::memcpy(prog.data(), buf.Data(), buf.Length());
    plan.filters.push_back(std::move(prog));
  }
  return (new ExecWorker(env, std::move(plan)))->Start();
}

}  // namespace

void InitContainerExec(Napi::Env env, Napi::Object exports) {
  exports.Set("execInContainer", Napi::Function::New(env, ExecInContainer, "execInContainer"));
}

}  // namespace berth
