// Errors crossing the native boundary: an Error with `code` ('EPERM'), `errno` and `syscall`,
// its message naming the operation and path ("mount /x: EPERM (Operation not permitted)").
#pragma once

#include <napi.h>

#include <string>

namespace berth {

/** The symbolic name of an errno value ("EPERM"), or "E<n>" when unknown. */
std::string ErrnoName(int err);

/** Builds the JS error for a failed `operation` (e.g. "mount /x") with errno `err`. */
Napi::Error MakeSysError(Napi::Env env, const std::string& operation, int err);

}  // namespace berth
