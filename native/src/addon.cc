// berth_native: the syscalls Node cannot make (see native/binding.ts for the TypeScript contract).
#include <napi.h>

#include "ops.h"

namespace {

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
  return exports;
}

}  // namespace

NODE_API_MODULE(berth_native, Init)
