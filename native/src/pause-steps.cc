#include "pause-steps.h"

namespace berth {

std::string DescribeStep(const PausePlan& plan, int step, int index) {
  switch (step) {
    case kStepClone: return "clone pause process";
    case kStepSetsid: return "setsid";
    case kStepChdir: return "chdir /";
    case kStepHostname: return "set hostname " + plan.hostname;
    case kStepSysctl: return "write sysctl " + plan.sysctl_names.at(static_cast<size_t>(index));
    case kStepCgroup: return "join cgroup " + plan.cgroup_procs.at(static_cast<size_t>(index));
    case kStepStdin: return "open /dev/null";
    case kStepLog: return "open log file " + (plan.log_file.empty() ? std::string("/dev/null") : plan.log_file);
    case kStepDup: return "redirect stdio";
    case kStepCloseFds: return "set up inherited file descriptors";
    case kStepCapBoundingSet: return "drop capability " + std::to_string(index) + " from the bounding set";
    case kStepAmbient: return "clear ambient capabilities";
    case kStepSetgroups: return "setgroups";
    case kStepSetgid: return "setgid " + std::to_string(plan.gid);
    case kStepSetuid: return "setuid " + std::to_string(plan.uid);
    case kStepCapset: return "clear capabilities";
    case kStepNoNewPrivs: return "set no_new_privs";
    case kStepExec: return "exec " + plan.executable;
    case kStepOpenExecutable: return "open " + plan.executable;
    case kStepMountPrivate: return "make pause's mounts private";
    case kStepMountRoot: return std::string("mount pause's empty root on ") + kRootMountPoint;
    case kStepPivotRoot: return "pivot_root into pause's empty root";
    case kStepUnmountOldRoot: return "detach the host's root from pause's mount namespace";
    case kStepWaitForMaps: return "release pause after writing its id maps";
    case kStepUidMap: return "write pause's uid_map";
    case kStepGidMap: return "write pause's gid_map";
    case kStepJoinNetns: return "join network namespace " + plan.netns_path;
    default: return "step " + std::to_string(step);
  }
}

}  // namespace berth
