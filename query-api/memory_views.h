// An in-memory ViewSource for unit tests: the read models as plain maps,
// snapshots as immutable copies, and batches applied by hand, so tests
// control exactly when the "projector" advances.
//
// Thread-safety: every method may be called from any thread; listeners run on
// the caller of Apply.
#ifndef QUERY_API_MEMORY_VIEWS_H_
#define QUERY_API_MEMORY_VIEWS_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "query-api/view_source.h"

namespace query_api {

struct MemoryData {
  base::NextOffsets applied;
  std::map<std::string, inventory::v1::Item> items;
  std::map<std::string, inventory::v1::Warehouse> warehouses;
  std::map<std::pair<std::string, std::string>, inventory::v1::StockLevel> levels;  // (sku, warehouse)
  std::map<std::string, inventory::v1::Reservation> reservations;
  std::vector<std::vector<inventory::v1::InventoryUpdate>> updates;  // per partition, log order
};

class MemoryViews final : public ViewSource {
 public:
  explicit MemoryViews(uint32_t partitions);

  // Edits the views without telling listeners (setup).
  void Edit(const std::function<void(MemoryData&)>& edit);
  // Appends one event's updates at the partition's next offset (each update's
  // position is set), advances applied, and tells listeners. Returns the
  // event's offset.
  uint64_t Apply(uint32_t partition, std::vector<inventory::v1::InventoryUpdate> updates);
  // Advances applied[partition] without updates (events that touch no stock).
  void Skip(uint32_t partition, uint64_t events);
  size_t listeners() const;

  std::unique_ptr<projector::Snapshot> NewSnapshot() const override;
  // The same data; counted, so tests see which reads ask for it.
  std::unique_ptr<projector::Snapshot> NewLevelsSnapshot() const override;
  size_t levels_snapshots() const { return levels_snapshots_.load(); }
  base::NextOffsets applied() const override;
  uint32_t partition_count() const override { return partitions_; }
  SourceLag lag() const override { return {}; }
  absl::Status health() const override { return absl::OkStatus(); }
  absl::StatusOr<uint64_t> AddListener(Listener listener) override;
  void RemoveListener(uint64_t id) override;
  std::string MovementCursor(const inventory::v1::InventoryUpdate& update) const override;

 private:
  const uint32_t partitions_;
  mutable std::mutex mu_;
  std::shared_ptr<const MemoryData> data_;
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_listener_ = 1;
  mutable std::atomic<size_t> levels_snapshots_{0};
};

}  // namespace query_api

#endif  // QUERY_API_MEMORY_VIEWS_H_
