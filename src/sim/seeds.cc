#include "sim/seeds.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace kumo::sim {
namespace {

struct Metric {
  const char* name;
  double (*of)(const SimReport&);
  bool hours;  // shown in hours in the table
};

constexpr Metric kMetrics[] = {
    {"mean_jct_s", [](const SimReport& r) { return r.jct_s.mean; }, true},
    {"p99_jct_s", [](const SimReport& r) { return r.jct_s.p99; }, true},
    {"queueing_delay_mean_s", [](const SimReport& r) { return r.queue_s.mean; }, true},
    {"goodput", [](const SimReport& r) { return r.goodput; }, false},
    {"gpu_allocation", [](const SimReport& r) { return r.gpu_allocation; }, false},
    {"ftf_rho_max", [](const SimReport& r) { return r.ftf_rho_max; }, false},
    {"jain_fairness", [](const SimReport& r) { return r.jain_fairness; }, false},
    {"preemptions", [](const SimReport& r) { return static_cast<double>(r.preemptions); }, false},
    {"gpu_hours_lost", [](const SimReport& r) { return r.gpu_hours_lost; }, false},
};

// The median (the mean of the middle two for an even count). REQUIRES: !v.empty().
MetricSpread Spread(const char* metric, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {metric, median, v.front(), v.back()};
}

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::vector<PolicySpread> SpreadOverSeeds(const std::vector<std::vector<SimReport>>& runs) {
  std::vector<PolicySpread> out;
  if (runs.empty()) return out;
  for (size_t p = 0; p < runs[0].size(); ++p) {
    PolicySpread ps{runs[0][p].policy, {}};
    for (const Metric& m : kMetrics) {
      std::vector<double> values;
      for (const auto& run : runs) values.push_back(m.of(run[p]));
      ps.metrics.push_back(Spread(m.name, std::move(values)));
    }
    out.push_back(std::move(ps));
  }
  return out;
}

std::string FormatSpreadTable(const std::string& trace, double load, int64_t seeds,
                              const std::vector<PolicySpread>& spreads) {
  std::ostringstream o;
  char cell[96];
  o << "\ntrace " << trace << ", offered load " << Num(load) << ", " << seeds
    << " seeds: median [min..max] (times in hours)\n";
  std::snprintf(cell, sizeof cell, "%-20s", "policy");
  o << cell;
  for (const Metric& m : kMetrics) {
    std::snprintf(cell, sizeof cell, " %24s", m.name);
    o << cell;
  }
  o << "\n";
  for (const PolicySpread& ps : spreads) {
    std::snprintf(cell, sizeof cell, "%-20s", ps.policy.c_str());
    o << cell;
    for (size_t i = 0; i < ps.metrics.size(); ++i) {
      const MetricSpread& s = ps.metrics[i];
      const double k = kMetrics[i].hours ? 1 / 3600.0 : 1;
      std::snprintf(cell, sizeof cell, "%.4g [%.4g..%.4g]", s.median * k, s.min * k, s.max * k);
      std::string text = cell;
      std::snprintf(cell, sizeof cell, " %24s", text.c_str());
      o << cell;
    }
    o << "\n";
  }
  return o.str();
}

std::string SpreadToJson(const std::string& trace, double load, const std::vector<uint64_t>& seeds,
                         const std::vector<PolicySpread>& spreads) {
  std::ostringstream o;
  o << "{\"trace\":\"" << trace << "\",\"load\":" << Num(load) << ",\"seeds\":[";
  for (size_t i = 0; i < seeds.size(); ++i) o << (i ? "," : "") << seeds[i];
  o << "],\"policies\":{";
  for (size_t p = 0; p < spreads.size(); ++p) {
    const PolicySpread& ps = spreads[p];
    o << (p ? "," : "") << "\"" << ps.policy << "\":{";
    for (const MetricSpread& s : ps.metrics) o << "\"" << s.metric << "\":" << Num(s.median) << ",";
    o << "\"spread\":{";
    for (size_t i = 0; i < ps.metrics.size(); ++i) {
      const MetricSpread& s = ps.metrics[i];
      o << (i ? "," : "") << "\"" << s.metric << "\":{\"median\":" << Num(s.median)
        << ",\"min\":" << Num(s.min) << ",\"max\":" << Num(s.max) << "}";
    }
    o << "}}";
  }
  o << "}}\n";
  return o.str();
}

}  // namespace kumo::sim
