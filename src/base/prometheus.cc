#include "base/prometheus.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace kumo::prometheus {
namespace {

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes `\` and newline; label values also `"`.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
}

}  // namespace

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // The shortest text that reads back as the same double: 0.1 is "0.1", not 0.10000000000000001.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::vector<double> LatencyBoundsSeconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void TextWriter::Family(std::string_view name, Type type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  AppendEscaped(out_, help, /*quote=*/false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += TypeName(type);
  out_ += '\n';
}

void TextWriter::Sample(std::string_view name, const Labels& labels, double value) {
  Line(name, labels, nullptr, value);
}

void TextWriter::Histogram(std::string_view name, const Labels& labels, const HistogramValue& h) {
  std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < h.counts.size(); ++b) {
    cumulative += h.counts[b];
    std::pair<std::string, std::string> le{
        "le", b < h.bounds.size() ? FormatValue(h.bounds[b]) : std::string("+Inf")};
    Line(bucket, labels, &le, static_cast<double>(cumulative));
  }
  Line(std::string(name) + "_sum", labels, nullptr, h.sum);
  Line(std::string(name) + "_count", labels, nullptr, static_cast<double>(cumulative));
}

void TextWriter::Line(std::string_view name, const Labels& labels,
                      const std::pair<std::string, std::string>* extra, double value) {
  out_ += name;
  if (!labels.empty() || extra) {
    out_ += '{';
    bool first = true;
    auto label = [&](const std::pair<std::string, std::string>& l) {
      if (!first) out_ += ',';
      first = false;
      out_ += l.first;
      out_ += "=\"";
      AppendEscaped(out_, l.second, /*quote=*/true);
      out_ += '"';
    };
    for (const auto& l : labels) label(l);
    if (extra) label(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  assert(bounds_.size() <= kMaxBuckets);
}

void Histogram::Observe(double value) {
  size_t b = 0;
  while (b < bounds_.size() && value > bounds_[b]) ++b;
  counts_[b].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramValue Histogram::Value() const {
  HistogramValue v;
  v.bounds = bounds_;
  for (size_t b = 0; b <= bounds_.size(); ++b)
    v.counts.push_back(counts_[b].load(std::memory_order_relaxed));
  v.sum = sum_.load(std::memory_order_relaxed);
  return v;
}

void LabeledCounter::Add(const Labels& labels, double n) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[labels] += n;
}

double LabeledCounter::Get(const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

void LabeledCounter::Write(TextWriter& w, std::string_view name, std::string_view help) const {
  w.Family(name, Type::kCounter, help);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, v] : values_) w.Sample(name, labels, v);
}

}  // namespace kumo::prometheus
