// Runtime estimates for jobs without maxRuntime, and when backfill expects a running job to end.
//
// EASY backfill can only reserve for a blocked job if it knows when the jobs in its way end.
// Users give that as maxRuntime (also a kill limit); many give nothing. For those, the estimate
// is learnt from history, as Tsafrir, Etsion & Feitelson propose in "Backfilling Using
// System-Generated Predictions Rather Than User Runtime Estimates" (IEEE TPDS 18(6), 2007; they
// average the user's last two jobs): here a quantile of the recent runtimes of the same user's
// jobs of the same name, else of the project's jobs, else a default per priority class, else
// none. An estimate never kills anything: only maxRuntime does.
//
// Worked example (quantile 0.5, min_samples 2): alice's "train" jobs ran 100, 300 and 200 s.
// Sorted 100, 200, 300; nearest rank ceil(0.5 x 3) = 2 -> 200 s. Her first "eval" job has no
// history of its own: it gets the median of the project's recent runtimes, or, with fewer than
// min_samples of those, its priority class's default.
//
// Pure: no I/O, clock or threads. Not thread-safe: the server keeps one under its state lock,
// the simulator one per run. Memory: one entry per distinct (user, name) and project, each at
// most `window` runtimes.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "core/resources.h"

namespace kumo::core {

struct RuntimeEstimateConfig {
  bool enabled = true;
  double quantile = 0.5;    // of a key's recent runtimes; in (0, 1]
  int32_t window = 16;      // recent runtimes kept per key, oldest dropped; >= 1
  int32_t min_samples = 2;  // a key with fewer falls back to the next; >= 1
  // Priority class name -> estimate in seconds when neither key has enough history.
  std::map<std::string, Seconds> class_default;
  friend bool operator==(const RuntimeEstimateConfig&, const RuntimeEstimateConfig&) = default;
};

// Who ran what: the keys of the history, in fallback order (user + name, project, class).
struct EstimateKey {
  std::string user;
  std::string project;
  std::string name;  // the job's name (metadata.name); the simulator's traces have none: ""
  std::string priority_class;
};

class RuntimeEstimator {
 public:
  explicit RuntimeEstimator(RuntimeEstimateConfig config = {}) : config_(std::move(config)) {}

  // The estimate in seconds (>= 1), or kNever when there is nothing to go on or estimates are
  // off.
  Seconds Estimate(const EstimateKey& key) const;

  // A run of `key` that succeeded after `runtime_s` seconds (failed, cancelled and preempted
  // attempts say nothing about how long the job needs). Returns the relative error
  // |estimate - actual| / actual of the estimate the history gave just before this run ended
  // (from earlier runs only: nothing peeks at the run itself), or nullopt when there was none.
  std::optional<double> Observe(const EstimateKey& key, Seconds runtime_s);

  const RuntimeEstimateConfig& config() const { return config_; }

 private:
  using Runtimes = std::deque<Seconds>;  // oldest first
  std::optional<Seconds> Quantile(const Runtimes* runs) const;
  void Push(Runtimes& runs, Seconds runtime_s) const;

  RuntimeEstimateConfig config_;
  std::map<std::pair<std::string, std::string>, Runtimes> by_user_name_;
  std::map<std::string, Runtimes> by_project_;
};

// When backfill expects a running job that started at `start` to release its resources:
//  - with a maxRuntime, start + maxRuntime (it is killed then);
//  - else with an estimate, start + estimate while that is still ahead; once the job has outrun
//    it, `now` + as long again as it has run so far (a job that has run t seconds tends to run
//    about t more: Harchol-Balter & Downey, "Exploiting Process Lifetime Distributions for
//    Dynamic Load Balancing", ACM TOCS 15(3), 1997). The reservation that counted on it moves
//    later; the job is not killed;
//  - else kNever (it never ends as far as anyone knows).
// Never earlier than `now`.
Seconds PlannedEnd(Seconds start, Seconds max_runtime, Seconds estimate, Seconds now);

}  // namespace kumo::core
