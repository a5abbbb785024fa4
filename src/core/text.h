// Formatting helpers for the core's explanations (internal to the core).
#pragma once

#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>

#include "core/resources.h"

namespace kumo::core::internal {

// printf into a std::string; explanations are short (longer text is cut at 511 characters).
std::string Fmt(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// Milli-GPU as people read them (FormatQuantity of kGpu).
inline std::string Gpus(int64_t milli) { return FormatQuantity(kGpu, milli); }

// A span of seconds as a sentence reads it, in its two largest units: "45s", "9m 10s", "15m",
// "2h 5m", "3d 4h". Explanations say when a reservation starts this way, relative to the pass:
// the core's clock is the driver's (epoch seconds in the server, trace time in the simulator),
// so an absolute t= would be a raw number to a user. Negative spans read "0s".
inline std::string Duration(Seconds s) {
  s = s < 0 ? 0 : s;
  const struct {
    Seconds size;
    const char* name;
  } units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (size_t i = 0; i + 1 < std::size(units); ++i) {
    if (s < units[i].size) continue;
    const Seconds rest = s % units[i].size / units[i + 1].size;
    return Fmt("%lld%s", static_cast<long long>(s / units[i].size), units[i].name) +
           (rest ? Fmt(" %lld%s", static_cast<long long>(rest), units[i + 1].name) : "");
  }
  return Fmt("%llds", static_cast<long long>(s));
}

}  // namespace kumo::core::internal
