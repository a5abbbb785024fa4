#include "core/resources.h"

#include <cstdio>

namespace kumo::core {

std::string ResourceName(int kind, const std::vector<std::string>& extended_names) {
  switch (kind) {
    case kCpu:
      return "cpu";
    case kMemory:
      return "memory";
    case kGpu:
      return "gpu";
    default: {
      size_t slot = static_cast<size_t>(kind - kExtended0);
      if (slot < extended_names.size()) return extended_names[slot];
      return "extended" + std::to_string(slot);
    }
  }
}

namespace {
std::string Trim(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", x);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}
}  // namespace

std::string FormatQuantity(int kind, int64_t amount) {
  switch (kind) {
    case kCpu:
      return Trim(static_cast<double>(amount) / 1000.0) + " cores";
    case kMemory:
      return Trim(static_cast<double>(amount) / (1024.0 * 1024 * 1024)) + " GiB";
    case kGpu: {
      std::string n = Trim(static_cast<double>(amount) / 1000.0);
      return n + (amount == 1000 ? " GPU" : " GPUs");
    }
    default:
      return std::to_string(amount);
  }
}

}  // namespace kumo::core
