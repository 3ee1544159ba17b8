// libFuzzer harness for pause's seccomp filter (native/pause-filter.h). Each input is a
// seccomp_data (syscall number, architecture, arguments) and a readiness fd; the filter built for
// that fd is run through a classic-BPF interpreter and its verdict must be exactly the rule's:
// kill on a foreign architecture, allow the allow-list and write/close on the readiness fd, EPERM
// for everything else. Every jump must land inside the program and every path must return.
// fuzz-sources:
#include <cstdint>
#include <cstring>

#include "../pause-filter.h"

namespace {

/** Runs `prog` on `data` like the kernel's seccomp does for the instructions the filter uses. */
bool RunFilter(const sock_filter* prog, unsigned length, const seccomp_data& data, uint32_t* verdict) {
  uint32_t accumulator = 0;
  unsigned pc = 0;
  for (unsigned steps = 0; steps <= length; steps++) {
    if (pc >= length) return false;  // ran off the end: the kernel rejects such a program
    const sock_filter& insn = prog[pc];
    switch (insn.code) {
      case BPF_LD | BPF_W | BPF_ABS: {
        if (insn.k % 4 != 0 || insn.k + 4 > sizeof data) return false;
        std::memcpy(&accumulator, reinterpret_cast<const char*>(&data) + insn.k, 4);
        pc++;
        break;
      }
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += 1 + (accumulator == insn.k ? insn.jt : insn.jf);
        break;
      case BPF_RET | BPF_K:
        *verdict = insn.k;
        return true;
      default:
        return false;  // an instruction the filter is not meant to contain
    }
  }
  return false;
}

uint32_t ExpectedVerdict(const seccomp_data& data, int ready_fd) {
  if (data.arch != PAUSE_AUDIT_ARCH) return SECCOMP_RET_KILL_PROCESS;
  for (size_t i = 0; i < PAUSE_ALLOWED_COUNT; i++) {
    if (data.nr == pause_allowed_syscalls[i]) return SECCOMP_RET_ALLOW;
  }
  if (ready_fd >= 0 && (data.nr == SYS_write || data.nr == SYS_close) && static_cast<uint32_t>(data.args[0]) == static_cast<uint32_t>(ready_fd)) {
    return SECCOMP_RET_ALLOW;
  }
  return SECCOMP_RET_ERRNO | EPERM;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  seccomp_data data;
  std::memset(&data, 0, sizeof data);
  if (size < 3) return 0;
  // Bytes 0-1: the readiness fd (-1 = none, else 0..32766); byte 2: bit 0 set keeps the input's
  // architecture, clear uses the real one (so the syscall rules get exercised); the rest fills
  // seccomp_data.
  int ready_fd = static_cast<int>((bytes[0] << 8 | bytes[1]) & 0x7fff) - 1;
  std::memcpy(&data, bytes + 3, size - 3 < sizeof data ? size - 3 : sizeof data);
  if ((bytes[2] & 1) == 0) data.arch = PAUSE_AUDIT_ARCH;

  sock_filter prog[PAUSE_FILTER_MAX];
  unsigned length = pause_filter_build(prog, ready_fd);
  if (length == 0 || length > PAUSE_FILTER_MAX) __builtin_trap();
  uint32_t verdict = 0;
  if (!RunFilter(prog, length, data, &verdict)) __builtin_trap();
  if (verdict != ExpectedVerdict(data, ready_fd)) __builtin_trap();
  return 0;
}
