#include "bench/load_stats.h"

#include <algorithm>
#include <cstdlib>

namespace bench {

double Percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  p = std::clamp(p, 0.0, 1.0);
  auto k = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k), samples.end());
  return samples[k];
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

LevelCheck CheckLevels(const std::vector<Level>& levels, std::int64_t initial_on_hand, const Acknowledged& acked) {
  LevelCheck c;
  for (const Level& l : levels) {
    c.rows += 1;
    if (l.reserved > l.on_hand || l.reserved < 0 || l.on_hand < 0) c.oversold_rows += 1;
    c.reserved_units += l.reserved;
    c.shipped_units += initial_on_hand - l.on_hand;
  }
  c.unaccounted_units = std::llabs(c.reserved_units - acked.open_units) +
                        std::llabs(c.shipped_units - acked.committed_units);
  return c;
}

}  // namespace bench
