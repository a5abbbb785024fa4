// Diagnosis: why a pending job does not start, in words (internal to the core).
//
// Two questions, asked by the pass's job loop:
//  - can the job never run, even on an empty cluster (no node matches a task, no node is big
//    enough for one, the whole gang does not fit the cluster or any domain of its required
//    topology level)? Answers are memoized per task shape, since
//    many jobs share them;
//  - what is it short of now: GPUs, cpu or memory on the nodes it may use, a large enough
//    domain, or usable pieces (fragmentation)?
// Diagnosis reads the pass state and never changes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/decisions.h"
#include "core/pass_state.h"

namespace kumo::core::internal {

class Diagnosis {
 public:
  explicit Diagnosis(const PassState& pass) : pass_(pass) {}

  // The explanation when pending job j can never run as the cluster is built; nullopt when it
  // could. REQUIRES: BuildGang(j) ran.
  std::optional<std::string> StaticallyUnschedulable(int32_t j);

  // Why j does not fit now under `use` (kInsufficientCapacity, kTopology or kFragmented).
  // REQUIRES: BuildGang(j) ran.
  WaitExplanation Explain(int32_t j, Use use) const;

 private:
  std::optional<std::string> GroupUnschedulable(const TaskGroup& g, size_t gi,
                                                const TaskDemand& t) const;
  std::optional<std::string> GangTooLarge(const JobRt& jr);
  bool GangFitsEmpty(const JobRt& jr, int32_t begin, int32_t end, std::string* why) const;
  std::optional<std::string> DomainTooSmall(const JobRt& jr) const;
  std::string ShortOfCapacity(const TaskGroup& g, const TaskDemand& t) const;
  WaitExplanation ExplainShape(const JobRt& jr, Use use, int64_t free_gpu) const;

  const PassState& pass_;
  std::unordered_map<std::string, std::optional<std::string>> static_cache_;
  std::unordered_map<std::string, std::optional<std::string>> gang_cache_;  // by gang shape
};

}  // namespace kumo::core::internal
