// ResourceVector: the quantities the scheduler accounts for, with their units.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kumo::core {

// Seconds on the caller's clock (virtual in the simulator, wall time in the server).
using Seconds = int64_t;
inline constexpr Seconds kNever = std::numeric_limits<int64_t>::max() / 4;

inline constexpr int64_t kMilliPerGpu = 1000;
inline constexpr int kMaxExtendedResources = 8;

// Index of each resource kind inside a ResourceVector.
//   cpu:      milli-cores (1000 = one core)
//   memory:   bytes
//   gpu:      milli-GPU (1000 = one whole GPU); a task asks for either whole GPUs (a multiple
//             of 1000) or a share of one GPU (1..999)
//   extended: whole units of a named device (e.g. "mncore", "rdma"); names are interned by the
//             snapshot's `extended_resources` table, slot i <-> name i.
enum ResourceKind : int { kCpu = 0, kMemory = 1, kGpu = 2, kExtended0 = 3 };
inline constexpr int kNumResourceKinds = kExtended0 + kMaxExtendedResources;

// A quota value meaning "no limit".
inline constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max() / 4;

struct ResourceVector {
  std::array<int64_t, kNumResourceKinds> v{};

  int64_t& operator[](int kind) { return v[kind]; }
  int64_t operator[](int kind) const { return v[kind]; }

  int64_t cpu_millis() const { return v[kCpu]; }
  int64_t memory_bytes() const { return v[kMemory]; }
  int64_t gpu_milli() const { return v[kGpu]; }

  static ResourceVector Filled(int64_t value) {
    ResourceVector r;
    r.v.fill(value);
    return r;
  }
  static ResourceVector Of(int64_t cpu_millis, int64_t memory_bytes, int64_t gpu_milli) {
    ResourceVector r;
    r.v[kCpu] = cpu_millis;
    r.v[kMemory] = memory_bytes;
    r.v[kGpu] = gpu_milli;
    return r;
  }

  ResourceVector& operator+=(const ResourceVector& o) {
    for (int i = 0; i < kNumResourceKinds; ++i) v[i] += o.v[i];
    return *this;
  }
  ResourceVector& operator-=(const ResourceVector& o) {
    for (int i = 0; i < kNumResourceKinds; ++i) v[i] -= o.v[i];
    return *this;
  }
  friend ResourceVector operator+(ResourceVector a, const ResourceVector& b) { return a += b; }
  friend ResourceVector operator-(ResourceVector a, const ResourceVector& b) { return a -= b; }
  ResourceVector operator*(int64_t k) const {
    ResourceVector r = *this;
    for (auto& x : r.v) x *= k;
    return r;
  }
  friend bool operator==(const ResourceVector&, const ResourceVector&) = default;

  // True when every component of *this is <= the same component of `o`.
  bool FitsIn(const ResourceVector& o) const {
    for (int i = 0; i < kNumResourceKinds; ++i)
      if (v[i] > o.v[i]) return false;
    return true;
  }
  bool IsZero() const {
    for (auto x : v)
      if (x != 0) return false;
    return true;
  }
};

// Human name of a resource kind ("cpu", "memory", "gpu", or the extended name).
std::string ResourceName(int kind, const std::vector<std::string>& extended_names);

// Formats a quantity of `kind` for people: "3.5 GPUs", "12 cores", "64 GiB".
std::string FormatQuantity(int kind, int64_t amount);

}  // namespace kumo::core
