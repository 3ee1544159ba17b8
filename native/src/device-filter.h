// A deny-all cgroup v2 device filter: the v2 equivalent of writing "a" to a v1 devices.deny.
#pragma once

namespace berth {

/**
 * Loads a BPF_PROG_TYPE_CGROUP_DEVICE program that refuses every device access and attaches it
 * (BPF_F_ALLOW_MULTI, so programs of parent cgroups still run too) to the cgroup v2 directory
 * `cgroup_dir`. The attachment lives as long as the cgroup; no fd is kept. Returns 0 or an errno.
 */
int AttachDenyAllDeviceFilter(const char* cgroup_dir);

}  // namespace berth
