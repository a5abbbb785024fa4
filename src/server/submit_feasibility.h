// Submit-time feasibility: a job that could never run on this server's nodes -- even with every
// node free and uncordoned -- is refused with 400 and the scheduling core's sentence (which names
// the resource: "no node has 16 GPUs for one task of group ...", "needs 100 GiB ... (largest
// node: 8 GiB)", "group \"worker\" needs 5 tasks of 8 GPUs at once ..."), instead of being
// accepted to wait forever. A cluster whose nodes come and go says `waitForNodes: true` in its
// config, and such jobs are accepted (the scheduler then shows them as Unschedulable); so does
// the Kubernetes executor, whose nodes are the cluster's.
#pragma once

#include <optional>
#include <string>

#include "api/job_spec.h"
#include "server/server_state.h"

namespace kumo::server {

// The 400 message for `spec` submitted to `project`, or nullopt when it may run (or the config
// waits for nodes). Reads only state.config and state.inventory, which are fixed after start-up:
// callers need not hold state.mu.
std::optional<std::string> NeverFitsMessage(const ServerState& state, const api::JobSpec& spec);

}  // namespace kumo::server
