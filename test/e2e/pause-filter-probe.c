/*
 * Test probe for pause's seccomp filter (built by native-pause.test.ts with gcc): pause.c's
 * install_seccomp() with readiness fd 3, then syscalls inside and outside the allow-list, each
 * printed as result/errno on fd 3, and last a syscall of a foreign ABI (i386 int 0x80 on x86_64).
 */
#define main pause_main
#include "../../native/pause.c"
#undef main
#include <fcntl.h>

static void report(const char *name, long result) {
  char line[64];
  int n = snprintf(line, sizeof line, "%s=%ld/%d\n", name, result, result < 0 ? errno : 0);
  syscall(SYS_write, 3, line, n);
}

int main(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || install_seccomp(3) != 0) return 90;
  report("getpid", syscall(SYS_getpid));
  report("openat", syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY));
  report("dup", syscall(SYS_dup, 3));
  report("write-stdout", syscall(SYS_write, 1, "x", 1));
  report("wait4", syscall(SYS_wait4, -1, NULL, WNOHANG, NULL));
  report("rt_sigprocmask", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, NULL, 8));
#if defined(__x86_64__)
  long result;
  __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory"); /* i386 getpid */
  report("i386-getpid", result);
#endif
  syscall(SYS_exit_group, 0);
}
