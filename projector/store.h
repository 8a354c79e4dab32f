// The RocksDB store behind ReadModels: column family handles, key encodings
// and the write path the projector's fold uses. Private to projector/.
//
// Thread-safety: reads and snapshots from any thread; Write from one thread
// (the projector's applier); DropViews only before anything else uses it.
#ifndef PROJECTOR_STORE_H_
#define PROJECTOR_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ledger/state.h"
#include "projector/read_models.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
struct ReadOptions;
}  // namespace rocksdb

namespace projector {

enum class Cf : uint8_t {
  kMeta,
  kItems,
  kWarehouses,
  kLevels,
  kTotals,
  kReservations,
  kByOrder,
  kMovements,
  kBySku,
  kReports,
};
inline constexpr size_t kCfCount = 10;

// Key encodings (layout in read_models.cc).
std::string AppliedKey(uint32_t partition);
std::string LevelKey(std::string_view sku, std::string_view warehouse);
std::string OrderKey(std::string_view order_id, std::string_view reservation_id);
std::string MovementKey(uint32_t partition, uint64_t offset, uint32_t index);
std::string BySkuKey(std::string_view sku, int64_t occurred_at_ms, uint32_t partition, uint64_t offset,
                     uint32_t index);
std::string WarehouseTotalsKey(std::string_view code);
std::string CategoryTotalsKey(std::string_view category);
std::string LowStockKey(std::string_view sku);
std::string OutOfStockKey(std::string_view sku);
std::string SalesBlockKey(std::string_view sku, std::string_view warehouse);
inline constexpr std::string_view kCountsKey = "n/counts";

// Fixed-size values.
std::string EncodeLevel(const ledger::StockLevel& level);
absl::StatusOr<ledger::StockLevel> DecodeLevel(std::string_view bytes);
std::string EncodeTotals(const Totals& totals);
absl::StatusOr<Totals> DecodeTotals(std::string_view bytes);
std::string EncodeCounts(const ReservationCounts& counts);
absl::StatusOr<ReservationCounts> DecodeCounts(std::string_view bytes);

// How Store::Write writes one batch (as LevelDB's WriteOptions{.sync}).
struct StoreWriteOptions {
  // fsync the WAL before returning (ignored with disable_wal). Default false.
  bool sync = false;
  // Skip the WAL: the batch survives a crash only after a Flush. Default false.
  bool disable_wal = false;
};

class Store final : public ReadModels {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> OpenStore(ReadModelsOptions options, OpenMode mode);
  ~Store() override;

  std::unique_ptr<Snapshot> NewSnapshot() const override;
  absl::Status Refresh() override;
  bool needs_rebuild() const override { return needs_rebuild_; }
  uint32_t partition_count() const override { return options_.partition_count; }

  // Empties every view, resets the applied offsets to zero and records
  // kViewSchemaVersion. REQUIRES: no snapshot or reader is alive.
  absl::Status DropViews();

  // Applied offsets as stored (zero for partitions never applied).
  absl::StatusOr<base::NextOffsets> LoadApplied() const;

  absl::StatusOr<std::optional<std::string>> Get(Cf cf, std::string_view key) const;
  absl::Status Write(rocksdb::WriteBatch& batch, StoreWriteOptions options);
  // Flushes every memtable atomically (after writes with the WAL off).
  absl::Status Flush();

  // Every row of every view (not meta), as "<cf index>|<key>" -> value, for
  // tests that compare two stores entry by entry.
  absl::StatusOr<std::map<std::string, std::string>> DumpViews() const;
  // Every row of `cf` in key order, at the latest write; stops at fn's first error.
  absl::Status ForEachRow(Cf cf, const std::function<absl::Status(std::string_view key, std::string_view value)>& fn) const;

  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<size_t>(cf)]; }
  rocksdb::DB* db() const { return db_.get(); }
  bool secondary() const { return mode_ == OpenMode::kSecondary; }

 private:
  Store(ReadModelsOptions options, OpenMode mode);
  absl::Status OpenDb();
  absl::Status CheckMeta();
  void CloseDb();

  const ReadModelsOptions options_;
  const OpenMode mode_;
  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kCfCount> handles_{};
  bool needs_rebuild_ = false;
};

}  // namespace projector

#endif  // PROJECTOR_STORE_H_
