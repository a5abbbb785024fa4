#include "server/submit_feasibility.h"

#include "core/feasibility.h"
#include "server/translate.h"

namespace kumo::server {

std::optional<std::string> NeverFitsMessage(const ServerState& state, const api::JobSpec& spec) {
  // Nodes that come and go (a cluster's, known once listed): such a job waits as Unschedulable.
  if (state.config.wait_for_nodes || state.executor->NodesAreElastic()) return std::nullopt;
  JobRec rec;
  rec.project = spec.project;
  rec.spec = spec;
  TranslatedJob t = ToCoreJob(rec, state.config.priority_classes,
                              state.inventory.extended_resources);
  std::optional<std::string> why;
  if (!t.invalid.empty()) {
    why = t.invalid;
  } else {
    core::Snapshot cluster;
    cluster.topology_levels = state.inventory.topology_levels;
    cluster.extended_resources = state.inventory.extended_resources;
    cluster.nodes = state.inventory.nodes;
    why = core::WhyNeverFits(cluster, t.job);
  }
  if (!why) return std::nullopt;
  return "spec: this job can never run on this cluster, even with every node free: " + *why +
         " (a cluster that adds nodes later sets waitForNodes: true in the server config)";
}

}  // namespace kumo::server
