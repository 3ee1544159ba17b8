// Launching the pause process: a blocking call for a worker thread. It clone()s an intermediate
// child which clone()s pause into new namespaces and exits, so pause is re-parented to init and
// never becomes berthd's child. Pause always gets its own mount namespace whose root is an empty
// read-only tmpfs (host paths are opened before the pivot; the executable runs through an fd).
// Between clone and execve only async-signal-safe calls are made; a failed step travels back
// over a CLOEXEC pipe as (step, index, errno). With a user namespace, pause is not vforked: it
// waits on a sync pipe until the intermediate (still host root) has written its uid/gid maps.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace berth {

/** Everything the pause child needs, prepared before clone (no allocation after it). */
struct PausePlan {
  std::string executable;
  int namespace_flags = 0;  // CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID (CLONE_NEWNS always)
  bool set_hostname = false;
  std::string hostname;
  std::vector<std::string> sysctl_names;   // for messages
  std::vector<std::string> sysctl_paths;   // /proc/sys/...
  std::vector<std::string> sysctl_values;
  std::vector<std::string> cgroup_procs;
  std::vector<std::string> device_deny_cgroups;  // cgroup v2 dirs that get a deny-all device filter
  uid_t uid = 65535;
  gid_t gid = 65535;
  std::string log_file;  // empty: /dev/null
  // Non-empty: pause joins this existing network namespace (a pin) instead of creating one
  // (namespace_flags then lacks CLONE_NEWNET; never combined with a user namespace).
  std::string netns_path;
  // Non-empty: pause gets a new user namespace (owning all its other namespaces) with these
  // /proc/<pid>/uid_map and gid_map texts; uid/gid above are then ids inside it.
  std::string uid_map;
  std::string gid_map;
};

/** Outcome: the host pid of pause, or the failed step ("write sysctl x") and its errno. */
struct LaunchOutcome {
  pid_t pid = -1;
  int error = 0;
  std::string failed_step;
};

/** Starts pause as described by `plan`; returns once it has exec'd or failed. */
LaunchOutcome LaunchPause(const PausePlan& plan);

}  // namespace berth
