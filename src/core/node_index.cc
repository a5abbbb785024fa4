#include "core/node_index.h"

#include <algorithm>

#include "core/text.h"

namespace kumo::core::internal {

namespace {

// Cuts nodes, visited in topology order, into nested domains: one per (level, path prefix),
// then blocks of at most block_size nodes inside the innermost level. Every domain covers a
// contiguous range of node positions and blocks.
class DomainBuilder {
 public:
  DomainBuilder(const Snapshot& snap, ClusterState& s, int32_t levels, int32_t block_size)
      : snap_(snap), s_(s), levels_(levels), block_size_(block_size), open_(levels + 1, 0) {
    s_.domains.clear();
    s_.level_domains.assign(levels + 2, {});
    s_.domains.push_back(Domain{});
    s_.domains[0].name = "cluster";
    s_.level_domains[0].push_back(0);
  }

  // Adds node n at position pos; `diff` is the first level where its path differs from the
  // previous node's (0 for the first node, `levels` when equal).
  void Add(int32_t pos, int32_t n, int32_t diff) {
    const bool first = pos == 0;
    const bool new_block = first || diff < levels_ || block_fill_ >= block_size_;
    if (!first) {
      for (int32_t l = levels_ - 1; l >= diff; --l) Close(open_[l + 1], pos);
      if (new_block) Close(s_.block_domain[block_], pos);
    }
    for (int32_t l = diff; l < levels_; ++l) {
      Domain d;
      d.level = l + 1;
      d.parent = open_[l];
      d.name = snap_.nodes[n].topology[l];
      d.node_begin = pos;
      d.block_begin = block_ + 1;
      open_[l + 1] = static_cast<int32_t>(s_.domains.size());
      s_.level_domains[l + 1].push_back(open_[l + 1]);
      s_.domains.push_back(std::move(d));
    }
    if (new_block) OpenBlock(pos);
    ++block_fill_;
    s_.nodes[n].block = block_;
  }

  // Closes every open domain after the last node.
  void Finish(int32_t end_pos) {
    if (end_pos > 0) {
      for (int32_t l = levels_ - 1; l >= 0; --l) Close(open_[l + 1], end_pos);
      Close(s_.block_domain[block_], end_pos);
    }
    Close(0, end_pos);
  }

 private:
  void Close(int32_t d, int32_t pos) {
    s_.domains[d].node_end = pos;
    s_.domains[d].block_end = block_ + 1;
  }
  void OpenBlock(int32_t pos) {
    ++block_;
    block_fill_ = 0;
    Domain d;
    d.level = levels_ + 1;
    d.parent = open_[levels_];
    d.name = "block";
    d.node_begin = pos;
    d.block_begin = block_;
    s_.block_domain.push_back(static_cast<int32_t>(s_.domains.size()));
    s_.level_domains[levels_ + 1].push_back(s_.block_domain.back());
    s_.domains.push_back(std::move(d));
    std::vector<int32_t> anc(open_.begin(), open_.end());
    anc.push_back(s_.block_domain.back());
    s_.block_ancestors.push_back(std::move(anc));
  }

  const Snapshot& snap_;
  ClusterState& s_;
  const int32_t levels_;
  const int32_t block_size_;
  std::vector<int32_t> open_;  // currently open domain per level (0 = root)
  int32_t block_fill_ = 0;
  int32_t block_ = -1;
};

}  // namespace

Status NodeIndex::Build(const Snapshot& snap, int32_t block_size, ClusterState* state) {
  snap_ = &snap;
  state_ = state;
  const int32_t levels = static_cast<int32_t>(snap.topology_levels.size());
  if (snap.extended_resources.size() > static_cast<size_t>(kMaxExtendedResources))
    return Status::InvalidArgument(Fmt("at most %d extended resources are supported, got %zu",
                                       kMaxExtendedResources, snap.extended_resources.size()));
  level_names_.assign(1, "cluster");
  for (const auto& l : snap.topology_levels) {
    if (l == "node" || l == "cluster" || l.empty())
      return Status::InvalidArgument("topology level name \"" + l + "\" is reserved or empty");
    level_names_.push_back(l);
  }
  const size_t n_nodes = snap.nodes.size();
  state->nodes.resize(n_nodes);
  level_ids_.assign(levels, {});
  std::vector<std::vector<int32_t>> path(n_nodes, std::vector<int32_t>(levels));
  for (size_t i = 0; i < n_nodes; ++i)
    if (Status s = LoadNode(i, levels, &path[i]); !s.ok()) return s;
  // Topology order: by domain path, then input order.
  state->order.resize(n_nodes);
  for (size_t i = 0; i < n_nodes; ++i) state->order[i] = static_cast<int32_t>(i);
  std::stable_sort(state->order.begin(), state->order.end(),
                   [&](int32_t a, int32_t b) { return path[a] < path[b]; });
  BuildDomains(path, block_size);
  state->RebuildAggregates();
  return Status::Ok();
}

// Validates node i and loads it into state_->nodes[i]; *path gets its domain id at each level.
Status NodeIndex::LoadNode(size_t i, int32_t levels, std::vector<int32_t>* path) {
  const Node& n = snap_->nodes[i];
  if (n.name.empty()) return Status::InvalidArgument(Fmt("nodes[%zu].name is empty", i));
  if (!node_by_name_.emplace(n.name, static_cast<int32_t>(i)).second)
    return Status::InvalidArgument("duplicate node name \"" + n.name + "\"");
  if (static_cast<int32_t>(n.topology.size()) != levels)
    return Status::InvalidArgument(
        Fmt("node \"%s\": topology has %zu entries, the snapshot declares %d levels",
            n.name.c_str(), n.topology.size(), levels));
  std::string key;
  for (int32_t l = 0; l < levels; ++l) {
    key += n.topology[l];
    key.push_back('\0');
    auto [it, inserted] = level_ids_[l].emplace(key, static_cast<int32_t>(level_ids_[l].size()));
    (*path)[l] = it->second;
  }
  NodeRt& rt = state_->nodes[i];
  rt.snapshot_index = static_cast<int32_t>(i);
  rt.schedulable = !n.unschedulable;
  rt.capacity = n.allocatable;
  for (int k = 0; k < kNumResourceKinds; ++k)
    if (rt.capacity[k] < 0)
      return Status::InvalidArgument(Fmt("node \"%s\": negative allocatable", n.name.c_str()));
  rt.capacity[kGpu] = static_cast<int64_t>(n.gpus.size()) * kMilliPerGpu;
  rt.free = rt.capacity;
  std::vector<int32_t> seen;
  for (const Gpu& g : n.gpus) {
    if (std::find(seen.begin(), seen.end(), g.index) != seen.end())
      return Status::InvalidArgument(
          Fmt("node \"%s\": duplicate GPU index %d", n.name.c_str(), g.index));
    seen.push_back(g.index);
    GpuSlot s;
    s.free = kMilliPerGpu;
    s.model =
        model_by_name_.emplace(g.model, static_cast<int32_t>(model_by_name_.size())).first->second;
    s.nvlink_group = g.nvlink_group;
    s.index = g.index;
    rt.gpus.push_back(s);
  }
  state_->max_gpus_per_node =
      std::max<int32_t>(state_->max_gpus_per_node, static_cast<int32_t>(n.gpus.size()));
  if (!n.unschedulable) capacity_ += rt.capacity;
  return Status::Ok();
}

void NodeIndex::BuildDomains(const std::vector<std::vector<int32_t>>& path, int32_t block_size) {
  const int32_t levels = static_cast<int32_t>(level_names_.size()) - 1;
  const int32_t n_nodes = static_cast<int32_t>(state_->order.size());
  DomainBuilder builder(*snap_, *state_, levels, block_size);
  for (int32_t pos = 0; pos < n_nodes; ++pos) {
    const int32_t n = state_->order[pos];
    int32_t diff = pos == 0 ? 0 : levels;
    if (pos > 0) {
      const std::vector<int32_t>& prev = path[state_->order[pos - 1]];
      for (int32_t l = 0; l < levels; ++l)
        if (path[n][l] != prev[l]) {
          diff = l;
          break;
        }
    }
    builder.Add(pos, n, diff);
  }
  builder.Finish(n_nodes);
}

int32_t NodeIndex::NodeId(const std::string& name) const {
  auto n = node_by_name_.find(name);
  return n == node_by_name_.end() ? -1 : n->second;
}

std::optional<PlacedTask> NodeIndex::ToPlacedTask(const Job& job, const TaskPlacement& tp,
                                                  std::string* why) const {
  const int32_t node_id = NodeId(tp.node);
  if (node_id < 0) {
    *why = "job \"" + job.id + "\": task on unknown node \"" + tp.node + "\"";
    return std::nullopt;
  }
  if (tp.group < 0 || tp.group >= static_cast<int32_t>(job.groups.size())) {
    *why = Fmt("job \"%s\": task placement names group %d of %zu", job.id.c_str(), tp.group,
               job.groups.size());
    return std::nullopt;
  }
  PlacedTask pt;
  pt.group = tp.group;
  pt.index = tp.index;
  pt.node = node_id;
  pt.res = job.groups[tp.group].resources;
  pt.res[kGpu] = 0;
  const NodeRt& node = state_->nodes[pt.node];
  for (const GpuShare& gs : tp.gpus) {
    int32_t pos = -1;
    for (int32_t sl = 0; sl < static_cast<int32_t>(node.gpus.size()); ++sl)
      if (node.gpus[sl].index == gs.gpu_index) pos = sl;
    if (pos < 0) {
      *why = Fmt("job \"%s\": task on node \"%s\" uses unknown GPU %d", job.id.c_str(),
                 tp.node.c_str(), gs.gpu_index);
      return std::nullopt;
    }
    pt.slots.emplace_back(pos, static_cast<int32_t>(gs.milli));
    pt.res[kGpu] += gs.milli;
  }
  return pt;
}

Eligibility NodeIndex::EligibilityOf(const Job& job, const TaskGroup& g) {
  std::string key;
  for (const Label& l : job.node_selector) key += l.key + '=' + l.value + '\x01';
  key += '\x02';
  for (const Toleration& t : job.tolerations)
    key += t.key + (t.op == Toleration::Operator::kExists ? "?" : "=") + t.value + ':' +
           (t.effect ? std::to_string(static_cast<int>(*t.effect)) : "*") + '\x01';
  key += '\x02';
  for (const std::string& m : g.gpu_models) key += m + '\x01';
  auto [it, inserted] = elig_cache_.try_emplace(key);
  EligEntry& e = it->second;
  if (inserted) FillEligibility(job, g, &e);
  Eligibility out;
  out.eligible = &e.eligible;
  out.prefer_no = e.has_prefer_no ? &e.prefer_no : nullptr;
  out.model_ok = e.has_model_filter ? &e.model_ok : nullptr;
  out.every_node = !e.has_model_filter && e.count == static_cast<int32_t>(snap_->nodes.size());
  out.eligible_nodes = e.count;
  return out;
}

// Kubernetes semantics: every selector label must be on the node; an untolerated NoSchedule or
// NoExecute taint excludes it, an untolerated PreferNoSchedule only marks it.
void NodeIndex::FillEligibility(const Job& job, const TaskGroup& g, EligEntry* e) const {
  e->model_ok.assign(model_by_name_.size(), g.gpu_models.empty() ? 1 : 0);
  for (const std::string& m : g.gpu_models) {
    auto mi = model_by_name_.find(m);
    if (mi != model_by_name_.end()) e->model_ok[mi->second] = 1;
  }
  e->has_model_filter = !g.gpu_models.empty();
  e->eligible.assign(snap_->nodes.size(), 0);
  e->prefer_no.assign(snap_->nodes.size(), 0);
  for (size_t i = 0; i < snap_->nodes.size(); ++i) {
    const Node& n = snap_->nodes[i];
    bool ok = true;
    for (const Label& want : job.node_selector)
      ok &= std::find(n.labels.begin(), n.labels.end(), want) != n.labels.end();
    bool prefer_no_hit = false;
    for (const Taint& taint : n.taints) {
      bool tolerated = false;
      for (const Toleration& t : job.tolerations) {
        if (t.effect && *t.effect != taint.effect) continue;
        if (t.op == Toleration::Operator::kExists) {
          tolerated |= t.key.empty() || t.key == taint.key;
        } else {
          tolerated |= t.key == taint.key && t.value == taint.value;
        }
      }
      if (tolerated) continue;
      if (taint.effect == TaintEffect::kPreferNoSchedule) {
        prefer_no_hit = true;
      } else {
        ok = false;
      }
    }
    e->eligible[i] = ok;
    e->prefer_no[i] = prefer_no_hit;
    e->has_prefer_no |= prefer_no_hit;
    e->count += ok;
  }
}

}  // namespace kumo::core::internal
