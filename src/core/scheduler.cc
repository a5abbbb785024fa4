#include "core/scheduler.h"

#include "core/pass.h"

namespace kumo::core {

Scheduler::Scheduler(SchedulerConfig config, std::shared_ptr<const PlacementPolicy> placement,
                     std::shared_ptr<const BackfillPolicy> backfill,
                     std::vector<std::shared_ptr<const PreemptionPolicy>> preemption)
    : config_(std::move(config)),
      placement_(std::move(placement)),
      backfill_(std::move(backfill)),
      preemption_(std::move(preemption)) {}

Result<Scheduler> Scheduler::Create(SchedulerConfig config) {
  auto placement = MakePlacementPolicy(config.placement);
  if (!placement) return Error(placement.error());
  auto order = MakeQueueOrder(config.queue_order);
  if (!order) return Error(order.error());
  auto preemption = MakePreemptionPolicies(config.preemption.names);
  if (!preemption) return Error(preemption.error());
  if (config.block_size < 1) return Error(Status::InvalidArgument("block_size must be >= 1"));
  if (config.max_domain_attempts < 1)
    return Error(Status::InvalidArgument("max_domain_attempts must be >= 1"));
  if (config.age_after_s < 0) return Error(Status::InvalidArgument("age_after_s must be >= 0"));
  if (!(config.relative_age >= 0))
    return Error(Status::InvalidArgument("relative_age must be >= 0"));
  std::vector<std::shared_ptr<const PreemptionPolicy>> shared(
      std::make_move_iterator(preemption->begin()), std::make_move_iterator(preemption->end()));
  std::shared_ptr<const BackfillPolicy> backfill = MakeBackfillPolicy(config.backfill);
  return Scheduler(std::move(config), std::shared_ptr<const PlacementPolicy>(std::move(*placement)),
                   std::move(backfill), std::move(shared));
}

Result<Decisions> Scheduler::Schedule(const Snapshot& snapshot) const {
  internal::Pass pass(config_, {*placement_, *backfill_, preemption_}, snapshot);
  return pass.Run();
}

}  // namespace kumo::core
