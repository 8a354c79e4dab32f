// Pieces of the comparison load generator (bench/compare_load.cc) that decide
// what a run reports: latency percentiles, medians over repetitions, and the
// end-of-run oversell check over the stock levels a system reports.
//
// Thread-safety: pure functions over values.
#ifndef BENCH_LOAD_STATS_H_
#define BENCH_LOAD_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// The p-quantile (0 <= p <= 1) of `samples` by nearest rank below; 0 when
// empty. Reorders `samples`.
double Percentile(std::vector<double>& samples, double p);

// The median of `values` (mean of the two middle ones when even); 0 when empty.
double Median(std::vector<double> values);

// One (SKU, warehouse) row as a system reports it after a run.
struct Level {
  std::string key;  // "SKU-17/WH-1"
  std::int64_t on_hand = 0;
  std::int64_t reserved = 0;
};

// What the clients were told during a run: units acknowledged as reserved
// (and not yet committed) and units acknowledged as committed (shipped).
struct Acknowledged {
  std::int64_t open_units = 0;
  std::int64_t committed_units = 0;
};

struct LevelCheck {
  std::int64_t rows = 0;
  // Rows where reserved > on_hand, reserved < 0 or on_hand < 0: stock promised
  // that does not exist. Must be 0.
  std::int64_t oversold_rows = 0;
  std::int64_t reserved_units = 0;  // sum of reserved
  std::int64_t shipped_units = 0;   // sum of (initial stock - on_hand)
  // |reserved_units - open_units| + |shipped_units - committed_units|: writes
  // acknowledged but lost, or applied but never acknowledged. 0 unless a call
  // failed with an unknown outcome.
  std::int64_t unaccounted_units = 0;
};

// Checks `levels` against the stock each row started with and what clients
// were acknowledged.
LevelCheck CheckLevels(const std::vector<Level>& levels, std::int64_t initial_on_hand, const Acknowledged& acked);

}  // namespace bench

#endif  // BENCH_LOAD_STATS_H_
