// Prometheus text exposition (format 0.0.4): the one writer of /metrics for every kumo server
// (the control plane's and the cache's), and the two live instruments both feed it.
//
// The format (prometheus.io/docs/instrumenting/exposition_formats): per metric family a
// `# HELP name text` and a `# TYPE name counter|gauge|histogram` line, then its samples
// `name{label="value",...} number`, all samples of a family together. A histogram family has,
// per label set, cumulative `name_bucket{...,le="bound"}` samples ending with `le="+Inf"`, then
// `name_sum` and `name_count` (= the +Inf bucket). Label values escape `\`, `"` and newline.
//
//   TextWriter w;
//   w.Family("kumo_jobs", Type::kGauge, "Jobs by phase.");
//   w.Sample("kumo_jobs", {{"phase", "Running"}}, 3);      // kumo_jobs{phase="Running"} 3
//   std::string body = w.Take();
//
// Thread safety: TextWriter is used by one thread. Histogram and LabeledCounter may be updated and
// read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kumo::prometheus {

enum class Type { kCounter, kGauge, kHistogram };

// name=value pairs in the order they are written. Names are fixed identifiers ([a-z_]+);
// values are any text.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A histogram's state at one moment: per bucket counts (not cumulative), the last bucket being
// above every bound (+Inf). bounds are ascending upper bounds, in the metric's unit (seconds).
struct HistogramValue {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;  // size bounds.size() + 1
  double sum = 0;
};

class TextWriter {
 public:
  // Starts a family: its HELP and TYPE lines. Its samples follow before the next Family.
  void Family(std::string_view name, Type type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  // The _bucket (cumulative), _sum and _count samples of one label set.
  void Histogram(std::string_view name, const Labels& labels, const HistogramValue& h);
  // The text so far; the writer is empty afterwards.
  std::string Take() { return std::move(out_); }

 private:
  // `extra`: one more label after `labels` (a histogram's `le`), or nullptr.
  void Line(std::string_view name, const Labels& labels,
            const std::pair<std::string, std::string>* extra, double value);
  std::string out_;
};

// A number as the format writes it: integers without exponent or fraction ("42"), others in the
// shortest form that reads back exactly ("0.25", "5e-05"), "+Inf", "-Inf", "NaN".
std::string FormatValue(double v);

// Bounds for latencies in seconds: 0.5 ms to 60 s, roughly ×2.5 apart.
std::vector<double> LatencyBoundsSeconds();

// A histogram with fixed bounds, observed from any thread (relaxed atomics: a scrape may see
// an observation's bucket before its sum, which Prometheus tolerates).
class Histogram {
 public:
  // REQUIRES: bounds ascending, at most kMaxBuckets of them.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  HistogramValue Value() const;

  static constexpr size_t kMaxBuckets = 32;

 private:
  std::vector<double> bounds_;
  std::array<std::atomic<uint64_t>, kMaxBuckets + 1> counts_{};
  std::atomic<double> sum_{0};
};

// A counter family keyed by label values (a small, bounded set: routes, reasons, projects).
class LabeledCounter {
 public:
  void Add(const Labels& labels, double n = 1);
  // Every label set's value so far (0 when never added).
  double Get(const Labels& labels) const;
  // One sample per label set, after the family's HELP/TYPE lines.
  void Write(TextWriter& w, std::string_view name, std::string_view help) const;

 private:
  mutable std::mutex mu_;
  std::map<Labels, double> values_;  // guarded by mu_
};

}  // namespace kumo::prometheus
