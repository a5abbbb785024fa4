#include "core/feasibility.h"

#include "core/scheduler.h"

namespace kumo::core {

std::optional<std::string> WhyNeverFits(const Snapshot& cluster, const Job& job) {
  Snapshot alone;
  alone.topology_levels = cluster.topology_levels;
  alone.extended_resources = cluster.extended_resources;
  alone.nodes = cluster.nodes;
  for (Node& n : alone.nodes) n.unschedulable = false;
  Project project;
  project.name = job.project;
  alone.projects = {project};
  Job pending = job;
  pending.phase = JobPhase::kPending;
  pending.nominated = false;
  pending.reservation.clear();
  pending.placements.clear();
  alone.jobs = {std::move(pending)};
  SchedulerConfig config;
  config.preemption = false;
  auto scheduler = Scheduler::Create(config);
  if (!scheduler) return scheduler.error().message();
  auto decisions = scheduler->Schedule(alone);
  if (!decisions) return decisions.error().message();
  for (const WaitExplanation& w : decisions->waiting)
    if (w.reason == WaitReason::kUnschedulable || w.reason == WaitReason::kInvalid)
      return w.message;
  return std::nullopt;
}

}  // namespace kumo::core
