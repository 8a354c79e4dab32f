// The read models: RocksDB column families the projector folds the event log
// into, and the consistent snapshots the query service and inventoryctl read.
//
// Column families (the byte layout is written down in read_models.cc):
//   meta          applied offset per partition, view schema version
//   items         SKU -> inventory.v1.Item
//   warehouses    code -> inventory.v1.Warehouse
//   levels        (SKU, warehouse) -> on_hand, reserved, incoming
//   totals        SKU -> the same summed over warehouses
//   reservations  id -> inventory.v1.Reservation
//   by_order      (order id, reservation id) -> ""
//   movements     (partition, offset, index) -> inventory.v1.InventoryUpdate
//   by_sku        (SKU, occurred_at_ms, partition, offset, index) -> ""
//   reports       per-warehouse and per-category sums, reservation counts,
//                 low-stock and out-of-stock sets, sales blocks in force
//
// The applied offsets live in the same WriteBatch as the view updates they
// cover, so a Snapshot's applied() always describes exactly its contents.
// Applied offsets are "next offset to apply" per partition: an event at
// (p, o) is reflected iff applied()[p] > o.
//
// Thread-safety: ReadModels and Snapshot are safe to use from many threads.
// Only the Projector writes (through ReadModels::Write).
#ifndef PROJECTOR_READ_MODELS_H_
#define PROJECTOR_READ_MODELS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/event_log.h"
#include "ledger/stock_rules.h"
#include "proto/common.pb.h"
#include "proto/query_service.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Snapshot;
class WriteBatch;
}  // namespace rocksdb

namespace projector {

// Bumped whenever the views' layout or meaning changes; a store written by
// another version is dropped and rebuilt from position zero. 2: an
// out-of-stock SKU is no longer also in the low-stock set (ledger/stock_rules.h).
inline constexpr uint32_t kViewSchemaVersion = 2;

enum class OpenMode : uint8_t {
  kReadWrite,  // the projector: one process per directory (RocksDB LOCK)
  kSecondary,  // a reader beside a live projector (inventoryctl); never writes
};

struct ReadModelsOptions {
  // Directory of the database. No default.
  std::string path;
  // Partitions of the log the views follow; recorded and checked. Default 8.
  uint32_t partition_count = 8;
  // kSecondary only: a scratch directory for RocksDB's secondary instance.
  std::string secondary_path;
  // Block cache for reads, bytes. Default 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // Memtable size per column family, bytes. Default 64 MiB.
  size_t write_buffer_bytes = 64 << 20;
};

// Per-warehouse or per-category sums.
struct Totals {
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t incoming = 0;
  int64_t available() const { return on_hand - reserved; }
  friend bool operator==(const Totals&, const Totals&) = default;
};

struct ReservationCounts {
  int64_t active = 0;
  int64_t committed = 0;
  int64_t released = 0;
  int64_t expired = 0;
  friend bool operator==(const ReservationCounts&, const ReservationCounts&) = default;
};

// The stock state (ledger/stock_rules.h) of an item row whose SKU has
// `available` in total; nullptr: no such item. The low-stock and out-of-stock
// sets hold exactly the SKUs whose state is kLow and kOut.
ledger::StockState StockStateOf(const inventory::v1::Item* item, ledger::Quantity available);

// Callbacks return false to stop a scan early.
template <typename T>
using Visitor = std::function<bool(const T&)>;

// A consistent, immutable view of every read model at one set of applied
// offsets. Cheap to create; hold it only as long as one request needs it.
class Snapshot {
 public:
  virtual ~Snapshot() = default;

  // Next offset to apply per partition, as of this snapshot.
  virtual const base::NextOffsets& applied() const = 0;

  virtual absl::StatusOr<std::optional<inventory::v1::Item>> Item(std::string_view sku) const = 0;
  // The same row, shared rather than copied where the snapshot holds it in
  // memory (the hot levels); null when there is no such item. By default a
  // copy of Item(sku).
  // Inline: readers of the interface alone (replay/'s tests) need no link
  // to the store.
  virtual absl::StatusOr<std::shared_ptr<const inventory::v1::Item>> SharedItem(std::string_view sku) const {
    absl::StatusOr<std::optional<inventory::v1::Item>> item = Item(sku);
    if (!item.ok()) return item.status();
    if (!item->has_value()) return nullptr;
    return std::make_shared<const inventory::v1::Item>(std::move(**item));
  }
  // Items in SKU order, starting after `start_after` ("" = from the first).
  virtual absl::Status ForEachItem(std::string_view start_after, const Visitor<inventory::v1::Item>& visit) const = 0;

  virtual absl::StatusOr<std::optional<inventory::v1::Warehouse>> Warehouse(std::string_view code) const = 0;
  virtual absl::Status ForEachWarehouse(const Visitor<inventory::v1::Warehouse>& visit) const = 0;

  // One (SKU, warehouse) level; nullopt when the pair never held stock.
  virtual absl::StatusOr<std::optional<inventory::v1::StockLevel>> Level(std::string_view sku,
                                                                          std::string_view warehouse) const = 0;
  // The SKU's total across warehouses (warehouse field empty).
  virtual absl::StatusOr<std::optional<inventory::v1::StockLevel>> Total(std::string_view sku) const = 0;
  // The SKU's per-warehouse levels in warehouse-code order.
  virtual absl::Status ForEachLevelOf(std::string_view sku,
                                      const Visitor<inventory::v1::StockLevel>& visit) const = 0;
  // Every level of every SKU in (SKU, warehouse) order.
  virtual absl::Status ForEachLevel(const Visitor<inventory::v1::StockLevel>& visit) const = 0;

  virtual absl::StatusOr<std::optional<inventory::v1::Reservation>> Reservation(std::string_view id) const = 0;
  // Reservations in id order after `start_after`.
  virtual absl::Status ForEachReservation(std::string_view start_after,
                                          const Visitor<inventory::v1::Reservation>& visit) const = 0;
  // One order's reservations in id order after `start_after`.
  virtual absl::Status ForEachReservationOfOrder(std::string_view order_id, std::string_view start_after,
                                                 const Visitor<inventory::v1::Reservation>& visit) const = 0;

  // A SKU's movements with since_ms <= occurred_at_ms < until_ms (until_ms 0 =
  // no end), in time then log order, starting strictly after `cursor` (an
  // opaque string from MovementCursor; "" = from the first).
  virtual absl::Status ForEachMovementOf(std::string_view sku, int64_t since_ms, int64_t until_ms,
                                         std::string_view cursor,
                                         const Visitor<inventory::v1::InventoryUpdate>& visit) const = 0;
  // Every update of `partition` with offset >= from_offset, in log order.
  virtual absl::Status ForEachUpdateFrom(uint32_t partition, uint64_t from_offset,
                                         const Visitor<inventory::v1::InventoryUpdate>& visit) const = 0;

  // Sums per warehouse and per category, keyed by code / category.
  virtual absl::StatusOr<std::vector<std::pair<std::string, Totals>>> WarehouseTotals() const = 0;
  virtual absl::StatusOr<std::vector<std::pair<std::string, Totals>>> CategoryTotals() const = 0;
  virtual absl::StatusOr<ReservationCounts> Counts() const = 0;
  // The SKUs whose stock state (ledger/stock_rules.h) is kLow, resp. kOut:
  // active items with 0 < total available <= reorder point, resp. <= 0. An
  // out-of-stock SKU is not in the low-stock set. In SKU order.
  virtual absl::Status ForEachLowStock(const Visitor<std::string>& visit) const = 0;
  virtual absl::Status ForEachOutOfStock(const Visitor<std::string>& visit) const = 0;
  // Every sales block in force (BlockSales), in (SKU, warehouse) order, the
  // SKU's everywhere block first.
  virtual absl::Status ForEachSalesBlock(const Visitor<inventory::v1::SalesBlock>& visit) const = 0;
};

// The cursor that resumes ForEachMovementOf right after `update`.
std::string MovementCursor(const inventory::v1::InventoryUpdate& update);

class ReadModels {
 public:
  // Opens (creating if missing, kReadWrite only) the store. FAILED_PRECONDITION
  // when it follows a log with another partition count; UNAVAILABLE on I/O
  // trouble. A store of another kViewSchemaVersion opens with
  // needs_rebuild() true.
  static absl::StatusOr<std::unique_ptr<ReadModels>> Open(ReadModelsOptions options, OpenMode mode);

  virtual ~ReadModels() = default;

  virtual std::unique_ptr<Snapshot> NewSnapshot() const = 0;
  // kSecondary: catch up with the primary's latest writes. REQUIRES: no
  // Snapshot of this store is alive (a secondary's snapshots are only
  // consistent between refreshes).
  virtual absl::Status Refresh() = 0;
  // True when the stored schema version differs from kViewSchemaVersion.
  virtual bool needs_rebuild() const = 0;
  virtual uint32_t partition_count() const = 0;
};

// The wire form of one level: `warehouse` empty for a SKU's total.
inventory::v1::StockLevel LevelProto(std::string_view sku, std::string_view warehouse, const ledger::StockLevel& l);

}  // namespace projector

#endif  // PROJECTOR_READ_MODELS_H_
