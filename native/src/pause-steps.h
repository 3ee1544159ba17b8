// The steps of a pause launch, as the child reports a failure back (step, index, errno), and
// their descriptions for the error message ("write sysctl net.ipv4.ip_forward").
#pragma once

#include <string>

#include "pause-launcher.h"

namespace berth {

/** Where pause's empty root is mounted before pivot_root (a directory every mount namespace has). */
constexpr const char* kRootMountPoint = "/proc";

enum Step : int {
  kStepClone = 1,
  kStepSetsid,
  kStepChdir,
  kStepHostname,
  kStepSysctl,
  kStepCgroup,
  kStepStdin,
  kStepLog,
  kStepDup,
  kStepCloseFds,
  kStepCapBoundingSet,
  kStepAmbient,
  kStepSetgroups,
  kStepSetgid,
  kStepSetuid,
  kStepCapset,
  kStepNoNewPrivs,
  kStepExec,
  kStepOpenExecutable,
  kStepMountPrivate,
  kStepMountRoot,
  kStepPivotRoot,
  kStepUnmountOldRoot,
  kStepWaitForMaps,
  kStepUidMap,
  kStepGidMap,
  kStepJoinNetns,
};

/** What failed, for the error message: the step with the plan's value it was working on. */
std::string DescribeStep(const PausePlan& plan, int step, int index);

}  // namespace berth
