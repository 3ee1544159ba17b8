// reduceMemory(): gives memory back after a burst of work. V8 keeps the heap it grew (new space
// at its maximum, old-space pages with garbage) while berthd sits idle, because no allocation
// triggers a collection; LowMemoryNotification runs full, compacting collections and shrinks the
// heap. malloc_trim then returns the freed pages of glibc's arenas to the kernel. Synchronous
// (tens of milliseconds): call it only when berthd has been idle for a while.
#include <malloc.h>
#include <v8.h>

#include "ops.h"

namespace berth {
namespace {

Napi::Value ReduceMemory(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  ::malloc_trim(0);
  return info.Env().Undefined();
}

}  // namespace

void InitMemoryOps(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceMemory", Napi::Function::New(env, ReduceMemory, "reduceMemory"));
}

}  // namespace berth
