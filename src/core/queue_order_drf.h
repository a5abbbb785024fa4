// The DRF order with a choice of order inside each user's queue (internal to the core: "drf"
// ranks a user's jobs by submit time, "drf-predicted" by aged predicted work).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/queue_order.h"

namespace kumo::core::internal {

// A rank for each of `pending` (same index), lower first inside its user's queue; ties go by
// submit time, then id. Computed once when the pass begins: admissions change shares, not ranks.
using UserQueueKeys = std::vector<double> (*)(const QueueContext& ctx,
                                              const std::vector<QueueEntry>& pending);

// `name` must outlive the order (a literal). keys == nullptr: every rank 0 (submit order).
std::unique_ptr<QueueOrder> MakeDrfOrder(std::string_view name, UserQueueKeys keys);

}  // namespace kumo::core::internal
