// Each source file registers its functions on the addon's exports.
#pragma once

#include <napi.h>

namespace berth {

void InitFsOps(Napi::Env env, Napi::Object exports);       // mount, umount2, mknod, readFiles
void InitXattrOps(Napi::Env env, Napi::Object exports);    // lsetxattr, lgetxattr, llistxattr
void InitStartPause(Napi::Env env, Napi::Object exports);  // startPause
void InitWatchExit(Napi::Env env, Napi::Object exports);   // watchExit, watchChild
void InitSpawnProcess(Napi::Env env, Napi::Object exports);  // spawnProcess, makePipe
void InitMemoryOps(Napi::Env env, Napi::Object exports);     // reduceMemory, limitMallocArenas
void InitConnectInNetns(Napi::Env env, Napi::Object exports);  // connectInNetns
void InitTerminalOps(Napi::Env env, Napi::Object exports);     // openPty, setWindowSize
void InitSeqpacket(Napi::Env env, Napi::Object exports);       // connectSeqpacket, SeqpacketChannel
void InitIdmapOps(Napi::Env env, Napi::Object exports);        // idmapMount
void InitContainerExec(Napi::Env env, Napi::Object exports);   // execInContainer
void InitSeccompFilters(Napi::Env env, Napi::Object exports);  // readSeccompFilters
void InitCreateNetns(Napi::Env env, Napi::Object exports);     // createNetns
void InitSealedCopy(Napi::Env env, Napi::Object exports);      // sealedCopy

}  // namespace berth
