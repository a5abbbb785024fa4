#include "core/preemption/preemption_policy.h"

#include <algorithm>

#include "core/preemption/eviction.h"

namespace kumo::core {

Result<std::vector<std::unique_ptr<PreemptionPolicy>>> MakePreemptionPolicies(
    const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != "priority" && names[i] != "reclaim" && names[i] != "defragment" &&
        names[i] != "fill")
      return Error(Status::InvalidArgument("unknown preemption policy \"" + names[i] +
                                           "\" (known: priority, reclaim, defragment, fill)"));
    if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]) !=
        names.begin() + static_cast<std::ptrdiff_t>(i))
      return Error(Status::InvalidArgument("preemption policy \"" + names[i] + "\" listed twice"));
  }
  const bool priority = std::find(names.begin(), names.end(), "priority") != names.end();
  const bool reclaim = std::find(names.begin(), names.end(), "reclaim") != names.end();
  std::vector<std::unique_ptr<PreemptionPolicy>> out;
  bool eviction_added = false;
  for (const std::string& name : names) {
    if (name == "defragment") {
      out.push_back(internal::MakeDefragmentPolicy());
    } else if (name == "fill") {
      out.push_back(internal::MakeFillPolicy());
    } else if (!eviction_added) {
      // One search over both rules' candidates: victims of either kind may combine.
      out.push_back(internal::MakeEvictionPolicy(priority, reclaim));
      eviction_added = true;
    }
  }
  return out;
}

}  // namespace kumo::core
