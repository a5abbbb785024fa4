#include "server/runtime_estimates.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kumo::server {
namespace {

core::EstimateKey KeyOf(const JobRec& job) {
  return core::EstimateKey{job.user, job.project, job.name, job.spec.priority_class};
}

core::Seconds RunSeconds(const JobRec& job) {
  return static_cast<core::Seconds>(std::llround(std::max(0.0, job.end_time - job.start_time)));
}

}  // namespace

void RuntimeEstimates::Load(const std::map<int64_t, JobRec>& jobs) {
  std::vector<const JobRec*> done;
  for (const auto& [id, job] : jobs)
    if (job.phase == JobPhase::kSucceeded) done.push_back(&job);
  std::sort(done.begin(), done.end(), [](const JobRec* a, const JobRec* b) {
    return a->end_time != b->end_time ? a->end_time < b->end_time : a->id < b->id;
  });
  for (const JobRec* job : done) estimator_.Observe(KeyOf(*job), RunSeconds(*job));
}

void RuntimeEstimates::Finished(const JobRec& job) {
  auto error = estimator_.Observe(KeyOf(job), RunSeconds(job));
  if (error && error_ != nullptr) error_->Observe(*error);
}

core::Seconds RuntimeEstimates::For(const JobRec& job) const {
  return estimator_.Estimate(KeyOf(job));
}

}  // namespace kumo::server
