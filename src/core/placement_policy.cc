#include "core/placement_policy.h"

#include <string>

namespace kumo::core {

Result<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name) {
  if (name == "binpack") return MakeBinpackPolicy();
  if (name == "spread") return MakeSpreadPolicy();
  return Error(Status::InvalidArgument("unknown placement policy \"" + std::string(name) +
                                       "\" (known: binpack, spread)"));
}

}  // namespace kumo::core
