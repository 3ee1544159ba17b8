// berth_native: the syscalls Node cannot make (see native/binding.ts for the TypeScript contract).
#include <napi.h>

#include "ops.h"

namespace {

// Bumped whenever an export is added, removed or changes its arguments; native/addon-loader.ts
// refuses a build whose marker differs (a stale build would otherwise fail on first use).
constexpr int kAbiVersion = 7;

// Each registers its group of exports (see ops.h).
constexpr void (*kRegisterOps[])(Napi::Env, Napi::Object) = {
    berth::InitFsOps,          berth::InitXattrOps,   berth::InitStartPause,    berth::InitWatchExit,
    berth::InitSpawnProcess,   berth::InitMemoryOps,  berth::InitConnectInNetns, berth::InitTerminalOps,
    berth::InitSeqpacket,      berth::InitIdmapOps,   berth::InitContainerExec, berth::InitSeccompFilters,
    berth::InitCreateNetns,
    berth::InitSealedCopy,
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (auto registerOps : kRegisterOps) registerOps(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  return exports;
}

}  // namespace

NODE_API_MODULE(berth_native, Init)
