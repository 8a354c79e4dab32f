#include "query-api/memory_views.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace query_api {
namespace {

namespace pb = inventory::v1;

std::tuple<int64_t, uint32_t, uint64_t> MovementKey(const pb::InventoryUpdate& u) {
  return {u.movement().occurred_at_ms(), u.position().partition(), u.position().offset()};
}

class MemorySnapshot final : public projector::Snapshot {
 public:
  explicit MemorySnapshot(std::shared_ptr<const MemoryData> d) : d_(std::move(d)) {}

  const base::NextOffsets& applied() const override { return d_->applied; }
  absl::StatusOr<std::optional<pb::Item>> Item(std::string_view sku) const override {
    return Find(d_->items, std::string(sku));
  }
  absl::Status ForEachItem(std::string_view after, const projector::Visitor<pb::Item>& v) const override {
    for (auto it = d_->items.upper_bound(std::string(after)); it != d_->items.end(); ++it) {
      if (!v(it->second)) break;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<pb::Warehouse>> Warehouse(std::string_view code) const override {
    return Find(d_->warehouses, std::string(code));
  }
  absl::Status ForEachWarehouse(const projector::Visitor<pb::Warehouse>& v) const override {
    for (const auto& [k, w] : d_->warehouses) {
      if (!v(w)) break;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<pb::StockLevel>> Level(std::string_view sku, std::string_view wh) const override {
    return Find(d_->levels, std::make_pair(std::string(sku), std::string(wh)));
  }
  absl::StatusOr<std::optional<pb::StockLevel>> Total(std::string_view sku) const override {
    std::optional<pb::StockLevel> total;
    for (auto it = d_->levels.lower_bound({std::string(sku), ""}); it != d_->levels.end() && it->first.first == sku;
         ++it) {
      if (!total) total.emplace().set_sku(std::string(sku));
      total->set_on_hand(total->on_hand() + it->second.on_hand());
      total->set_reserved(total->reserved() + it->second.reserved());
      total->set_incoming(total->incoming() + it->second.incoming());
      total->set_available(total->on_hand() - total->reserved());
    }
    return total;
  }
  absl::Status ForEachLevelOf(std::string_view sku, const projector::Visitor<pb::StockLevel>& v) const override {
    for (auto it = d_->levels.lower_bound({std::string(sku), ""}); it != d_->levels.end() && it->first.first == sku;
         ++it) {
      if (!v(it->second)) break;
    }
    return absl::OkStatus();
  }
  absl::Status ForEachLevel(const projector::Visitor<pb::StockLevel>& v) const override {
    for (const auto& [k, l] : d_->levels) {
      if (!v(l)) break;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<pb::Reservation>> Reservation(std::string_view id) const override {
    return Find(d_->reservations, std::string(id));
  }
  absl::Status ForEachReservation(std::string_view after,
                                  const projector::Visitor<pb::Reservation>& v) const override {
    for (auto it = d_->reservations.upper_bound(std::string(after)); it != d_->reservations.end(); ++it) {
      if (!v(it->second)) break;
    }
    return absl::OkStatus();
  }
  absl::Status ForEachReservationOfOrder(std::string_view order, std::string_view after,
                                         const projector::Visitor<pb::Reservation>& v) const override {
    for (auto it = d_->reservations.upper_bound(std::string(after)); it != d_->reservations.end(); ++it) {
      if (it->second.order_id() == order && !v(it->second)) break;
    }
    return absl::OkStatus();
  }
  absl::Status ForEachMovementOf(std::string_view sku, int64_t since_ms, int64_t until_ms, std::string_view cursor,
                                 const projector::Visitor<pb::InventoryUpdate>& v) const override {
    std::vector<const pb::InventoryUpdate*> all;
    for (const auto& part : d_->updates) {
      for (const auto& u : part) {
        int64_t t = u.movement().occurred_at_ms();
        if (u.movement().sku() == sku && t >= since_ms && (until_ms == 0 || t < until_ms)) all.push_back(&u);
      }
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const auto* a, const auto* b) { return MovementKey(*a) < MovementKey(*b); });
    size_t start = 0;
    if (!cursor.empty()) {
      std::vector<std::string> parts = absl::StrSplit(std::string(cursor), '/');
      size_t index = std::stoul(parts.at(0));
      start = index + 1;
    }
    for (size_t i = start; i < all.size(); ++i) {
      if (!v(*all[i])) break;
    }
    return absl::OkStatus();
  }
  absl::Status ForEachUpdateFrom(uint32_t partition, uint64_t from,
                                 const projector::Visitor<pb::InventoryUpdate>& v) const override {
    for (const auto& u : d_->updates.at(partition)) {
      if (u.position().offset() >= from && !v(u)) break;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::pair<std::string, projector::Totals>>> WarehouseTotals() const override {
    return std::vector<std::pair<std::string, projector::Totals>>{};
  }
  absl::StatusOr<std::vector<std::pair<std::string, projector::Totals>>> CategoryTotals() const override {
    return std::vector<std::pair<std::string, projector::Totals>>{};
  }
  absl::StatusOr<projector::ReservationCounts> Counts() const override { return projector::ReservationCounts{}; }
  absl::Status ForEachLowStock(const projector::Visitor<std::string>&) const override { return absl::OkStatus(); }
  absl::Status ForEachOutOfStock(const projector::Visitor<std::string>&) const override { return absl::OkStatus(); }
  // From the item rows, which hold them in the same order.
  absl::Status ForEachSalesBlock(const projector::Visitor<pb::SalesBlock>& v) const override {
    for (const auto& [sku, item] : d_->items) {
      for (const pb::SalesBlock& b : item.sales_blocks()) {
        if (!v(b)) return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

 private:
  template <typename Map, typename Key>
  static std::optional<typename Map::mapped_type> Find(const Map& m, const Key& k) {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
  std::shared_ptr<const MemoryData> d_;
};

}  // namespace

MemoryViews::MemoryViews(uint32_t partitions) : partitions_(partitions) {
  auto d = std::make_shared<MemoryData>();
  d->applied = base::NextOffsets::Zero(partitions);
  d->updates.resize(partitions);
  data_ = std::move(d);
}

void MemoryViews::Edit(const std::function<void(MemoryData&)>& edit) {
  std::lock_guard<std::mutex> lock(mu_);
  auto d = std::make_shared<MemoryData>(*data_);
  edit(*d);
  data_ = std::move(d);
}

uint64_t MemoryViews::Apply(uint32_t partition, std::vector<pb::InventoryUpdate> updates) {
  auto batch = std::make_shared<AppliedUpdates>();
  std::vector<Listener> listeners;
  uint64_t offset = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto d = std::make_shared<MemoryData>(*data_);
    offset = d->applied[partition]++;
    for (pb::InventoryUpdate& u : updates) {
      u.mutable_position()->set_partition(partition);
      u.mutable_position()->set_offset(offset);
      d->updates[partition].push_back(u);
    }
    batch->updates = std::move(updates);
    batch->applied = d->applied;
    data_ = std::move(d);
    for (const auto& [id, l] : listeners_) listeners.push_back(l);
  }
  for (const Listener& l : listeners) l(*batch);
  return offset;
}

void MemoryViews::Skip(uint32_t partition, uint64_t events) {
  std::vector<Listener> listeners;
  auto batch = std::make_shared<AppliedUpdates>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto d = std::make_shared<MemoryData>(*data_);
    d->applied[partition] += events;
    batch->applied = d->applied;
    data_ = std::move(d);
    for (const auto& [id, l] : listeners_) listeners.push_back(l);
  }
  for (const Listener& l : listeners) l(*batch);
}

size_t MemoryViews::listeners() const {
  std::lock_guard<std::mutex> lock(mu_);
  return listeners_.size();
}

std::unique_ptr<projector::Snapshot> MemoryViews::NewSnapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::make_unique<MemorySnapshot>(data_);
}

std::unique_ptr<projector::Snapshot> MemoryViews::NewLevelsSnapshot() const {
  levels_snapshots_.fetch_add(1);
  return NewSnapshot();
}

base::NextOffsets MemoryViews::applied() const {
  std::lock_guard<std::mutex> lock(mu_);
  return data_->applied;
}

absl::StatusOr<uint64_t> MemoryViews::AddListener(Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  if (listeners_.size() >= 64) return absl::ResourceExhaustedError("listeners_max");
  uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void MemoryViews::RemoveListener(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.erase(id);
}

std::string MemoryViews::MovementCursor(const pb::InventoryUpdate& update) const {
  // Index of `update` in the sorted list of its SKU's movements (whole range).
  auto snap = NewSnapshot();
  size_t index = 0;
  size_t found = 0;
  (void)snap->ForEachMovementOf(update.movement().sku(), 0, 0, "", [&](const pb::InventoryUpdate& u) {
    if (u.position().partition() == update.position().partition() &&
        u.position().offset() == update.position().offset()) {
      found = index;
      return false;
    }
    ++index;
    return true;
  });
  return absl::StrCat(found, "/");
}

}  // namespace query_api
