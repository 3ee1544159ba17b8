// berth_native: the syscalls Node cannot make (see native/binding.ts for the TypeScript contract).
#include <napi.h>

#include "ops.h"

namespace {

// Bumped whenever an export is added, removed or changes its arguments; native/addon-loader.ts
// refuses a build whose marker differs (a stale build would otherwise fail on first use).
constexpr int kAbiVersion = 4;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  berth::InitFsOps(env, exports);
  berth::InitXattrOps(env, exports);
  berth::InitStartPause(env, exports);
  berth::InitWatchExit(env, exports);
  berth::InitSpawnProcess(env, exports);
  berth::InitMemoryOps(env, exports);
  berth::InitConnectInNetns(env, exports);
  berth::InitTerminalOps(env, exports);
  berth::InitSeqpacket(env, exports);
  berth::InitIdmapOps(env, exports);
  berth::InitContainerExec(env, exports);
  berth::InitSeccompFilters(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  return exports;
}

}  // namespace

NODE_API_MODULE(berth_native, Init)
