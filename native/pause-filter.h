/*
 * The seccomp filter pause runs under once it is set up (shared by pause.c and its libFuzzer
 * harness, native/fuzz/pause-filter.cc, which checks every verdict against the rule below):
 *
 *   foreign architecture                          -> kill the process
 *   a syscall of pause_allowed_syscalls           -> allow
 *   write/close on the readiness fd (if >= 0)     -> allow
 *   anything else                                 -> EPERM
 *
 * Classic BPF jumps are relative offsets counted by hand; the harness proves them.
 */
#ifndef BERTH_PAUSE_FILTER_H
#define BERTH_PAUSE_FILTER_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define PAUSE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define PAUSE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "pause: no seccomp architecture for this target"
#endif

/* What pause may still do once set up: wait for signals, run its handlers, reap, exit. */
static const int pause_allowed_syscalls[] = {
    SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_restart_syscall,
#ifdef SYS_pause
    SYS_pause, /* glibc's pause() on x86_64 */
#endif
    SYS_ppoll,  SYS_rt_sigsuspend,  /* glibc's pause() where there is no pause syscall */
    SYS_wait4,  SYS_waitid,         SYS_exit, SYS_exit_group,
};

#define PAUSE_ALLOWED_COUNT (sizeof pause_allowed_syscalls / sizeof pause_allowed_syscalls[0])
/* arch check (3) + nr load (1) + allow-list + fd rule (5) + deny + allow. */
#define PAUSE_FILTER_MAX (4 + PAUSE_ALLOWED_COUNT + 5 + 2)

static void pause_filter_set(struct sock_filter *f, unsigned short code, unsigned char jt, unsigned char jf, unsigned int k) {
  f->code = code;
  f->jt = jt;
  f->jf = jf;
  f->k = k;
}

/* Writes the filter into `filter` (PAUSE_FILTER_MAX entries); returns its length. */
static unsigned short pause_filter_build(struct sock_filter *filter, int ready_fd) {
  unsigned short n = 0;
  pause_filter_set(&filter[n++], BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
  pause_filter_set(&filter[n++], BPF_JMP | BPF_JEQ | BPF_K, 1, 0, PAUSE_AUDIT_ARCH);
  pause_filter_set(&filter[n++], BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
  pause_filter_set(&filter[n++], BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
  /* Jump targets are relative: count what follows each instruction up to the final ALLOW. */
  unsigned short fd_rule = ready_fd >= 0 ? 5 : 0;
  unsigned short allow = (unsigned short)(n + PAUSE_ALLOWED_COUNT + fd_rule + 1); /* index of RET ALLOW */
  for (size_t i = 0; i < PAUSE_ALLOWED_COUNT; i++, n++) {
    pause_filter_set(&filter[n], BPF_JMP | BPF_JEQ | BPF_K, (unsigned char)(allow - n - 1), 0, (unsigned)pause_allowed_syscalls[i]);
  }
  if (ready_fd >= 0) {
    pause_filter_set(&filter[n++], BPF_JMP | BPF_JEQ | BPF_K, 1, 0, SYS_write);
    pause_filter_set(&filter[n++], BPF_JMP | BPF_JEQ | BPF_K, 0, 2, SYS_close);
    /* fd arguments are 32-bit: the low word of args[0] (little-endian on both targets). */
    pause_filter_set(&filter[n++], BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, args[0]));
    pause_filter_set(&filter[n++], BPF_JMP | BPF_JEQ | BPF_K, 2, 0, (unsigned)ready_fd);
    pause_filter_set(&filter[n++], BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | EPERM);
  }
  pause_filter_set(&filter[n++], BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | EPERM);
  pause_filter_set(&filter[n++], BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
  return n;
}

#endif
