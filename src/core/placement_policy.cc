#include "core/placement_policy.h"

#include <string>

namespace kumo::core {

Result<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name) {
  if (name == "binpack") return MakeBinpackPolicy();
  if (name == "spread") return MakeSpreadPolicy();
  if (name == "bestfit") return MakeBestFitPolicy();
  return Error(Status::InvalidArgument("unknown placement policy \"" + std::string(name) +
                                       "\" (known: binpack, spread, bestfit)"));
}

}  // namespace kumo::core
