#include "core/gang_placer.h"

#include <algorithm>
#include <climits>
#include <numeric>

namespace kumo::core::internal {
namespace {

int64_t Avail(const ResourceVector& free, const ResourceVector& term, const ResourceVector& hold,
              int k, Use use) {
  switch (use) {
    case Use::kNow:
      return free[k] - hold[k];
    case Use::kShort:
      return free[k];
    case Use::kAfterExit:
      return free[k] + term[k];
  }
  return 0;
}

int32_t SlotAvail(const GpuSlot& g, Use use) {
  switch (use) {
    case Use::kNow:
      return g.free - g.hold;
    case Use::kShort:
      return g.free;
    case Use::kAfterExit:
      return g.free + g.term;
  }
  return 0;
}

bool ModelOk(const TaskDemand& t, const GpuSlot& g) {
  return t.model_ok == nullptr || (*t.model_ok)[g.model] != 0;
}

// Takes `x` from a (free, term, hold) triple under `use`; returns how much came from `term`.
int64_t Take(int64_t& free, int64_t& term, int64_t& hold, int64_t x, Use use) {
  switch (use) {
    case Use::kNow:
      free -= x;
      return 0;
    case Use::kShort:
      free -= x;
      hold -= std::min(hold, x);
      return 0;
    case Use::kAfterExit: {
      int64_t from_term = std::min(term, x);
      term -= from_term;
      free -= x - from_term;
      return from_term;
    }
  }
  return 0;
}

}  // namespace

bool GangPlacer::Fits(int32_t n, const TaskDemand& t, Use use) const {
  const NodeRt& node = s_.nodes[n];
  if (!node.schedulable || !(*t.eligible)[n]) return false;
  for (int k = 0; k < kNumResourceKinds; ++k) {
    if (k == kGpu || t.res[k] == 0) continue;
    if (t.res[k] > Avail(node.free, node.term, node.hold, k, use)) return false;
  }
  if (t.whole > 0) {
    int32_t whole = 0;
    for (const GpuSlot& g : node.gpus)
      if (SlotAvail(g, use) == kMilliPerGpu && ModelOk(t, g)) ++whole;
    return whole >= t.whole;
  }
  if (t.share > 0) {
    for (const GpuSlot& g : node.gpus)
      if (SlotAvail(g, use) >= t.share && ModelOk(t, g)) return true;
    return false;
  }
  return true;
}

int64_t GangPlacer::ScoreOn(int32_t n, const TaskDemand& t, Use use) const {
  const NodeRt& node = s_.nodes[n];
  NodeFit f;
  f.gpus_total = static_cast<int32_t>(node.gpus.size());
  f.task_uses_gpu = t.whole > 0 || t.share > 0;
  int32_t whole = 0;
  int64_t milli = 0;
  bool has_partial_fit = false;
  for (const GpuSlot& g : node.gpus) {
    int32_t a = SlotAvail(g, use);
    if (a == kMilliPerGpu) ++whole;
    milli += std::max(a, 0);
    if (t.share > 0 && a >= t.share && a < kMilliPerGpu && ModelOk(t, g)) has_partial_fit = true;
  }
  f.breaks_whole_gpu = t.share > 0 && !has_partial_fit;
  f.whole_free_after = std::clamp(whole - t.whole - (f.breaks_whole_gpu ? 1 : 0), 0, 63);
  f.gpu_milli_free_after = std::clamp<int64_t>(milli - t.res[kGpu], 0, 65535);
  int64_t cpu_cap = std::max<int64_t>(node.capacity[kCpu], 1);
  int64_t cpu_after = Avail(node.free, node.term, node.hold, kCpu, use) - t.res[kCpu];
  f.cpu_free_after_permille = std::clamp<int64_t>(cpu_after * 1000 / cpu_cap, 0, 1023);
  f.prefer_no_schedule = t.prefer_no != nullptr && (*t.prefer_no)[n] != 0;
  if (f.task_uses_gpu && t.model_ok == nullptr && !node.gpus.empty() &&
      static_cast<size_t>(node.gpus.front().model) < model_pressure_.size())
    f.model_pressure = model_pressure_[node.gpus.front().model];
  return policy_.Score(f);
}

void GangPlacer::Apply(int32_t n, const TaskDemand& t, Use use, PlacedTask* placed) {
  NodeRt& node = s_.nodes[n];
  s_.BeginChange(n);
  for (int k = 0; k < kNumResourceKinds; ++k) {
    if (k == kGpu || t.res[k] == 0) continue;
    term_taken_ += Take(node.free[k], node.term[k], node.hold[k], t.res[k], use);
  }
  placed->group = t.group;
  placed->index = t.index;
  placed->node = n;
  placed->res = t.res;
  placed->slots.clear();
  const bool pack = policy_.PacksDomains();
  auto take_slot = [&](int32_t pos, int32_t milli) {
    GpuSlot& g = node.gpus[pos];
    int64_t free = g.free, term = g.term, hold = g.hold;
    term_taken_ += Take(free, term, hold, milli, use);
    g.free = static_cast<int32_t>(free);
    g.term = static_cast<int32_t>(term);
    g.hold = static_cast<int32_t>(hold);
    placed->slots.emplace_back(pos, milli);
  };
  if (t.whole > 0) {
    // Whole GPUs: all from one NVLink group when one has room (best fit when packing, the
    // roomiest when spreading); otherwise from the roomiest groups first.
    std::vector<int32_t> cand;
    for (int32_t i = 0; i < static_cast<int32_t>(node.gpus.size()); ++i)
      if (SlotAvail(node.gpus[i], use) == kMilliPerGpu && ModelOk(t, node.gpus[i]))
        cand.push_back(i);
    // Free whole GPUs per NVLink group, counted before any sorting.
    std::vector<std::pair<int32_t, int32_t>> counts;  // (group, free whole GPUs)
    for (int32_t i : cand) {
      int32_t grp = node.gpus[i].nvlink_group;
      auto it =
          std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == grp; });
      if (it == counts.end()) {
        counts.emplace_back(grp, 1);
      } else {
        ++it->second;
      }
    }
    auto group_count = [&](int32_t group) {
      for (const auto& c : counts)
        if (c.first == group) return c.second;
      return 0;
    };
    int32_t chosen_group = -1, chosen_count = 0;
    for (const auto& [grp, c] : counts) {
      if (c < t.whole) continue;
      bool better = chosen_group < 0 || (pack ? c < chosen_count : c > chosen_count) ||
                    (c == chosen_count && grp < chosen_group);
      if (better) {
        chosen_group = grp;
        chosen_count = c;
      }
    }
    std::stable_sort(cand.begin(), cand.end(), [&](int32_t a, int32_t b) {
      int32_t ga = node.gpus[a].nvlink_group, gb = node.gpus[b].nvlink_group;
      if (chosen_group >= 0) {
        bool ia = ga == chosen_group, ib = gb == chosen_group;
        if (ia != ib) return ia;
        return a < b;
      }
      int32_t ca = group_count(ga), cb = group_count(gb);
      if (ca != cb) return ca > cb;
      if (ga != gb) return ga < gb;
      return a < b;
    });
    for (int32_t i = 0; i < t.whole; ++i) take_slot(cand[i], kMilliPerGpu);
  } else if (t.share > 0) {
    int32_t best = -1, best_avail = 0;
    for (int32_t i = 0; i < static_cast<int32_t>(node.gpus.size()); ++i) {
      int32_t a = SlotAvail(node.gpus[i], use);
      if (a < t.share || !ModelOk(t, node.gpus[i])) continue;
      if (best < 0 || (pack ? a < best_avail : a > best_avail)) {
        best = i;
        best_avail = a;
      }
    }
    take_slot(best, t.share);
  }
  s_.EndChange(n);
}

bool GangPlacer::BlockMayFit(const Domain& d, const TaskDemand& t) const {
  if (t.res[kCpu] > d.free_cpu || t.res[kMemory] > d.free_memory) return false;
  if (t.res[kGpu] > d.free_gpu_milli) return false;
  if (t.whole > 0) {
    int64_t nodes = 0;
    for (size_t w = static_cast<size_t>(t.whole); w < d.nodes_by_whole_free.size(); ++w)
      nodes += d.nodes_by_whole_free[w];
    if (nodes == 0) return false;
  }
  return true;
}

bool GangPlacer::GangMayFit(const Domain& d, const GangRequest& gang) const {
  if (gang.total[kCpu] > d.free_cpu || gang.total[kMemory] > d.free_memory ||
      gang.total[kGpu] > d.free_gpu_milli)
    return false;
  // Each task of w whole GPUs needs a node with >= w whole free GPUs: for every size w, the
  // tasks of size >= w need at least as many w-sized chunks of free GPUs on single nodes.
  std::vector<int32_t>& sizes = sizes_scratch_;
  sizes.clear();
  for (const TaskDemand& t : gang.tasks)
    if (t.whole > 0) sizes.push_back(t.whole);
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int32_t w = sizes[i];
    if (i + 1 < sizes.size() && sizes[i + 1] == w) continue;  // last task of this size
    const int64_t tasks_at_least = static_cast<int64_t>(i + 1);
    int64_t chunks = 0;
    for (size_t f = static_cast<size_t>(w); f < d.nodes_by_whole_free.size(); ++f)
      chunks += d.nodes_by_whole_free[f] * static_cast<int64_t>(f / static_cast<size_t>(w));
    if (chunks < tasks_at_least) return false;
  }
  return true;
}

bool GangPlacer::PlaceWithin(int32_t domain, const GangRequest& gang, Use use,
                             std::vector<PlacedTask>* out) {
  const Domain& d = s_.domains[domain];
  const bool pack = policy_.PacksDomains();
  const bool use_aggregates = use != Use::kAfterExit;
  std::vector<uint8_t> tried;
  for (const TaskDemand& t : gang.tasks) {
    int32_t best = -1;
    int64_t best_score = 0;
    // The best-scoring node at positions [begin, end) of the topology order, into best.
    auto scan = [&](int32_t begin, int32_t end) {
      for (int32_t pos = begin; pos < end; ++pos) {
        int32_t n = s_.order[pos];
        if (!Fits(n, t, use)) continue;
        int64_t score = ScoreOn(n, t, use);
        if (best < 0 || score < best_score) {
          best = n;
          best_score = score;
        }
      }
    };
    if (!use_aggregates) {
      scan(d.node_begin, d.node_end);  // terminating resources are not in the aggregates
    } else {
      // Best-fit block first (fullest that may hold the task when packing, emptiest when
      // spreading), judged on aggregates; then the best node inside it. A block whose aggregates
      // were optimistic is skipped and the next best tried.
      tried.assign(static_cast<size_t>(d.block_end - d.block_begin), 0);
      while (best < 0) {
        int32_t chosen = -1;
        int64_t chosen_free = 0;
        for (int32_t b = d.block_begin; b < d.block_end; ++b) {
          if (tried[b - d.block_begin]) continue;
          const Domain& block = s_.domains[s_.block_domain[b]];
          if (!BlockMayFit(block, t)) continue;
          // Whole-GPU tasks: first by the whole free GPUs of the block's best-fitting node (its
          // tightest node with room when packing, its roomiest when spreading), so the choice of
          // block agrees with the node score's most significant GPU key.
          int64_t w_key = 0;
          if (t.whole > 0) {
            const auto& hist = block.nodes_by_whole_free;
            int32_t w = -1;
            if (pack) {
              for (size_t f = static_cast<size_t>(t.whole); f < hist.size() && w < 0; ++f)
                if (hist[f] > 0) w = static_cast<int32_t>(f);
            } else {
              for (size_t f = hist.size(); f-- > static_cast<size_t>(t.whole) && w < 0;)
                if (hist[f] > 0) w = static_cast<int32_t>(f);
            }
            w_key = w;
          }
          int64_t free = (w_key << 40) + block.free_gpu_milli * 1024 +
                         std::min<int64_t>(block.free_cpu / 1000, 1023);
          if (chosen < 0 || (pack ? free < chosen_free : free > chosen_free)) {
            chosen = b;
            chosen_free = free;
          }
        }
        if (chosen < 0) break;
        tried[chosen - d.block_begin] = 1;
        const Domain& block = s_.domains[s_.block_domain[chosen]];
        scan(block.node_begin, block.node_end);
      }
    }
    if (best < 0) return false;
    out->emplace_back();
    Apply(best, t, use, &out->back());
  }
  return true;
}

bool GangPlacer::PlaceOnNode(int32_t node, const GangRequest& gang, Use use,
                             std::vector<PlacedTask>* out) {
  for (const TaskDemand& t : gang.tasks) {
    if (!Fits(node, t, use)) return false;
    out->emplace_back();
    Apply(node, t, use, &out->back());
  }
  return true;
}

bool GangPlacer::Place(const GangRequest& gang, Use use, std::vector<PlacedTask>* out,
                       bool all_domains) {
  term_taken_ = 0;
  if (PlaceOrdered(gang, use, out, all_domains)) return true;
  // The search is greedy, largest task first. When the gang's task groups differ, a task that
  // could go to many nodes may take the only node another could use (a GPU model, a selector, or
  // simply the one node with enough memory). Retry once with the groups that fit the fewest nodes
  // (on capacity, ignoring what is in use) first.
  bool mixed = false;
  for (const TaskDemand& t : gang.tasks) mixed |= t.group != gang.tasks.front().group;
  if (!mixed) return false;
  std::vector<std::pair<int32_t, int64_t>> hosts;  // (group, nodes that could ever hold one task)
  for (const TaskDemand& t : gang.tasks) {
    if (std::any_of(hosts.begin(), hosts.end(), [&](const auto& h) { return h.first == t.group; }))
      continue;
    int64_t count = 0;
    for (size_t n = 0; n < s_.nodes.size(); ++n) {
      const NodeRt& node = s_.nodes[n];
      if (!node.schedulable || !(*t.eligible)[n]) continue;
      bool fits = true;
      for (int k = 0; k < kNumResourceKinds && fits; ++k)
        if (k != kGpu && t.res[k] > node.capacity[k]) fits = false;
      int32_t usable = 0;
      for (const GpuSlot& g : node.gpus) usable += ModelOk(t, g);
      if (t.whole > usable || (t.share > 0 && usable == 0)) fits = false;
      count += fits;
    }
    hosts.emplace_back(t.group, count);
  }
  auto hosts_of = [&](int32_t group) {
    for (const auto& h : hosts)
      if (h.first == group) return h.second;
    return int64_t{0};
  };
  GangRequest constrained = gang;
  std::stable_sort(constrained.tasks.begin(), constrained.tasks.end(),
                   [&](const TaskDemand& a, const TaskDemand& b) {
                     return hosts_of(a.group) < hosts_of(b.group);
                   });
  term_taken_ = 0;
  return PlaceOrdered(constrained, use, out, all_domains);
}

bool GangPlacer::PlaceOrdered(const GangRequest& gang, Use use, std::vector<PlacedTask>* out,
                              bool all_domains) {
  const int32_t max_attempts = all_domains ? INT32_MAX : max_domain_attempts_;
  const size_t mark = s_.Mark();
  const size_t out_size = out->size();
  auto undo = [&] {
    s_.Rollback(mark);
    out->resize(out_size);
    term_taken_ = 0;
  };
  const bool pack = policy_.PacksDomains();
  const bool use_aggregates = use != Use::kAfterExit;

  if (gang.level == GangRequest::kNodeLevel) {
    // All tasks on one node: try nodes from the best-scoring for the first task.
    std::vector<std::pair<int64_t, int32_t>> cand;
    for (int32_t pos = 0; pos < static_cast<int32_t>(s_.order.size()); ++pos) {
      int32_t n = s_.order[pos];
      if (Fits(n, gang.tasks.front(), use))
        cand.emplace_back(ScoreOn(n, gang.tasks.front(), use), pos);
    }
    std::sort(cand.begin(), cand.end());
    int32_t attempts = 0;
    for (auto [score, pos] : cand) {
      if (attempts++ >= max_attempts) break;
      if (PlaceOnNode(s_.order[pos], gang, use, out)) return true;
      undo();
    }
    if (gang.required) return false;
  } else if (gang.level > 0) {
    // Try each domain of the level (and then of the enclosing levels when the constraint is only
    // preferred) that may hold the whole gang: the fullest first when packing.
    for (int32_t level = gang.level; level >= 1; --level) {
      std::vector<int32_t> cand;
      for (int32_t dom : s_.level_domains[level])
        if (!use_aggregates || GangMayFit(s_.domains[dom], gang)) cand.push_back(dom);
      std::sort(cand.begin(), cand.end(), [&](int32_t a, int32_t b) {
        const Domain& da = s_.domains[a];
        const Domain& db = s_.domains[b];
        if (da.free_gpu_milli != db.free_gpu_milli)
          return pack ? da.free_gpu_milli < db.free_gpu_milli
                      : da.free_gpu_milli > db.free_gpu_milli;
        if (da.free_cpu != db.free_cpu)
          return pack ? da.free_cpu < db.free_cpu : da.free_cpu > db.free_cpu;
        return a < b;
      });
      int32_t attempts = 0;
      for (int32_t dom : cand) {
        if (attempts++ >= max_attempts) break;
        if (PlaceWithin(dom, gang, use, out)) return true;
        undo();
      }
      if (gang.required) return false;
    }
  }
  if (use_aggregates && !GangMayFit(s_.domains[0], gang)) return false;
  if (PlaceWithin(0, gang, use, out)) return true;
  undo();
  return false;
}

void Release(ClusterState& s, const PlacedTask& t, ReleaseKind kind) {
  NodeRt& node = s.nodes[t.node];
  s.BeginChange(t.node);
  for (int k = 0; k < kNumResourceKinds; ++k) {
    if (k == kGpu || t.res[k] == 0) continue;
    switch (kind) {
      case ReleaseKind::kUsedToFree:
        node.free[k] += t.res[k];
        break;
      case ReleaseKind::kUsedToTerm:
        node.term[k] += t.res[k];
        break;
      case ReleaseKind::kTermToFree: {
        // Part of a terminating task's share may already be promised to a job waiting for it
        // (Use::kAfterExit took it from `term`); only the rest becomes free.
        int64_t x = std::min(node.term[k], t.res[k]);
        node.term[k] -= x;
        node.free[k] += x;
        break;
      }
    }
  }
  for (auto [pos, milli] : t.slots) {
    GpuSlot& g = node.gpus[pos];
    switch (kind) {
      case ReleaseKind::kUsedToFree:
        g.free += milli;
        break;
      case ReleaseKind::kUsedToTerm:
        g.term += milli;
        break;
      case ReleaseKind::kTermToFree: {
        int32_t x = std::min(g.term, milli);
        g.term -= x;
        g.free += x;
        break;
      }
    }
  }
  s.EndChange(t.node);
}

}  // namespace kumo::core::internal
