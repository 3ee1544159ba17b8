/*
 * berth's pod pause process: holds the pod's namespaces open while doing nothing.
 * It may be PID 1 of the pod's PID namespace, so it reaps every child re-parented to it.
 * SIGTERM/SIGINT end it with status 0. `pause --version` prints its version.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BERTH_PAUSE_VERSION "0.1.0"

static void on_terminate(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  /* Reap everything that has exited; never block. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
    printf("berth-pause %s\n", BERTH_PAUSE_VERSION);
    return 0;
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
  /* berth waits for this byte so that a stop right after start finds the handlers in place
     (as PID 1 of a pid namespace, a signal without a handler would be dropped). */
  const char *ready = getenv("BERTH_PAUSE_READY_FD");
  if (ready != NULL) {
    int fd = atoi(ready);
    if (fd > 2) {
      ssize_t ignored = write(fd, "r", 1);
      (void)ignored;
      close(fd);
    }
    unsetenv("BERTH_PAUSE_READY_FD");
  }
  for (;;) pause();
}
