// Quantities: the one grammar for sizes, milli-units and durations in job specs, inventories,
// config files and flags.
//
// Sizes follow Kubernetes' resource.Quantity (k8s.io/apimachinery/pkg/api/resource), so a size
// means the same thing in a kumo job spec as in a pod spec:
//   - a plain number of bytes: "1000";
//   - a decimal suffix, powers of 1000: k M G T P E ("1G" = 1,000,000,000);
//   - a binary suffix, powers of 1024: Ki Mi Gi Ti Pi Ei ("1Gi" = 1,073,741,824);
//   - a decimal fraction when the result is whole bytes: "1.5Gi" = 1,610,612,736, "0.5" is not.
// Kubernetes also reads signs, exponents ("1e3") and sub-unit suffixes (m, u, n) and rounds
// fractional bytes up; kumo rejects them instead: a size is a whole, non-negative byte count, and
// "1e3" next to "1E" (exa) is a trap.
//
// Milli-units (cpu cores, GPUs): "2" = 2000, "0.5" = 500, "500m" = 500; at most milli precision.
// Durations: "90" (seconds) or units in descending order, each at most once, integers only:
// "1d2h30m15s", "90m" (no carrying rules), "2h"; no "ms", no "w".
//
// Every parser is pure and thread-safe. Errors are InvalidArgument naming the text and what is
// wrong with it; zero is accepted (the caller decides whether it makes sense).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace kumo {

// Bytes in the grammar above; at most INT64_MAX.
Result<int64_t> ParseBytes(std::string_view text);

// Thousandths of a unit: "2" -> 2000, "0.25" -> 250, "500m" -> 500; at most INT64_MAX.
Result<int64_t> ParseMilli(std::string_view text);

// Seconds: "90" -> 90, "1h30m" -> 5400; at most INT64_MAX.
Result<int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace kumo
