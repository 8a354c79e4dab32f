// A small Prometheus registry with its own text exposition (format 0.0.4),
// built for the writer's hot path: recording is one relaxed atomic add on a
// series resolved once at start-up, with no lock, no map lookup and no
// allocation. docs/metrics.md says why this and not prometheus-cpp.
//
// A family is a metric name with its help, type and series (one per label
// set). Series are registered up front (Add*), and their pointers stay valid
// for the registry's lifetime. Values only known at scrape time (lags, queue
// depths, gauges read from the read models) come from callbacks that Expose
// runs; a callback family's samples are whatever it returns on each scrape.
//
// Names are checked when registered (INV_CHECK: a wrong name is a bug):
// [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in _total, label names
// [a-zA-Z_][a-zA-Z0-9_]* and not "le" except as histograms write it.
//
// Thread-safety: Counter, Gauge and Histogram methods from any thread,
// lock-free. Add*, Expose and Names from any thread (one mutex; scrapes and
// registration only).
#ifndef METRICS_REGISTRY_H_
#define METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type : uint8_t { kCounter, kGauge, kHistogram };

// A monotonic count.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending; +Inf is
// implicit). Observe is a short scan over the bounds and two atomic adds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket (not cumulative), the last one +Inf.
  std::vector<uint64_t> bucket_counts() const;
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// `count` bounds from `start`, each `factor` times the previous.
std::vector<double> ExponentialBuckets(double start, double factor, size_t count);

// One sample a callback reports.
struct Sample {
  Labels labels;
  double value = 0;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers one series of family `name` (created on first use with `help`;
  // later calls must agree on the type). REQUIRES: the label set is new.
  Counter* AddCounter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge* AddGauge(std::string_view name, std::string_view help, Labels labels = {});
  Histogram* AddHistogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                          Labels labels = {});
  // A family whose samples `collect` computes on each scrape (type counter
  // or gauge). It runs under the registry's lock: it must not call back in.
  void AddCallback(std::string_view name, std::string_view help, Type type,
                   std::function<std::vector<Sample>()> collect);

  // Every family in the Prometheus text format, in registration order.
  std::string Expose() const;
  // Every family name, in registration order.
  std::vector<std::string> Names() const;

 private:
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::deque<Series> series;
    std::vector<std::function<std::vector<Sample>()>> callbacks;
  };
  Family& FamilyFor(std::string_view name, std::string_view help, Type type, const Labels& labels);

  mutable std::mutex mu_;
  std::deque<Family> families_;
};

// "a\"b" -> a\"b as the text format escapes label values (\\, \", \n).
std::string EscapeLabelValue(std::string_view value);

}  // namespace metrics

#endif  // METRICS_REGISTRY_H_
