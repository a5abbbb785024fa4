#include "core/decisions.h"

namespace kumo::core {

const char* WaitReasonName(WaitReason r) {
  switch (r) {
    case WaitReason::kInvalid:
      return "Invalid";
    case WaitReason::kQuotaMax:
      return "QuotaMax";
    case WaitReason::kUnschedulable:
      return "Unschedulable";
    case WaitReason::kInsufficientCapacity:
      return "InsufficientCapacity";
    case WaitReason::kTopology:
      return "Topology";
    case WaitReason::kFragmented:
      return "Fragmented";
    case WaitReason::kReserved:
      return "Reserved";
    case WaitReason::kWouldDelayReservation:
      return "WouldDelayReservation";
    case WaitReason::kBehindBlockedJob:
      return "BehindBlockedJob";
    case WaitReason::kWaitingForPreemption:
      return "WaitingForPreemption";
    case WaitReason::kWaitingForTermination:
      return "WaitingForTermination";
    case WaitReason::kNotConsidered:
      return "NotConsidered";
  }
  return "Unknown";
}

const char* PreemptionReasonName(PreemptionReason r) {
  switch (r) {
    case PreemptionReason::kPriority:
      return "Priority";
    case PreemptionReason::kReclaim:
      return "Reclaim";
    case PreemptionReason::kDefragment:
      return "Defragment";
    case PreemptionReason::kFill:
      return "Fill";
  }
  return "Unknown";
}

}  // namespace kumo::core
