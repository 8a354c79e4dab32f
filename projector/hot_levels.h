// Hot levels: the rows availability reads need (items, warehouses, levels,
// totals) held in memory beside the RocksDB views, so GetInventoryLevels and
// CheckAvailability answer without a RocksDB snapshot, Get or iterator.
//
// Contract:
//  * The RocksDB views stay the durable truth. The hot copy is loaded from
//    them when the projector starts (after any rebuild, before anything new
//    is folded) and is then fed by the projector's applier with the rows each
//    batch changed, right after that batch's WriteBatch is written and before
//    Projector::applied() moves past it. So a token the projector reports as
//    applied is always already in the hot copy.
//  * A HotSnapshot holds the copy still (a reader lock) and reports the
//    applied offsets of the last batch the copy holds: its rows are exactly
//    the RocksDB views' rows at those offsets (projector_test checks this
//    entry by entry after incremental folds, restarts and rebuilds).
//  * A snapshot answers Item, SharedItem (without a copy), Warehouse,
//    ForEachWarehouse, Level, Total and ForEachLevelOf; every other Snapshot
//    method is FAILED_PRECONDITION
//    (callers that need them take a RocksDB snapshot).
//  * Bound: at most skus_max SKUs. Past it the copy switches itself off for
//    good (logged once); NewSnapshot then returns null and callers read
//    RocksDB as before.
//
// Thread-safety: snapshots from any thread; Load and Apply from one thread
// (the projector's), never while that thread holds a snapshot.
#ifndef PROJECTOR_HOT_LEVELS_H_
#define PROJECTOR_HOT_LEVELS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "ledger/state.h"
#include "projector/read_models.h"

namespace projector {

class Store;

// The rows one applied batch changed, as Fold::Flush wrote them.
struct ChangedRows {
  std::vector<std::pair<std::string, inventory::v1::Item>> items;                    // sku -> row
  std::vector<std::pair<std::string, inventory::v1::Warehouse>> warehouses;          // code -> row
  std::vector<std::pair<std::string, ledger::StockLevel>> levels;                    // LevelKey -> row
  std::vector<std::pair<std::string, ledger::StockLevel>> totals;                    // sku -> row
  void clear() {
    items.clear();
    warehouses.clear();
    levels.clear();
    totals.clear();
  }
};

class HotLevels {
 public:
  // REQUIRES: skus_max >= 1.
  explicit HotLevels(size_t skus_max);
  ~HotLevels();

  // Replaces the copy with the store's rows and applied offsets.
  absl::Status Load(const Store& store);
  // Takes one batch's changed rows and the applied offsets after it.
  void Apply(ChangedRows& rows, const base::NextOffsets& applied);

  // A snapshot of the copy, or null once the copy is off (past skus_max).
  std::unique_ptr<Snapshot> NewSnapshot() const;
  bool enabled() const;
  size_t skus() const;

 private:
  class HotSnapshot;
  struct Sku {
    std::shared_ptr<const inventory::v1::Item> item;  // null: no item row; shared with readers
    bool has_total = false;
    ledger::StockLevel total;
    // (warehouse, level) in warehouse-code order; SKUs sit in few warehouses.
    absl::InlinedVector<std::pair<std::string, ledger::StockLevel>, 2> levels;
  };
  Sku& SkuLocked(std::string_view sku);
  void PutLevelLocked(std::string_view key, const ledger::StockLevel& level);
  void DisableLocked();
  // Takes `rows` (emptied) into the copy; REQUIRES: mu_ held.
  void ApplyLocked(ChangedRows& rows);

  const size_t skus_max_;
  mutable absl::Mutex mu_;
  bool enabled_ = true;
  absl::flat_hash_map<std::string, Sku> skus_;
  absl::flat_hash_map<std::string, inventory::v1::Warehouse> warehouses_;
  std::vector<std::string> warehouse_order_;  // codes, sorted
  base::NextOffsets applied_;
};

}  // namespace projector

#endif  // PROJECTOR_HOT_LEVELS_H_
