// The projector's fold: turns events into read-model updates. Private to
// projector/.
//
// Apply() folds one event into write-back caches and collects its stock
// updates; Flush() writes every changed row plus the applied offsets into
// one WriteBatch. Rows are read through the caches from the store, so a
// batch sees its own earlier updates. Report aggregates (per warehouse, per
// category, reservation counts) are held in memory whole and written when
// changed.
//
// Movements: every event that changes a level yields one InventoryUpdate per
// level it changes (a transfer shipment changes two), with the levels it left.
//
// Thread-safety: one thread (the applier).
#ifndef PROJECTOR_FOLD_H_
#define PROJECTOR_FOLD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "ledger/event.h"
#include "eventlog/event_log.h"
#include "ledger/state.h"
#include "ledger/stock_rules.h"
#include "projector/hot_levels.h"
#include "projector/store.h"
#include "proto/common.pb.h"
#include "proto/query_service.pb.h"

namespace rocksdb {
class WriteBatch;
}

namespace projector {

class Fold {
 public:
  explicit Fold(Store* store) : store_(store) {}

  // Loads the in-memory aggregates from the store. Call once before Apply.
  absl::Status Load();

  // Folds `event`, found at `position`, appending its stock updates to
  // `updates`. UNAVAILABLE / DATA_LOSS only for store trouble; events that do
  // not make sense are applied as far as they do and counted as anomalies.
  absl::Status Apply(const eventlog::LogPosition& position, const ledger::Event& event,
                     std::vector<inventory::v1::InventoryUpdate>* updates);

  // Writes every changed row and `applied` (next offset per partition) into
  // `batch`, with the movements collected since the last Flush. With
  // `changed`, also appends there a copy of each item, warehouse, level and
  // total row written (for the hot levels).
  absl::Status Flush(rocksdb::WriteBatch& batch, const base::NextOffsets& applied,
                     ChangedRows* changed = nullptr);

  // Drops cached rows (not aggregates) when more than `entries_max` are held.
  // REQUIRES: called right after a successful write of Flush's batch.
  void Trim(size_t entries_max);

  uint64_t anomalies() const { return anomalies_; }
  // Of the anomalies, levels left with a negative figure or reserved above on_hand.
  uint64_t oversells() const { return oversells_; }

 private:
  template <typename T>
  struct Cached {
    std::optional<T> value;
    bool dirty = false;
  };
  struct Context {
    const eventlog::LogPosition& position;
    const ledger::Envelope& envelope;
    std::vector<inventory::v1::InventoryUpdate>* updates;
  };
  struct Move {
    const ledger::LevelChange& change;  // ledger/stock_rules.h
    std::string_view kind;
    std::string_view reference;
    std::optional<ledger::AdjustmentReason> reason;
    uint32_t index = 0;
  };
  struct Visitor;

  // The cached row of `key`, loaded from `cf` (through `decode`) on a miss.
  template <typename T, typename Decode>
  absl::StatusOr<Cached<T>*> Row(absl::node_hash_map<std::string, Cached<T>>& rows, Cf cf, const std::string& key,
                                 Decode decode);
  absl::StatusOr<Cached<inventory::v1::Item>*> ItemRow(const std::string& sku);
  absl::StatusOr<Cached<inventory::v1::Warehouse>*> WarehouseRow(const std::string& code);
  absl::StatusOr<Cached<ledger::StockLevel>*> LevelRow(const std::string& key);
  absl::StatusOr<Cached<ledger::StockLevel>*> TotalRow(const std::string& sku);
  absl::StatusOr<Cached<inventory::v1::Reservation>*> ReservationRow(const std::string& id);
  absl::StatusOr<ledger::StockFlags*> StoredFlags(const std::string& sku);

  // Changes one level and everything summed from it; records the movement.
  absl::Status ChangeLevel(const Context& ctx, const Move& move);
  // The reservation row's side of a reserved or resolved allocation (the
  // level's side is ChangeLevel).
  absl::Status ReserveLine(const Context& ctx, const ledger::ReservationLineReserved& e);
  // `released`: the units of the allocation a partial commit released.
  absl::Status Resolve(const Context& ctx, const ledger::ReservationId& id, uint32_t index,
                       ledger::ReservationStatus to, ledger::Quantity released = 0);
  absl::Status ChangeCategory(const std::string& sku, const std::string& from, const std::string& to);
  void CountTransition(std::optional<inventory::v1::ReservationStatus> from, inventory::v1::ReservationStatus to);
  void Anomaly(const Context& ctx, std::string_view what);

  Store* store_;
  absl::node_hash_map<std::string, Cached<inventory::v1::Item>> items_;
  absl::node_hash_map<std::string, Cached<inventory::v1::Warehouse>> warehouses_;
  absl::node_hash_map<std::string, Cached<ledger::StockLevel>> levels_;
  absl::node_hash_map<std::string, Cached<ledger::StockLevel>> totals_;
  absl::node_hash_map<std::string, Cached<inventory::v1::Reservation>> reservations_;
  absl::node_hash_map<std::string, ledger::StockFlags> stored_flags_;
  // Rows changed since the last Flush, so Flush never scans the caches.
  template <typename T>
  using DirtyList = std::vector<std::pair<std::string, Cached<T>*>>;
  template <typename T>
  static void Touch(DirtyList<T>& list, const std::string& key, Cached<T>* row) {
    if (row->dirty) return;
    row->dirty = true;
    list.emplace_back(key, row);
  }
  DirtyList<inventory::v1::Item> items_dirty_;
  DirtyList<inventory::v1::Warehouse> warehouses_dirty_;
  DirtyList<ledger::StockLevel> levels_dirty_;
  DirtyList<ledger::StockLevel> totals_dirty_;
  DirtyList<inventory::v1::Reservation> reservations_dirty_;
  absl::flat_hash_set<std::string> flags_dirty_;
  std::vector<std::string> new_order_keys_;
  std::vector<std::pair<std::string, std::string>> movement_puts_;  // movements + by_sku keys
  std::vector<std::string> by_sku_puts_;
  // Report rows of sales blocks: put (value) or delete (nullopt), in fold order.
  std::vector<std::pair<std::string, std::optional<std::string>>> block_writes_;

  absl::flat_hash_map<std::string, Totals> warehouse_totals_;
  absl::flat_hash_map<std::string, Totals> category_totals_;
  absl::flat_hash_set<std::string> warehouse_totals_dirty_;
  absl::flat_hash_set<std::string> category_totals_dirty_;
  ReservationCounts counts_;
  bool counts_dirty_ = false;
  uint64_t anomalies_ = 0;
  uint64_t oversells_ = 0;
};

}  // namespace projector

#endif  // PROJECTOR_FOLD_H_
