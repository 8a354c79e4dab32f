// The ledger's side of the comparison's set-up and oversell check, done on
// the embedded (RocksDB) log directly rather than through the server:
//
//  * SeedStock writes the history a fresh store starts from (one warehouse,
//    `skus` items, `on_hand` received of each), decided by the ledger core as
//    the writer would, so inventoryd replays it at start instead of taking
//    100k set-up calls.
//  * FoldLevels reads every event of a stopped server's log and folds on_hand
//    and reserved per (SKU, warehouse) with its own arithmetic, independent of
//    the ledger's Evolve (which asserts the same invariants and could hide a
//    bug it shares with Decide).
//
// Thread-safety: REQUIRES no other process has the log open.
#ifndef BENCH_LEDGER_DATA_H_
#define BENCH_LEDGER_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/load_stats.h"

namespace bench {

// Partitions of the log inventoryd creates by default (its --partitions).
inline constexpr std::uint32_t kLedgerPartitions = 8;

// The last position written in each partition that holds any record: as a
// read's consistency token (ReadOptions.min_token), it is met only once the
// read models reflect the whole history.
struct LastPosition {
  std::uint32_t partition = 0;
  std::uint64_t offset = 0;
};

// Creates `data_dir`/log with warehouse `warehouse` and items "SKU-0" ..
// "SKU-<skus-1>", each with `on_hand` received at that warehouse. Returns the
// log's last position per partition.
absl::StatusOr<std::vector<LastPosition>> SeedStock(const std::string& data_dir, int skus, std::int64_t on_hand,
                                                    const std::string& warehouse);

// Levels per (SKU, warehouse) folded from `data_dir`/log, keyed "SKU/WH".
absl::StatusOr<std::vector<Level>> FoldLevels(const std::string& data_dir);

}  // namespace bench

#endif  // BENCH_LEDGER_DATA_H_
