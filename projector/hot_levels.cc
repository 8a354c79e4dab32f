#include "projector/hot_levels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status.h"
#include "projector/store.h"
#include "rocksdb/db.h"
#include "spdlog/spdlog.h"

namespace projector {
namespace {

namespace v1 = inventory::v1;

// (sku, warehouse) of a LevelKey; false when it has no separator.
bool SplitLevelKey(std::string_view key, std::string_view* sku, std::string_view* warehouse) {
  size_t sep = key.find('\0');
  if (sep == std::string_view::npos) return false;
  *sku = key.substr(0, sep);
  *warehouse = key.substr(sep + 1);
  return true;
}

absl::Status NotHot(std::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("hot levels answer items, warehouses and levels only, not ", base::AsAbsl(what)));
}

}  // namespace

class HotLevels::HotSnapshot final : public Snapshot {
 public:
  explicit HotSnapshot(const HotLevels* hot) : hot_(hot) { hot_->mu_.ReaderLock(); }
  ~HotSnapshot() override { hot_->mu_.ReaderUnlock(); }

  const base::NextOffsets& applied() const override { return hot_->applied_; }

  absl::StatusOr<std::optional<v1::Item>> Item(std::string_view sku) const override {
    const Sku* s = Find(sku);
    if (s == nullptr || s->item == nullptr) return std::nullopt;
    return *s->item;
  }
  absl::StatusOr<std::shared_ptr<const v1::Item>> SharedItem(std::string_view sku) const override {
    const Sku* s = Find(sku);
    if (s == nullptr) return nullptr;
    return s->item;
  }
  absl::Status ForEachItem(std::string_view, const Visitor<v1::Item>&) const override { return NotHot("item scans"); }
  absl::StatusOr<std::optional<v1::Warehouse>> Warehouse(std::string_view code) const override {
    auto it = hot_->warehouses_.find(base::AsAbsl(code));
    if (it == hot_->warehouses_.end()) return std::nullopt;
    return it->second;
  }
  absl::Status ForEachWarehouse(const Visitor<v1::Warehouse>& visit) const override {
    for (const std::string& code : hot_->warehouse_order_) {
      if (!visit(hot_->warehouses_.find(code)->second)) break;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<v1::StockLevel>> Level(std::string_view sku,
                                                      std::string_view warehouse) const override {
    const Sku* s = Find(sku);
    if (s == nullptr) return std::nullopt;
    for (const auto& [code, level] : s->levels) {
      if (code == warehouse) return LevelProto(sku, code, level);
    }
    return std::nullopt;
  }
  absl::StatusOr<std::optional<v1::StockLevel>> Total(std::string_view sku) const override {
    const Sku* s = Find(sku);
    if (s == nullptr || !s->has_total) return std::nullopt;
    return LevelProto(sku, "", s->total);
  }
  absl::Status ForEachLevelOf(std::string_view sku, const Visitor<v1::StockLevel>& visit) const override {
    const Sku* s = Find(sku);
    if (s == nullptr) return absl::OkStatus();
    for (const auto& [code, level] : s->levels) {
      if (!visit(LevelProto(sku, code, level))) break;
    }
    return absl::OkStatus();
  }
  absl::Status ForEachLevel(const Visitor<v1::StockLevel>&) const override { return NotHot("level scans"); }
  absl::StatusOr<std::optional<v1::Reservation>> Reservation(std::string_view) const override {
    return NotHot("reservations");
  }
  absl::Status ForEachReservation(std::string_view, const Visitor<v1::Reservation>&) const override {
    return NotHot("reservations");
  }
  absl::Status ForEachReservationOfOrder(std::string_view, std::string_view,
                                         const Visitor<v1::Reservation>&) const override {
    return NotHot("reservations");
  }
  absl::Status ForEachMovementOf(std::string_view, int64_t, int64_t, std::string_view,
                                 const Visitor<v1::InventoryUpdate>&) const override {
    return NotHot("movements");
  }
  absl::Status ForEachUpdateFrom(uint32_t, uint64_t, const Visitor<v1::InventoryUpdate>&) const override {
    return NotHot("movements");
  }
  absl::StatusOr<std::vector<std::pair<std::string, Totals>>> WarehouseTotals() const override {
    return NotHot("reports");
  }
  absl::StatusOr<std::vector<std::pair<std::string, Totals>>> CategoryTotals() const override {
    return NotHot("reports");
  }
  absl::StatusOr<ReservationCounts> Counts() const override { return NotHot("reports"); }
  absl::Status ForEachLowStock(const Visitor<std::string>&) const override { return NotHot("reports"); }
  absl::Status ForEachOutOfStock(const Visitor<std::string>&) const override { return NotHot("reports"); }
  absl::Status ForEachSalesBlock(const Visitor<v1::SalesBlock>&) const override { return NotHot("reports"); }

 private:
  const Sku* Find(std::string_view sku) const {
    auto it = hot_->skus_.find(base::AsAbsl(sku));
    return it == hot_->skus_.end() ? nullptr : &it->second;
  }

  const HotLevels* hot_;
};

HotLevels::HotLevels(size_t skus_max) : skus_max_(skus_max) { INV_CHECK(skus_max >= 1); }
HotLevels::~HotLevels() = default;

bool HotLevels::enabled() const {
  absl::ReaderMutexLock lock(&mu_);
  return enabled_;
}

size_t HotLevels::skus() const {
  absl::ReaderMutexLock lock(&mu_);
  return skus_.size();
}

std::unique_ptr<Snapshot> HotLevels::NewSnapshot() const {
  auto snapshot = std::make_unique<HotSnapshot>(this);  // holds the reader lock
  if (!enabled_) return nullptr;  // off for good (past skus_max): read RocksDB
  return snapshot;
}

HotLevels::Sku& HotLevels::SkuLocked(std::string_view sku) {
  auto it = skus_.find(base::AsAbsl(sku));
  if (it != skus_.end()) return it->second;
  return skus_.try_emplace(std::string(sku)).first->second;
}

void HotLevels::PutLevelLocked(std::string_view key, const ledger::StockLevel& level) {
  std::string_view sku, warehouse;
  INV_CHECK(SplitLevelKey(key, &sku, &warehouse)) << "a level key without separator";
  auto& levels = SkuLocked(sku).levels;
  auto it = std::lower_bound(levels.begin(), levels.end(), warehouse,
                             [](const auto& entry, std::string_view code) { return entry.first < code; });
  if (it != levels.end() && it->first == warehouse) {
    it->second = level;
  } else {
    levels.insert(it, {std::string(warehouse), level});
  }
}

void HotLevels::DisableLocked() {
  if (!enabled_) return;
  spdlog::warn("projector: hot levels hold more than {} SKUs; reads use RocksDB from now on", skus_max_);
  enabled_ = false;
  skus_.clear();
  warehouses_.clear();
  warehouse_order_.clear();
}

absl::Status HotLevels::Load(const Store& store) {
  ASSIGN_OR_RETURN(base::NextOffsets applied, store.LoadApplied());
  absl::MutexLock lock(&mu_);
  if (!enabled_) return absl::OkStatus();
  skus_.clear();
  warehouses_.clear();
  warehouse_order_.clear();
  // The store is written only by the caller's thread, so these scans see the
  // rows at the offsets just loaded. Rows go in one at a time, through the
  // same ApplyLocked as a batch, to hold no second copy of the views.
  ChangedRows rows;
  auto take = [&] {
    ApplyLocked(rows);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(store.ForEachRow(Cf::kItems, [&](std::string_view key, std::string_view value) -> absl::Status {
    v1::Item& item = rows.items.emplace_back(std::string(key), v1::Item()).second;
    if (!item.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError("read models: undecodable item");
    }
    return take();
  }));
  RETURN_IF_ERROR(store.ForEachRow(Cf::kWarehouses, [&](std::string_view key, std::string_view value) -> absl::Status {
    v1::Warehouse& w = rows.warehouses.emplace_back(std::string(key), v1::Warehouse()).second;
    if (!w.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError("read models: undecodable warehouse");
    }
    return take();
  }));
  for (Cf cf : {Cf::kLevels, Cf::kTotals}) {
    auto& out = cf == Cf::kLevels ? rows.levels : rows.totals;
    RETURN_IF_ERROR(store.ForEachRow(cf, [&](std::string_view key, std::string_view value) -> absl::Status {
      ASSIGN_OR_RETURN(ledger::StockLevel level, DecodeLevel(value));
      out.emplace_back(std::string(key), level);
      return take();
    }));
  }
  applied_ = std::move(applied);
  return absl::OkStatus();
}

void HotLevels::Apply(ChangedRows& rows, const base::NextOffsets& applied) {
  absl::MutexLock lock(&mu_);
  ApplyLocked(rows);
  applied_ = applied;
}

void HotLevels::ApplyLocked(ChangedRows& rows) {
  if (enabled_) {
    for (auto& [sku, item] : rows.items) SkuLocked(sku).item = std::make_shared<const v1::Item>(std::move(item));
    for (auto& [code, w] : rows.warehouses) {
      auto [it, inserted] = warehouses_.insert_or_assign(code, std::move(w));
      if (inserted) {
        warehouse_order_.insert(std::lower_bound(warehouse_order_.begin(), warehouse_order_.end(), code), code);
      }
    }
    for (const auto& [key, level] : rows.levels) PutLevelLocked(key, level);
    for (const auto& [sku, total] : rows.totals) {
      Sku& s = SkuLocked(sku);
      s.has_total = true;
      s.total = total;
    }
    if (skus_.size() > skus_max_) DisableLocked();
  }
  rows.clear();
}

}  // namespace projector
