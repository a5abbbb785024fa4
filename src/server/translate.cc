#include "server/translate.h"

#include <algorithm>
#include <cctype>
#include <tuple>

namespace kumo::server {
namespace {

core::TaintEffect ParseEffect(const std::string& e) {
  if (e == "PreferNoSchedule") return core::TaintEffect::kPreferNoSchedule;
  if (e == "NoExecute") return core::TaintEffect::kNoExecute;
  return core::TaintEffect::kNoSchedule;
}

core::TaskGroup ToCoreGroup(const api::TaskGroupSpec& g,
                            const std::vector<std::string>& extended_resources,
                            std::string* invalid) {
  core::TaskGroup tg;
  tg.name = g.name;
  tg.replicas = g.replicas;
  tg.resources[core::kCpu] = g.resources.cpu_millis;
  tg.resources[core::kMemory] = g.resources.memory_bytes;
  tg.resources[core::kGpu] = g.resources.gpu_milli;
  for (const auto& [name, count] : g.resources.extended) {
    auto it = std::find(extended_resources.begin(), extended_resources.end(), name);
    if (it == extended_resources.end()) {
      *invalid = "no node offers extended resource \"" + name + "\"";
      continue;
    }
    tg.resources[core::kExtended0 + static_cast<int>(it - extended_resources.begin())] = count;
  }
  tg.gpu_models = g.resources.gpu_models;
  return tg;
}

// KUMO_DATASET_<NAME>: the name upper-cased, every other character than a letter or digit '_'.
std::string DatasetVariable(const std::string& name) {
  std::string key = "KUMO_DATASET_";
  for (char c : name)
    key.push_back(std::isalnum(static_cast<unsigned char>(c))
                      ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                      : '_');
  return key;
}

std::string DeviceList(const std::vector<core::GpuShare>& gpus) {
  std::string devices;
  for (const auto& g : gpus) devices += (devices.empty() ? "" : ",") + std::to_string(g.gpu_index);
  return devices;
}

}  // namespace

TranslatedJob ToCoreJob(const JobRec& job, const std::vector<PriorityClass>& classes,
                        const std::vector<std::string>& extended_resources) {
  TranslatedJob out;
  core::Job& cj = out.job;
  cj.id = std::to_string(job.id);
  cj.project = job.project;
  cj.user = job.user;
  const PriorityClass* pc = FindPriorityClass(classes, job.spec.priority_class);
  cj.priority = pc ? pc->value : 0;
  cj.preemptible = pc ? pc->preemptible : true;
  cj.submit_time = static_cast<core::Seconds>(job.submit_time);
  for (const auto& g : job.spec.task_groups)
    cj.groups.push_back(ToCoreGroup(g, extended_resources, &out.invalid));
  for (const auto& [k, v] : job.spec.node_selector) cj.node_selector.push_back({k, v});
  for (const auto& t : job.spec.tolerations) {
    core::Toleration ct;
    ct.key = t.key;
    ct.op =
        t.op == "Exists" ? core::Toleration::Operator::kExists : core::Toleration::Operator::kEqual;
    ct.value = t.value;
    if (!t.effect.empty()) ct.effect = ParseEffect(t.effect);
    cj.tolerations.push_back(ct);
  }
  if (!job.spec.topology.level.empty()) {
    cj.topology.level = job.spec.topology.level;
    cj.topology.mode = job.spec.topology.required ? core::TopologyConstraint::Mode::kRequired
                                                  : core::TopologyConstraint::Mode::kPreferred;
  }
  if (job.spec.max_runtime_s) cj.max_runtime = *job.spec.max_runtime_s;
  cj.checkpointable = job.spec.checkpoint.enabled;
  return out;
}

LaunchPlan ToLaunches(const JobRec& job, const std::vector<core::TaskPlacement>& placements,
                      const LaunchContext& context) {
  std::vector<core::TaskPlacement> ordered = placements;
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return std::tie(a.group, a.index) < std::tie(b.group, b.index);
  });
  const int world = static_cast<int>(ordered.size());
  const std::string output_dir = context.attempt_dir + "/output";
  std::map<std::string, int> local_ranks;
  LaunchPlan plan;
  for (int rank = 0; rank < world; ++rank) {
    const core::TaskPlacement& p = ordered[static_cast<size_t>(rank)];
    const api::TaskGroupSpec& g = job.spec.task_groups[static_cast<size_t>(p.group)];
    TaskRec t;
    t.rank = rank;
    t.group = p.group;
    t.replica = p.index;
    t.node = p.node;
    t.gpus = p.gpus;
    std::map<std::string, std::string> env = context.inherited_env;
    for (const auto& [k, v] : g.env) env[k] = v;
    env["CUDA_VISIBLE_DEVICES"] = DeviceList(p.gpus);
    env["RANK"] = std::to_string(rank);
    env["WORLD_SIZE"] = std::to_string(world);
    env["LOCAL_RANK"] = std::to_string(local_ranks[p.node]++);
    env["MASTER_ADDR"] = "127.0.0.1";
    env["MASTER_PORT"] = std::to_string(context.master_port);
    env["KUMO_JOB"] = std::to_string(job.id);
    env["KUMO_JOB_NAME"] = job.name;
    env["KUMO_PROJECT"] = job.project;
    env["KUMO_ATTEMPT"] = std::to_string(job.attempt);
    env["KUMO_CHECKPOINT_DIR"] = context.checkpoint_dir;
    env["KUMO_OUTPUT_DIR"] = output_dir;
    env["KUMO_SEED"] = std::to_string(job.seed);
    env["KUMO_NODE"] = p.node;
    env["KUMO_TASK_GROUP"] = g.name;
    env["KUMO_TASK_INDEX"] = std::to_string(p.index);
    for (const auto& [name, path] : context.dataset_paths) env[DatasetVariable(name)] = path;
    executor::TaskLaunch launch;
    launch.argv = g.command;
    launch.cwd = g.working_dir.empty() ? job.submit_dir : g.working_dir;
    launch.env = std::move(env);
    launch.run_dir = context.attempt_dir + "/task-" + std::to_string(rank);
    launch.cpu_millis = g.resources.cpu_millis;
    launch.memory_bytes = g.resources.memory_bytes;
    launch.cgroup_name = "job-" + std::to_string(job.id) + ".a" + std::to_string(job.attempt) +
                         ".t" + std::to_string(rank);
    launch.isolation = context.isolation;
    launch.node = p.node;
    launch.image = g.image;
    launch.annotations = job.spec.annotations;
    launch.gpu_milli = g.resources.gpu_milli;
    launch.extended = g.resources.extended;
    launch.grace_period_s = job.spec.checkpoint.grace_period_s;
    launch.job_id = job.id;
    launch.attempt = job.attempt;
    launch.rank = rank;
    plan.tasks.push_back(std::move(t));
    plan.launches.push_back(std::move(launch));
  }
  return plan;
}

}  // namespace kumo::server
