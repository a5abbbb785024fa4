// BindRecord: when each pod of one k8s_load run was first seen bound and first seen ended, on
// the client's monotonic clock (seconds since the first pod creation was sent), and the figures
// the benchmark reports from them. Pure: the watch thread feeds it, tests feed it by hand.
//
// Partial gangs. A gang scheduler must never leave part of a group holding GPUs while the rest
// cannot run. Bindings of one group are separate API calls, so even an all-or-nothing scheduler
// binds a group's pods a few milliseconds apart; what matters is a pod that holds its node for
// long while its group is incomplete. The definition used (G = partial_grace_s, 5 s by default):
//
//   pod p of group g is "bound while its group was incomplete" when p was bound at time b and
//   fewer than minMember (= group_size) pods of g had been bound by time b + G.
//
// A group that never completes therefore counts every pod of it that was bound; a group whose
// pods were bound within G of each other counts none. Bind times never change once seen (a pod
// that ended stays bound), so the rule does not depend on when the pods exit.
// Worked example, minMember 4, G 5: binds at 10.0, 10.1, 10.1, 10.2 -> 0 partial; binds at
// 10.0, 10.1, 10.1, 31.0 -> the first three count (by 15.1 only 3 were bound), the last not.
//
// Thread safety: none; the caller serialises Observe and Summarize.
#pragma once

#include <vector>

namespace kumo::bench {

struct LoadSummary {
  int pods = 0;
  int bound = 0;
  int ended = 0;
  double first_bind_s = -1;  // -1: no pod bound (ended_s likewise)
  double last_bind_s = -1;
  double last_end_s = -1;
  int partial_pods = 0;      // pods bound while their group was incomplete (see above)
  int partial_groups = 0;    // groups with at least one such pod
};

// One second of a run (t in [second, second + 1)): pods whose creation was answered, first seen
// bound, first seen ended in it. The bench's timeline (k8s_load --timeline) is these rows.
struct SecondCounts {
  int second = 0;
  int created = 0;
  int bound = 0;
  int ended = 0;
};

class BindRecord {
 public:
  // REQUIRES: pods > 0; group_size 0 (no gangs) or dividing pods.
  BindRecord(int pods, int group_size);

  // One watch event of pod `index` at time t_s: the first bound / ended sighting sticks.
  // Indexes out of range are ignored (pods this run did not create).
  void Observe(int index, bool bound, bool ended, double t_s);
  // Pod `index`'s creation was answered at t_s (out-of-range indexes ignored).
  void ObserveCreated(int index, double t_s);

  int bound() const { return bound_count_; }
  int ended() const { return ended_count_; }
  LoadSummary Summarize(double partial_grace_s) const;
  // Every second from 0 to the last event seen, in order (seconds with no event included).
  std::vector<SecondCounts> PerSecond() const;

 private:
  int PartialPodsOfGroup(int group, double partial_grace_s) const;

  int group_size_;
  std::vector<double> created_s_;  // -1 until its creation was answered
  std::vector<double> bound_s_;  // -1 until seen bound
  std::vector<double> ended_s_;  // -1 until seen Succeeded or Failed
  int bound_count_ = 0;
  int ended_count_ = 0;
};

}  // namespace kumo::bench
