// Byte layout of the read models. Integers are fixed-width big-endian so that
// keys sort numerically; strings in keys are ids, which never hold '\0'
// (ledger/validate.cc's id charset), so '\0' separates them.
//
//   meta:         "applied/" partition:be32   -> next_offset:be64
//                 "schema"                     -> version:be32
//                 "partitions"                 -> count:be32
//   items:        sku                          -> inventory.v1.Item
//   warehouses:   code                         -> inventory.v1.Warehouse
//   levels:       sku '\0' warehouse           -> level
//   totals:       sku                          -> level (summed over warehouses)
//   reservations: reservation_id               -> inventory.v1.Reservation
//                 (Allocation.status UNSPECIFIED = its event not folded yet)
//   by_order:     order_id '\0' reservation_id -> ""
//   movements:    partition:be32 offset:be64 index:be32 -> inventory.v1.InventoryUpdate
//   by_sku:       sku '\0' time:be64 partition:be32 offset:be64 index:be32 -> ""
//                 (time = occurred_at_ms with the sign bit flipped)
//   reports:      "w/" warehouse               -> totals
//                 "c/" category                -> totals
//                 "l/" sku                     -> ""   (low stock)
//                 "o/" sku                     -> ""   (out of stock)
//                 "b/" sku '\0' warehouse      -> inventory.v1.SalesBlock (warehouse
//                                                 "" = everywhere, so it sorts first)
//                 "n/counts"                   -> counts
//
//   level  := on_hand:be64 reserved:be64 incoming:be64   (two's complement)
//   totals := on_hand:be64 reserved:be64 incoming:be64
//   counts := active:be64 committed:be64 released:be64 expired:be64
#include "projector/read_models.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/coding.h"
#include "base/status.h"
#include "eventlog/rocksdb_info_log.h"
#include "projector/store.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/options_util.h"
#include "rocksdb/write_batch.h"

namespace projector {
namespace {

constexpr std::array<const char*, kCfCount> kCfNames = {"default",      "items",    "warehouses", "levels",
                                                        "totals",       "reservations", "by_order", "movements",
                                                        "by_sku",       "reports"};
constexpr std::string_view kSchemaKey = "schema";
constexpr std::string_view kPartitionsKey = "partitions";
constexpr std::string_view kAppliedPrefix = "applied/";

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view AsView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat("read models: ", base::AsAbsl(what), ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsInvalidArgument()) return absl::FailedPreconditionError(message);
  return absl::UnavailableError(message);
}

template <typename Proto>
absl::StatusOr<Proto> ParseValue(std::string_view bytes, std::string_view what) {
  Proto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("read models: undecodable ", base::AsAbsl(what)));
  }
  return proto;
}

std::string PrefixEnd(std::string prefix) {
  // The smallest key greater than every key starting with `prefix`.
  while (!prefix.empty()) {
    auto last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;  // empty: no upper bound
}

class SnapshotImpl final : public Snapshot {
 public:
  // A secondary instance has no snapshots (RocksDB: "not supported in
  // secondary mode"); it changes only in Refresh(), so reads between two
  // refreshes are consistent without one.
  explicit SnapshotImpl(const Store* store)
      : store_(store), snapshot_(store->secondary() ? nullptr : store->db()->GetSnapshot()) {
    rocksdb::ReadOptions read = Options();
    applied_ = base::NextOffsets::Zero(store->partition_count());
    std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(read, store->handle(Cf::kMeta)));
    for (it->Seek(AsSlice(kAppliedPrefix)); it->Valid(); it->Next()) {
      std::string_view key = AsView(it->key());
      if (!key.starts_with(kAppliedPrefix) || key.size() != kAppliedPrefix.size() + 4 || it->value().size() != 8) {
        break;
      }
      uint32_t p = base::DecodeFixed32Be(key.data() + kAppliedPrefix.size());
      if (p < applied_.size()) applied_[p] = base::DecodeFixed64Be(it->value().data());
    }
  }
  ~SnapshotImpl() override {
    if (snapshot_ != nullptr) store_->db()->ReleaseSnapshot(snapshot_);
  }

  const base::NextOffsets& applied() const override { return applied_; }

  absl::StatusOr<std::optional<inventory::v1::Item>> Item(std::string_view sku) const override {
    return GetProto<inventory::v1::Item>(Cf::kItems, sku, "item");
  }
  absl::Status ForEachItem(std::string_view start_after, const Visitor<inventory::v1::Item>& visit) const override {
    return ScanProtos<inventory::v1::Item>(Cf::kItems, "", start_after, "item", visit);
  }
  absl::StatusOr<std::optional<inventory::v1::Warehouse>> Warehouse(std::string_view code) const override {
    return GetProto<inventory::v1::Warehouse>(Cf::kWarehouses, code, "warehouse");
  }
  absl::Status ForEachWarehouse(const Visitor<inventory::v1::Warehouse>& visit) const override {
    return ScanProtos<inventory::v1::Warehouse>(Cf::kWarehouses, "", "", "warehouse", visit);
  }

  absl::StatusOr<std::optional<inventory::v1::StockLevel>> Level(std::string_view sku,
                                                                  std::string_view warehouse) const override {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, Get(Cf::kLevels, LevelKey(sku, warehouse)));
    if (!bytes) return std::nullopt;
    ASSIGN_OR_RETURN(ledger::StockLevel level, DecodeLevel(*bytes));
    return LevelProto(sku, warehouse, level);
  }
  absl::StatusOr<std::optional<inventory::v1::StockLevel>> Total(std::string_view sku) const override {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, Get(Cf::kTotals, sku));
    if (!bytes) return std::nullopt;
    ASSIGN_OR_RETURN(ledger::StockLevel level, DecodeLevel(*bytes));
    return LevelProto(sku, "", level);
  }
  absl::Status ForEachLevelOf(std::string_view sku,
                              const Visitor<inventory::v1::StockLevel>& visit) const override {
    return ScanLevels(LevelKey(sku, ""), visit);
  }
  absl::Status ForEachLevel(const Visitor<inventory::v1::StockLevel>& visit) const override {
    return ScanLevels("", visit);
  }

  absl::StatusOr<std::optional<inventory::v1::Reservation>> Reservation(std::string_view id) const override {
    return GetProto<inventory::v1::Reservation>(Cf::kReservations, id, "reservation");
  }
  absl::Status ForEachReservation(std::string_view start_after,
                                  const Visitor<inventory::v1::Reservation>& visit) const override {
    return ScanProtos<inventory::v1::Reservation>(Cf::kReservations, "", start_after, "reservation", visit);
  }
  absl::Status ForEachReservationOfOrder(std::string_view order_id, std::string_view start_after,
                                         const Visitor<inventory::v1::Reservation>& visit) const override {
    std::string prefix = OrderKey(order_id, "");
    std::string from = start_after.empty() ? prefix : OrderKey(order_id, start_after) + '\0';
    return Scan(Cf::kByOrder, prefix, from, [&](std::string_view key, std::string_view) -> absl::StatusOr<bool> {
      std::string_view id = key.substr(prefix.size());
      ASSIGN_OR_RETURN(std::optional<inventory::v1::Reservation> r, Reservation(id));
      if (!r) return absl::DataLossError(absl::StrCat("read models: by_order names missing reservation ", base::AsAbsl(id)));
      return visit(*r);
    });
  }

  absl::Status ForEachMovementOf(std::string_view sku, int64_t since_ms, int64_t until_ms, std::string_view cursor,
                                 const Visitor<inventory::v1::InventoryUpdate>& visit) const override {
    std::string prefix = std::string(sku) + '\0';
    std::string from = BySkuKey(sku, since_ms, 0, 0, 0);
    if (!cursor.empty()) {
      if (!cursor.starts_with(prefix)) return absl::InvalidArgumentError("page_token: not a cursor of this SKU");
      std::string after = std::string(cursor) + '\0';
      if (after > from) from = std::move(after);
    }
    std::string end = until_ms == 0 ? PrefixEnd(prefix) : BySkuKey(sku, until_ms, 0, 0, 0);
    return Scan(Cf::kBySku, prefix, from, [&](std::string_view key, std::string_view) -> absl::StatusOr<bool> {
      if (key >= end) return false;
      if (key.size() != prefix.size() + 8 + 4 + 8 + 4) return absl::DataLossError("read models: bad by_sku key");
      std::string_view tail = key.substr(prefix.size() + 8);
      std::string mkey = MovementKey(base::DecodeFixed32Be(tail.data()), base::DecodeFixed64Be(tail.data() + 4),
                                     base::DecodeFixed32Be(tail.data() + 12));
      ASSIGN_OR_RETURN(std::optional<inventory::v1::InventoryUpdate> update,
                       GetProto<inventory::v1::InventoryUpdate>(Cf::kMovements, mkey, "movement"));
      if (!update) return absl::DataLossError("read models: by_sku names a missing movement");
      return visit(*update);
    });
  }

  absl::Status ForEachUpdateFrom(uint32_t partition, uint64_t from_offset,
                                 const Visitor<inventory::v1::InventoryUpdate>& visit) const override {
    std::string prefix;
    base::PutFixed32Be(&prefix, partition);
    return Scan(Cf::kMovements, prefix, MovementKey(partition, from_offset, 0),
                [&](std::string_view, std::string_view value) -> absl::StatusOr<bool> {
                  ASSIGN_OR_RETURN(auto update, ParseValue<inventory::v1::InventoryUpdate>(value, "movement"));
                  return visit(update);
                });
  }

  absl::StatusOr<std::vector<std::pair<std::string, Totals>>> WarehouseTotals() const override {
    return ScanTotals("w/");
  }
  absl::StatusOr<std::vector<std::pair<std::string, Totals>>> CategoryTotals() const override {
    return ScanTotals("c/");
  }
  absl::StatusOr<ReservationCounts> Counts() const override {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, Get(Cf::kReports, kCountsKey));
    if (!bytes) return ReservationCounts{};
    return DecodeCounts(*bytes);
  }
  absl::Status ForEachLowStock(const Visitor<std::string>& visit) const override { return ScanSet("l/", visit); }
  absl::Status ForEachOutOfStock(const Visitor<std::string>& visit) const override { return ScanSet("o/", visit); }
  absl::Status ForEachSalesBlock(const Visitor<inventory::v1::SalesBlock>& visit) const override {
    return Scan(Cf::kReports, "b/", "b/", [&](std::string_view, std::string_view value) -> absl::StatusOr<bool> {
      ASSIGN_OR_RETURN(auto block, ParseValue<inventory::v1::SalesBlock>(value, "sales block"));
      return visit(block);
    });
  }

 private:
  rocksdb::ReadOptions Options() const {
    rocksdb::ReadOptions read;
    read.snapshot = snapshot_;
    return read;
  }

  absl::StatusOr<std::optional<std::string>> Get(Cf cf, std::string_view key) const {
    std::string value;
    rocksdb::Status s = store_->db()->Get(Options(), store_->handle(cf), AsSlice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    RETURN_IF_ERROR(FromRocks(s, "get"));
    return value;
  }

  template <typename Proto>
  absl::StatusOr<std::optional<Proto>> GetProto(Cf cf, std::string_view key, std::string_view what) const {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, Get(cf, key));
    if (!bytes) return std::nullopt;
    return ParseValue<Proto>(*bytes, what);
  }

  // Visits keys starting with `prefix`, from `from` (>= prefix) on.
  template <typename Fn>
  absl::Status Scan(Cf cf, std::string_view prefix, std::string_view from, Fn&& fn) const {
    rocksdb::ReadOptions read = Options();
    std::string upper = PrefixEnd(std::string(prefix));
    rocksdb::Slice upper_slice(upper);
    if (!upper.empty()) read.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(read, store_->handle(cf)));
    for (it->Seek(AsSlice(std::max(from, prefix))); it->Valid(); it->Next()) {
      ASSIGN_OR_RETURN(bool more, fn(AsView(it->key()), AsView(it->value())));
      if (!more) return absl::OkStatus();
    }
    return FromRocks(it->status(), "scan");
  }

  template <typename Proto>
  absl::Status ScanProtos(Cf cf, std::string_view prefix, std::string_view start_after, std::string_view what,
                          const Visitor<Proto>& visit) const {
    std::string from = start_after.empty() ? std::string(prefix) : std::string(start_after) + '\0';
    return Scan(cf, prefix, from, [&](std::string_view, std::string_view value) -> absl::StatusOr<bool> {
      ASSIGN_OR_RETURN(Proto proto, ParseValue<Proto>(value, what));
      return visit(proto);
    });
  }

  absl::Status ScanLevels(std::string_view prefix, const Visitor<inventory::v1::StockLevel>& visit) const {
    return Scan(Cf::kLevels, prefix, prefix, [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
      size_t sep = key.find('\0');
      if (sep == std::string_view::npos) return absl::DataLossError("read models: level key without separator");
      ASSIGN_OR_RETURN(ledger::StockLevel level, DecodeLevel(value));
      return visit(LevelProto(key.substr(0, sep), key.substr(sep + 1), level));
    });
  }

  absl::StatusOr<std::vector<std::pair<std::string, Totals>>> ScanTotals(std::string_view prefix) const {
    std::vector<std::pair<std::string, Totals>> out;
    RETURN_IF_ERROR(Scan(Cf::kReports, prefix, prefix,
                         [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
                           ASSIGN_OR_RETURN(Totals totals, DecodeTotals(value));
                           out.emplace_back(std::string(key.substr(prefix.size())), totals);
                           return true;
                         }));
    return out;
  }

  absl::Status ScanSet(std::string_view prefix, const Visitor<std::string>& visit) const {
    return Scan(Cf::kReports, prefix, prefix, [&](std::string_view key, std::string_view) -> absl::StatusOr<bool> {
      return visit(std::string(key.substr(prefix.size())));
    });
  }

  const Store* store_;
  const rocksdb::Snapshot* snapshot_;
  base::NextOffsets applied_;
};

}  // namespace

inventory::v1::StockLevel LevelProto(std::string_view sku, std::string_view warehouse, const ledger::StockLevel& l) {
  inventory::v1::StockLevel out;
  out.set_sku(std::string(sku));
  out.set_warehouse(std::string(warehouse));
  out.set_on_hand(l.on_hand);
  out.set_reserved(l.reserved);
  out.set_available(l.available());
  out.set_incoming(l.incoming);
  return out;
}

std::string AppliedKey(uint32_t partition) {
  std::string key(kAppliedPrefix);
  base::PutFixed32Be(&key, partition);
  return key;
}
std::string LevelKey(std::string_view sku, std::string_view warehouse) {
  std::string key;
  key.reserve(sku.size() + 1 + warehouse.size());
  key.append(sku).push_back('\0');
  key.append(warehouse);
  return key;
}
std::string OrderKey(std::string_view order_id, std::string_view reservation_id) {
  return LevelKey(order_id, reservation_id);
}
std::string MovementKey(uint32_t partition, uint64_t offset, uint32_t index) {
  std::string key;
  key.reserve(16);
  base::PutFixed32Be(&key, partition);
  base::PutFixed64Be(&key, offset);
  base::PutFixed32Be(&key, index);
  return key;
}
std::string BySkuKey(std::string_view sku, int64_t occurred_at_ms, uint32_t partition, uint64_t offset,
                     uint32_t index) {
  std::string key;
  key.reserve(sku.size() + 25);
  key.append(sku).push_back('\0');
  base::PutFixed64Be(&key, static_cast<uint64_t>(occurred_at_ms) ^ (uint64_t{1} << 63));
  base::PutFixed32Be(&key, partition);
  base::PutFixed64Be(&key, offset);
  base::PutFixed32Be(&key, index);
  return key;
}
std::string WarehouseTotalsKey(std::string_view code) { return absl::StrCat("w/", base::AsAbsl(code)); }
std::string CategoryTotalsKey(std::string_view category) { return absl::StrCat("c/", base::AsAbsl(category)); }
std::string LowStockKey(std::string_view sku) { return absl::StrCat("l/", base::AsAbsl(sku)); }
std::string OutOfStockKey(std::string_view sku) { return absl::StrCat("o/", base::AsAbsl(sku)); }
std::string SalesBlockKey(std::string_view sku, std::string_view warehouse) {
  return absl::StrCat("b/", base::AsAbsl(LevelKey(sku, warehouse)));
}

std::string EncodeLevel(const ledger::StockLevel& level) {
  std::string out;
  out.reserve(24);
  base::PutFixed64Be(&out, static_cast<uint64_t>(level.on_hand));
  base::PutFixed64Be(&out, static_cast<uint64_t>(level.reserved));
  base::PutFixed64Be(&out, static_cast<uint64_t>(level.incoming));
  return out;
}
absl::StatusOr<ledger::StockLevel> DecodeLevel(std::string_view bytes) {
  if (bytes.size() != 24) return absl::DataLossError("read models: level value is not 24 bytes");
  ledger::StockLevel level;
  level.on_hand = static_cast<int64_t>(base::DecodeFixed64Be(bytes.data()));
  level.reserved = static_cast<int64_t>(base::DecodeFixed64Be(bytes.data() + 8));
  level.incoming = static_cast<int64_t>(base::DecodeFixed64Be(bytes.data() + 16));
  return level;
}
std::string EncodeTotals(const Totals& totals) {
  return EncodeLevel({.on_hand = totals.on_hand, .reserved = totals.reserved, .incoming = totals.incoming});
}
absl::StatusOr<Totals> DecodeTotals(std::string_view bytes) {
  ASSIGN_OR_RETURN(ledger::StockLevel level, DecodeLevel(bytes));
  return Totals{.on_hand = level.on_hand, .reserved = level.reserved, .incoming = level.incoming};
}
std::string EncodeCounts(const ReservationCounts& c) {
  std::string out;
  out.reserve(32);
  for (int64_t v : {c.active, c.committed, c.released, c.expired}) base::PutFixed64Be(&out, static_cast<uint64_t>(v));
  return out;
}
absl::StatusOr<ReservationCounts> DecodeCounts(std::string_view bytes) {
  if (bytes.size() != 32) return absl::DataLossError("read models: counts value is not 32 bytes");
  return ReservationCounts{.active = static_cast<int64_t>(base::DecodeFixed64Be(bytes.data())),
                           .committed = static_cast<int64_t>(base::DecodeFixed64Be(bytes.data() + 8)),
                           .released = static_cast<int64_t>(base::DecodeFixed64Be(bytes.data() + 16)),
                           .expired = static_cast<int64_t>(base::DecodeFixed64Be(bytes.data() + 24))};
}

std::string MovementCursor(const inventory::v1::InventoryUpdate& update) {
  const inventory::v1::Movement& m = update.movement();
  return BySkuKey(m.sku(), m.occurred_at_ms(), m.position().partition(), m.position().offset(),
                  update.movement_index());
}

absl::StatusOr<std::unique_ptr<ReadModels>> ReadModels::Open(ReadModelsOptions options, OpenMode mode) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::OpenStore(std::move(options), mode));
  return std::unique_ptr<ReadModels>(std::move(store));
}

Store::Store(ReadModelsOptions options, OpenMode mode) : options_(std::move(options)), mode_(mode) {}

Store::~Store() { CloseDb(); }

void Store::CloseDb() {
  if (!db_) return;
  for (rocksdb::ColumnFamilyHandle*& h : handles_) {
    if (h != nullptr) {
      db_->DestroyColumnFamilyHandle(h);
      h = nullptr;
    }
  }
  db_.reset();
}

absl::StatusOr<std::unique_ptr<Store>> Store::OpenStore(ReadModelsOptions options, OpenMode mode) {
  if (options.path.empty()) return base::InvalidField("path", "must not be empty");
  if (options.partition_count == 0 || options.partition_count > eventlog::kPartitionCountMax) {
    return base::InvalidField("partition_count", "must be 1..1024");
  }
  if (mode == OpenMode::kSecondary && options.secondary_path.empty()) {
    return base::InvalidField("secondary_path", "must be set for a secondary open");
  }
  std::unique_ptr<Store> store(new Store(std::move(options), mode));
  RETURN_IF_ERROR(store->OpenDb());
  RETURN_IF_ERROR(store->CheckMeta());
  return store;
}

absl::Status Store::OpenDb() {
  rocksdb::Options db_options;
  db_options.info_log = eventlog::RocksDbInfoLog("read models");  // no LOG file: see rocksdb_info_log.h
  db_options.create_if_missing = mode_ == OpenMode::kReadWrite;
  db_options.create_missing_column_families = mode_ == OpenMode::kReadWrite;
  // Catch-up writes with the WAL off; atomic_flush keeps every column family
  // and the applied offsets at one batch boundary after a crash.
  db_options.atomic_flush = true;
  db_options.max_open_files = mode_ == OpenMode::kSecondary ? -1 : 512;
  db_options.max_background_jobs = 2;
  db_options.max_total_wal_size = 256 << 20;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = options_.write_buffer_bytes;
  // The fold looks up many rows that do not exist yet (a new reservation, a
  // first level): a bloom filter over the memtable answers those without a
  // skiplist search.
  cf_options.memtable_whole_key_filtering = true;
  cf_options.memtable_prefix_bloom_size_ratio = 0.05;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) descriptors.emplace_back(name, cf_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (mode_ == OpenMode::kReadWrite) {
    std::error_code ec;
    std::filesystem::create_directories(options_.path, ec);
    s = rocksdb::DB::Open(db_options, options_.path, descriptors, &handles, &raw);
  } else {
    s = rocksdb::DB::OpenAsSecondary(db_options, options_.path, options_.secondary_path, descriptors, &handles, &raw);
  }
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("opening ", options_.path)));
  db_.reset(raw);
  INV_CHECK(handles.size() == kCfCount);
  for (size_t i = 0; i < kCfCount; ++i) handles_[i] = handles[i];
  return absl::OkStatus();
}

absl::Status Store::CheckMeta() {
  ASSIGN_OR_RETURN(std::optional<std::string> partitions, Get(Cf::kMeta, kPartitionsKey));
  ASSIGN_OR_RETURN(std::optional<std::string> schema, Get(Cf::kMeta, kSchemaKey));
  if (!partitions && mode_ == OpenMode::kReadWrite) {
    rocksdb::WriteBatch batch;
    std::string count, version;
    base::PutFixed32Be(&count, options_.partition_count);
    base::PutFixed32Be(&version, kViewSchemaVersion);
    batch.Put(handle(Cf::kMeta), AsSlice(kPartitionsKey), count);
    batch.Put(handle(Cf::kMeta), AsSlice(kSchemaKey), version);
    return Write(batch, {.sync = true});
  }
  if (!partitions) return absl::FailedPreconditionError("read models: no views at " + options_.path);
  if (partitions->size() != 4 || base::DecodeFixed32Be(partitions->data()) != options_.partition_count) {
    return absl::FailedPreconditionError(absl::StrCat("read models at ", options_.path,
                                                      " follow a log with another partition count than ",
                                                      options_.partition_count));
  }
  needs_rebuild_ = !schema || schema->size() != 4 || base::DecodeFixed32Be(schema->data()) != kViewSchemaVersion;
  return absl::OkStatus();
}

std::unique_ptr<Snapshot> Store::NewSnapshot() const { return std::make_unique<SnapshotImpl>(this); }

absl::Status Store::Refresh() {
  if (mode_ != OpenMode::kSecondary) return absl::OkStatus();
  return FromRocks(db_->TryCatchUpWithPrimary(), "catching up with the primary");
}

absl::Status Store::DropViews() {
  INV_CHECK(mode_ == OpenMode::kReadWrite);
  // Dropping and recreating a column family frees its files at once, unlike
  // deleting its keys.
  for (size_t i = 1; i < kCfCount; ++i) {
    RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(handles_[i]), "dropping a view"));
    RETURN_IF_ERROR(FromRocks(db_->DestroyColumnFamilyHandle(handles_[i]), "dropping a view"));
    handles_[i] = nullptr;
    rocksdb::ColumnFamilyOptions cf_options(db_->GetOptions(handles_[0]));
    RETURN_IF_ERROR(FromRocks(db_->CreateColumnFamily(cf_options, kCfNames[i], &handles_[i]), "recreating a view"));
  }
  rocksdb::WriteBatch batch;
  for (uint32_t p = 0; p < options_.partition_count; ++p) batch.Delete(handle(Cf::kMeta), AppliedKey(p));
  std::string version;
  base::PutFixed32Be(&version, kViewSchemaVersion);
  batch.Put(handle(Cf::kMeta), AsSlice(kSchemaKey), version);
  RETURN_IF_ERROR(Write(batch, {.sync = true}));
  needs_rebuild_ = false;
  return absl::OkStatus();
}

absl::StatusOr<base::NextOffsets> Store::LoadApplied() const {
  base::NextOffsets applied = base::NextOffsets::Zero(options_.partition_count);
  for (uint32_t p = 0; p < options_.partition_count; ++p) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, Get(Cf::kMeta, AppliedKey(p)));
    if (!bytes) continue;
    if (bytes->size() != 8) return absl::DataLossError("read models: applied offset is not 8 bytes");
    applied[p] = base::DecodeFixed64Be(bytes->data());
  }
  return applied;
}

absl::StatusOr<std::optional<std::string>> Store::Get(Cf cf, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(cf), AsSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, "get"));
  return value;
}

absl::StatusOr<std::map<std::string, std::string>> Store::DumpViews() const {
  std::map<std::string, std::string> out;
  for (size_t i = 1; i < kCfCount; ++i) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace(absl::StrCat(i, "|", base::AsAbsl(AsView(it->key()))), it->value().ToString());
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "dumping"));
  }
  return out;
}

absl::Status Store::ForEachRow(Cf cf,
                              const std::function<absl::Status(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(cf)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) RETURN_IF_ERROR(fn(AsView(it->key()), AsView(it->value())));
  return FromRocks(it->status(), "scanning");
}

absl::Status Store::Write(rocksdb::WriteBatch& batch, StoreWriteOptions options) {
  INV_CHECK(mode_ == OpenMode::kReadWrite);
  rocksdb::WriteOptions write;
  write.sync = options.sync && !options.disable_wal;
  write.disableWAL = options.disable_wal;
  return FromRocks(db_->Write(write, &batch), "writing a batch");
}

absl::Status Store::Flush() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_.begin(), handles_.end());
  return FromRocks(db_->Flush(flush, all), "flushing");
}

ledger::StockState StockStateOf(const inventory::v1::Item* item, ledger::Quantity available) {
  if (item == nullptr) return ledger::StockState::kUntracked;
  const bool active = item->status() == inventory::v1::ITEM_STATUS_ACTIVE;
  const ledger::ItemStatus status = active ? ledger::ItemStatus::kActive : ledger::ItemStatus::kDiscontinued;
  return ledger::StockStateOf(status, item->reorder_point(), available);
}

}  // namespace projector
