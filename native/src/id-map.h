// User-namespace id maps as /proc/<pid>/{uid,gid}_map text, parsed from JS at the addon's entry.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace berth {

/** The kernel accepts at most 340 lines per map; berth's pods need one. */
constexpr uint32_t kMaxIdMappings = 8;

/**
 * `value` (an array of {containerId, hostId, length}) → "<inside> <outside> <length>\n" lines,
 * else a TypeError naming `fn` and `what`. Ranges must be non-empty and stay below 2^32 - 1.
 */
inline std::string ParseIdMappings(Napi::Env env, Napi::Value value, const std::string& fn, const std::string& what) {
  auto fail = [&](const std::string& why) { return Napi::TypeError::New(env, fn + ": " + what + " " + why); };
  if (!value.IsArray()) throw fail("must be an array of {containerId, hostId, length}");
  Napi::Array list = value.As<Napi::Array>();
  if (list.Length() == 0 || list.Length() > kMaxIdMappings) throw fail("must have 1 to " + std::to_string(kMaxIdMappings) + " entries");
  std::string text;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value entry = list.Get(i);
    if (!entry.IsObject()) throw fail("entries must be objects");
    Napi::Object m = entry.As<Napi::Object>();
    double fields[3];
    const char* names[3] = {"containerId", "hostId", "length"};
    for (int f = 0; f < 3; f++) {
      Napi::Value v = m.Get(names[f]);
      if (!v.IsNumber()) throw fail(std::string("entries need a numeric ") + names[f]);
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint64_t>(d))) throw fail(std::string(names[f]) + " must be a 32-bit id");
      fields[f] = d;
    }
    uint64_t inside = static_cast<uint64_t>(fields[0]), outside = static_cast<uint64_t>(fields[1]), length = static_cast<uint64_t>(fields[2]);
    if (length == 0 || inside + length > 4294967295ULL || outside + length > 4294967295ULL) throw fail("ranges must be non-empty and end below 4294967295");
    text += std::to_string(inside) + " " + std::to_string(outside) + " " + std::to_string(length) + "\n";
  }
  return text;
}

}  // namespace berth
