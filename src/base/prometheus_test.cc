#include "base/prometheus.h"

#include <gtest/gtest.h>

#include <thread>

namespace kumo::prometheus {
namespace {

TEST(PrometheusTextTest, FamilyAndSamples) {
  TextWriter w;
  w.Family("kumo_jobs", Type::kGauge, "Jobs by phase.");
  w.Sample("kumo_jobs", {{"phase", "Running"}, {"project", "vision"}}, 3);
  w.Sample("kumo_jobs", {}, 0.25);
  EXPECT_EQ(w.Take(),
            "# HELP kumo_jobs Jobs by phase.\n"
            "# TYPE kumo_jobs gauge\n"
            "kumo_jobs{phase=\"Running\",project=\"vision\"} 3\n"
            "kumo_jobs 0.25\n");
}

TEST(PrometheusTextTest, EscapesLabelValuesAndHelp) {
  TextWriter w;
  w.Family("m", Type::kCounter, "a \\ b\nc \"q\"");
  w.Sample("m", {{"route", "a\"b\\c\nd"}}, 1);
  // HELP escapes backslash and newline only; label values also the double quote.
  EXPECT_EQ(w.Take(),
            "# HELP m a \\\\ b\\nc \"q\"\n# TYPE m counter\n"
            "m{route=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(PrometheusTextTest, FormatsNumbers) {
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.5), "0.5");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatValue(0.0 / 0.0 * 0), "NaN");
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulative) {
  Histogram h({0.1, 1});
  h.Observe(0.05);  // first bucket
  h.Observe(0.1);   // a bound is inclusive: le="0.1"
  h.Observe(0.5);
  h.Observe(7);  // above every bound: +Inf only
  TextWriter w;
  w.Histogram("d_seconds", {{"k", "v"}}, h.Value());
  EXPECT_EQ(w.Take(),
            "d_seconds_bucket{k=\"v\",le=\"0.1\"} 2\n"
            "d_seconds_bucket{k=\"v\",le=\"1\"} 3\n"
            "d_seconds_bucket{k=\"v\",le=\"+Inf\"} 4\n"
            "d_seconds_sum{k=\"v\"} 7.65\n"
            "d_seconds_count{k=\"v\"} 4\n");
}

TEST(PrometheusTextTest, CountersFromManyThreads) {
  LabeledCounter c;
  Histogram h(LatencyBoundsSeconds());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        c.Add({{"code", "200"}});
        h.Observe(0.001);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Get({{"code", "200"}}), 4000);
  EXPECT_EQ(c.Get({{"code", "500"}}), 0);
  HistogramValue v = h.Value();
  EXPECT_EQ(v.counts[1], 4000u);  // le=0.001
  TextWriter w;
  c.Write(w, "requests_total", "Requests.");
  EXPECT_EQ(w.Take(),
            "# HELP requests_total Requests.\n# TYPE requests_total counter\n"
            "requests_total{code=\"200\"} 4000\n");
}

}  // namespace
}  // namespace kumo::prometheus
