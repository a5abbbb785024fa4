// Formatting helpers for the core's explanations (internal to the core).
#pragma once

#include <cstdint>
#include <cstdio>
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

}  // namespace kumo::core::internal
