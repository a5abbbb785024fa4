#include "core/backfill/backfill_policy.h"

#include <string>

namespace kumo::core {

Result<BackfillMode> ParseBackfillMode(std::string_view name) {
  if (name == "none") return BackfillMode::kNone;
  if (name == "greedy") return BackfillMode::kGreedy;
  if (name == "easy") return BackfillMode::kEasy;
  return Error(Status::InvalidArgument("unknown backfill mode \"" + std::string(name) +
                                       "\" (known: none, greedy, easy)"));
}

const char* BackfillModeName(BackfillMode m) {
  switch (m) {
    case BackfillMode::kNone:
      return "none";
    case BackfillMode::kGreedy:
      return "greedy";
    case BackfillMode::kEasy:
      return "easy";
  }
  return "unknown";
}

std::unique_ptr<BackfillPolicy> MakeBackfillPolicy(BackfillMode mode) {
  switch (mode) {
    case BackfillMode::kNone:
      return MakeNoBackfill();
    case BackfillMode::kGreedy:
      return MakeGreedyBackfill();
    case BackfillMode::kEasy:
      return MakeEasyBackfill();
  }
  return MakeEasyBackfill();
}

}  // namespace kumo::core
