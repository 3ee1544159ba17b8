// reduceMemory(): gives memory back after a burst of work. V8 keeps the heap it grew (new space
// at its maximum, old-space pages with garbage) while berthd sits idle, because no allocation
// triggers a collection; LowMemoryNotification runs full, compacting collections and shrinks the
// heap. malloc_trim then returns the freed pages of glibc's arenas to the kernel. Synchronous
// (tens of milliseconds): call it only when berthd has been idle for a while.
//
// limitMallocArenas(max): mallopt(M_ARENA_MAX). glibc gives threads their own malloc arenas (up
// to 8 per core), and the libuv pool and V8's helper threads each keep one holding free chunks.
// Effective for threads that have not malloc'ed yet, so berthd calls it first thing.
#include <malloc.h>
#include <v8.h>

#include "args.h"
#include "ops.h"

namespace berth {
namespace {

Napi::Value ReduceMemory(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  ::malloc_trim(0);
  return info.Env().Undefined();
}

Napi::Value LimitMallocArenas(const Napi::CallbackInfo& info) {
  int64_t max = RequireInteger(info, 0, "limitMallocArenas", "max", 1, 1024);
  if (::mallopt(M_ARENA_MAX, static_cast<int>(max)) != 1) throw Napi::Error::New(info.Env(), "limitMallocArenas: mallopt(M_ARENA_MAX) failed");
  return info.Env().Undefined();
}

}  // namespace

void InitMemoryOps(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceMemory", Napi::Function::New(env, ReduceMemory, "reduceMemory"));
  exports.Set("limitMallocArenas", Napi::Function::New(env, LimitMallocArenas, "limitMallocArenas"));
}

}  // namespace berth
