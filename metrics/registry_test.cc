// The registry's text exposition: families, labels, escaping, histograms and
// callbacks, in the format promtool reads (tests/metrics_promtool_test.sh
// checks a real inventoryd's output with `promtool check metrics`).
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <thread>

namespace metrics {
namespace {

TEST(RegistryTest, CountersAndGaugesWithLabels) {
  Registry r;
  Counter* a = r.AddCounter("x_total", "X things", {{"kind", "a"}});
  Counter* b = r.AddCounter("x_total", "X things", {{"kind", "b"}});
  Gauge* g = r.AddGauge("depth", "Depth");
  a->Inc();
  a->Inc(2);
  g->Set(1.5);
  EXPECT_EQ(r.Expose(),
            "# HELP x_total X things\n# TYPE x_total counter\n"
            "x_total{kind=\"a\"} 3\nx_total{kind=\"b\"} 0\n"
            "# HELP depth Depth\n# TYPE depth gauge\ndepth 1.5\n");
  EXPECT_EQ(b->value(), 0u);
  EXPECT_EQ(r.Names(), (std::vector<std::string>{"x_total", "depth"}));
}

TEST(RegistryTest, LabelValuesAreEscaped) {
  Registry r;
  r.AddGauge("g", "G", {{"sku", "a\"b\\c\nd"}});
  EXPECT_NE(r.Expose().find("g{sku=\"a\\\"b\\\\c\\nd\"} 0\n"), std::string::npos) << r.Expose();
}

TEST(RegistryTest, HistogramBucketsAreCumulative) {
  Registry r;
  Histogram* h = r.AddHistogram("lat_seconds", "Latency", {0.1, 1}, {{"m", "x"}});
  h->Observe(0.05);
  h->Observe(0.1);  // a bound is inclusive (le)
  h->Observe(0.5);
  h->Observe(7);
  EXPECT_EQ(r.Expose(),
            "# HELP lat_seconds Latency\n# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{m=\"x\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{m=\"x\",le=\"1\"} 3\n"
            "lat_seconds_bucket{m=\"x\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{m=\"x\"} 7.65\n"
            "lat_seconds_count{m=\"x\"} 4\n");
  EXPECT_EQ(h->count(), 4u);
}

TEST(RegistryTest, CallbacksRunOnEachScrape) {
  Registry r;
  int calls = 0;
  r.AddCallback("lag_events", "Lag", Type::kGauge, [&] {
    ++calls;
    return std::vector<Sample>{{{{"p", "0"}}, static_cast<double>(calls)}};
  });
  EXPECT_NE(r.Expose().find("lag_events{p=\"0\"} 1\n"), std::string::npos);
  EXPECT_NE(r.Expose().find("lag_events{p=\"0\"} 2\n"), std::string::npos);
}

TEST(RegistryTest, CountsFromManyThreadsAreNotLost) {
  Registry r;
  Counter* c = r.AddCounter("n_total", "N");
  Histogram* h = r.AddHistogram("h", "H", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Inc();
        h->Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000u);
  EXPECT_EQ(h->count(), 40000u);
  EXPECT_DOUBLE_EQ(h->sum(), 20000);
}

TEST(RegistryDeathTest, BadNamesAreBugs) {
  Registry r;
  EXPECT_DEATH(r.AddCounter("requests", "no _total"), "must end in _total");
  EXPECT_DEATH(r.AddGauge("9lives", "bad start"), "metric name");
  EXPECT_DEATH(r.AddGauge("g", "le is reserved", {{"le", "1"}}), "label name");
  r.AddGauge("g", "G", {{"a", "1"}});
  EXPECT_DEATH(r.AddGauge("g", "G", {{"a", "1"}}), "registered twice");
  EXPECT_DEATH(r.AddCounter("g_total", "G"); r.AddGauge("g_total", "G"), "two types");
}

}  // namespace
}  // namespace metrics
