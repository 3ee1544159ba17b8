#include "device-filter.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth {

int AttachDenyAllDeviceFilter(const char* cgroup_dir) {
  // r0 = 0 (deny); exit.
  struct bpf_insn program[2];
  std::memset(program, 0, sizeof program);
  program[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  program[0].dst_reg = BPF_REG_0;
  program[0].imm = 0;
  program[1].code = BPF_JMP | BPF_EXIT;
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<__u64>(program);
  attr.insn_cnt = 2;
  attr.license = reinterpret_cast<__u64>("GPL");
  int prog_fd = static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
  if (prog_fd < 0) return errno;
  int dir_fd = ::open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    int err = errno;
    ::close(prog_fd);
    return err;
  }
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<__u32>(dir_fd);
  attr.attach_bpf_fd = static_cast<__u32>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  int err = ::syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) == 0 ? 0 : errno;
  ::close(dir_fd);
  ::close(prog_fd);
  return err;
}

}  // namespace berth
