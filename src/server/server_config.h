// ServerConfig: how `kumo server` is set up (flags over a YAML file over these defaults).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "core/scheduler.h"
#include "server/records.h"

namespace kumo::server {

struct ServerConfig {
  std::string data_dir;  // required; created if missing
  std::string listen = "127.0.0.1:0";
  std::string inventory_file;  // empty: this machine (executor::DetectLocalMachine)
  std::string shim_binary;     // the task shim: kumo-shim, or the kumo binary (`__task-shim`)
  core::SchedulerConfig scheduler;
  std::vector<PriorityClass> priority_classes = {
      {"low", 0, true}, {"normal", 100, true}, {"high", 1000, true}, {"system", 10000, false}};
  double tick_s = 0.2;  // loop period while nothing happens
  // At most one pass per this interval: under a burst of submissions one pass takes many jobs
  // instead of one pass per job (Slurm's sched_min_interval plays the same role).
  double pass_min_interval_s = 0.02;
  bool use_cgroups = true;
  // Accept jobs that no node of the inventory could ever hold (nodes may be added later);
  // false: refuse them at submit (submit_feasibility.h).
  bool wait_for_nodes = false;
};

// Reads a server config file (YAML; see docs/control-plane.md) over the defaults in `base`.
Result<ServerConfig> LoadServerConfig(const std::string& path, ServerConfig base);

}  // namespace kumo::server
