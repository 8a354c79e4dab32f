// Text exposition, format 0.0.4 (what Prometheus and promtool read):
//
//   exposition := family*
//   family     := "# HELP " name " " help "\n" "# TYPE " name " " type "\n" sample*
//   sample     := name ["{" label ("," label)* "}"] " " value "\n"
//   label      := label_name "=\"" escaped_value "\""
//   histogram  := name "_bucket{...,le=\"" bound "\"} " cumulative_count  (bounds ascending, then +Inf)
//                 name "_sum{...} " sum   name "_count{...} " count
//
// Values are written in the shortest form that reads back exactly
// (std::to_chars), counters as integers.
#include "metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "base/check.h"

namespace metrics {
namespace {

bool ValidName(std::string_view name, bool colon_ok) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    INV_CHECK(ec == std::errc());
    out.append(buf, end);
  }
}

void AppendLabels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += EscapeLabelValue(v);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  INV_CHECK(!bounds_.empty());
  INV_CHECK(std::is_sorted(bounds_.begin(), bounds_.end()) &&
            std::adjacent_find(bounds_.begin(), bounds_.end()) == bounds_.end())
      << "histogram bounds must ascend strictly";
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::bucket_counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (uint64_t c : bucket_counts()) n += c;
  return n;
}

std::vector<double> ExponentialBuckets(double start, double factor, size_t count) {
  INV_CHECK(start > 0 && factor > 1 && count > 0);
  std::vector<double> out;
  double b = start;
  for (size_t i = 0; i < count; ++i, b *= factor) out.push_back(b);
  return out;
}

Registry::Family& Registry::FamilyFor(std::string_view name, std::string_view help, Type type,
                                      const Labels& labels) {
  INV_CHECK(ValidName(name, true)) << "metric name '" << name << "'";
  INV_CHECK(type != Type::kCounter || (name.size() > 6 && name.substr(name.size() - 6) == "_total"))
      << "counter '" << name << "' must end in _total";
  for (const auto& [k, v] : labels) {
    INV_CHECK(ValidName(k, false) && k != "le" && k.substr(0, 2) != "__") << "label name '" << k << "'";
  }
  for (Family& f : families_) {
    if (f.name != name) continue;
    INV_CHECK(f.type == type) << "metric '" << name << "' registered with two types";
    for (const Series& s : f.series) INV_CHECK(s.labels != labels) << "series of '" << name << "' registered twice";
    return f;
  }
  Family& f = families_.emplace_back();
  f.name = std::string(name);
  f.help = std::string(help);
  f.type = type;
  return f;
}

Counter* Registry::AddCounter(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  Family& f = FamilyFor(name, help, Type::kCounter, labels);
  Series& s = f.series.emplace_back();
  s.labels = std::move(labels);
  s.counter = std::make_unique<Counter>();
  return s.counter.get();
}

Gauge* Registry::AddGauge(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  Family& f = FamilyFor(name, help, Type::kGauge, labels);
  Series& s = f.series.emplace_back();
  s.labels = std::move(labels);
  s.gauge = std::make_unique<Gauge>();
  return s.gauge.get();
}

Histogram* Registry::AddHistogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                                  Labels labels) {
  std::lock_guard lock(mu_);
  Family& f = FamilyFor(name, help, Type::kHistogram, labels);
  Series& s = f.series.emplace_back();
  s.labels = std::move(labels);
  s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return s.histogram.get();
}

void Registry::AddCallback(std::string_view name, std::string_view help, Type type,
                           std::function<std::vector<Sample>()> collect) {
  INV_CHECK(type != Type::kHistogram) << "callback families are counters or gauges";
  std::lock_guard lock(mu_);
  Family& f = FamilyFor(name, help, type, {});
  f.callbacks.push_back(std::move(collect));
}

std::string Registry::Expose() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const Family& f : families_) {
    out += "# HELP " + f.name + " " + EscapeHelp(f.help) + "\n";
    out += "# TYPE " + f.name + " " + std::string(TypeName(f.type)) + "\n";
    for (const Series& s : f.series) {
      if (s.histogram != nullptr) {
        std::vector<uint64_t> counts = s.histogram->bucket_counts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          std::string le;
          if (i < s.histogram->bounds().size()) {
            AppendDouble(le, s.histogram->bounds()[i]);
          } else {
            le = "+Inf";
          }
          out += f.name + "_bucket";
          AppendLabels(out, s.labels, le);
          out += " " + std::to_string(cumulative) + "\n";
        }
        out += f.name + "_sum";
        AppendLabels(out, s.labels);
        out += ' ';
        AppendDouble(out, s.histogram->sum());
        out += "\n" + f.name + "_count";
        AppendLabels(out, s.labels);
        out += " " + std::to_string(cumulative) + "\n";
        continue;
      }
      out += f.name;
      AppendLabels(out, s.labels);
      out += ' ';
      if (s.counter != nullptr) {
        out += std::to_string(s.counter->value());
      } else {
        AppendDouble(out, s.gauge->value());
      }
      out += '\n';
    }
    for (const auto& collect : f.callbacks) {
      for (const Sample& sample : collect()) {
        out += f.name;
        AppendLabels(out, sample.labels);
        out += ' ';
        AppendDouble(out, sample.value);
        out += '\n';
      }
    }
  }
  return out;
}

std::vector<std::string> Registry::Names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const Family& f : families_) out.push_back(f.name);
  return out;
}

}  // namespace metrics
