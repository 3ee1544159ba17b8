/*
 * berth's pod pause process: holds the pod's namespaces open while doing nothing.
 * It may be PID 1 of the pod's PID namespace, so it reaps every child re-parented to it.
 * SIGTERM/SIGINT end it with status 0. `pause --version` prints its version.
 *
 * Containers of a pod that shares its PID namespace see pause as PID 1, so pause defends itself:
 * it is not dumpable (its /proc files belong to root; ptrace, /proc/1/{root,cwd,fd,environ,mem}
 * are refused even to the same uid), keeps no capability, and runs under a seccomp filter that
 * allows only what its loop and signal handlers use (anything else fails with EPERM, a foreign
 * architecture is killed).
 */
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pause-filter.h"

#define BERTH_PAUSE_VERSION "0.2.0"


static void on_terminate(int sig) {
  (void)sig;
  _exit(0); /* exit_group */
}

static void on_child(int sig) {
  (void)sig;
  /* Reap everything that has exited; never block (wait4). */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

/*
 * Installs the filter; `ready_fd` >= 0 also allows write and close on that one fd (the
 * readiness byte is written after the filter is in place, so berth never sees a pause without
 * it). Returns 0 or -1 with errno set.
 */
static int install_seccomp(int ready_fd) {
  struct sock_filter filter[PAUSE_FILTER_MAX];
  struct sock_fprog program = {.len = pause_filter_build(filter, ready_fd), .filter = filter};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
}

/* Empties every capability set still held (pause as uid 0 already has none after exec). */
static int drop_capabilities(void) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) return -1;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  return 0;
}

int main(int argc, char **argv) {
  /* exec made pause dumpable again: undo that before anything else. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    perror("pause: prctl(PR_SET_DUMPABLE)");
    return 1;
  }
  if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
    printf("berth-pause %s\n", BERTH_PAUSE_VERSION);
    return 0;
  }
  if (drop_capabilities() != 0) {
    perror("pause: drop capabilities");
    return 1;
  }
  /* Set by berth before exec already; seccomp without CAP_SYS_ADMIN needs it. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("pause: prctl(PR_SET_NO_NEW_PRIVS)");
    return 1;
  }
  struct sigaction terminate;
  memset(&terminate, 0, sizeof terminate);
  terminate.sa_handler = on_terminate;
  sigemptyset(&terminate.sa_mask);
  if (sigaction(SIGTERM, &terminate, NULL) != 0 || sigaction(SIGINT, &terminate, NULL) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  struct sigaction child;
  memset(&child, 0, sizeof child);
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigemptyset(&child.sa_mask);
  if (sigaction(SIGCHLD, &child, NULL) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  int ready_fd = -1;
  const char *ready = getenv("BERTH_PAUSE_READY_FD");
  if (ready != NULL) {
    int fd = atoi(ready);
    if (fd > 2) ready_fd = fd;
    unsetenv("BERTH_PAUSE_READY_FD");
  }
  if (install_seccomp(ready_fd) != 0) {
    perror("pause: install seccomp filter");
    return 1;
  }
  /* berth waits for this byte so that a stop right after start finds the handlers (and the
     filter) in place (as PID 1 of a pid namespace, a signal without a handler would be dropped). */
  if (ready_fd >= 0) {
    ssize_t ignored = write(ready_fd, "r", 1);
    (void)ignored;
    close(ready_fd);
  }
  for (;;) pause();
}
