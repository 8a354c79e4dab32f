// What the query service needs from the read side: consistent snapshots of
// the read models, the projector's applied offsets and lag, and a hook called
// after each applied batch. Production uses the projector (ProjectorSource);
// unit tests use an in-memory fake, so the service's own logic (paging,
// allocation, fan-out, the seam between catch-up and live) is tested without
// RocksDB.
//
// Thread-safety: every method may be called from any thread.
#ifndef QUERY_API_VIEW_SOURCE_H_
#define QUERY_API_VIEW_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "projector/projector.h"
#include "projector/read_models.h"

namespace query_api {

// One applied batch as listeners see it: its stock updates and the applied
// offsets (next offset to apply, per partition) after it.
using AppliedUpdates = projector::AppliedBatch;

struct SourceLag {
  uint64_t events = 0;  // records behind the log end
  int64_t ms = 0;       // how long the projector has not been caught up
};

class ViewSource {
 public:
  // The batch is borrowed for the call; copy what must outlive it.
  using Listener = std::function<void(const AppliedUpdates&)>;

  virtual ~ViewSource() = default;

  virtual std::unique_ptr<projector::Snapshot> NewSnapshot() const = 0;
  // A snapshot for availability reads: it must answer Item, Warehouse,
  // ForEachWarehouse, Level, Total and ForEachLevelOf (others may fail), and
  // its applied() must cover what applied() reported before the call. The
  // projector's in-memory hot levels; by default NewSnapshot().
  virtual std::unique_ptr<projector::Snapshot> NewLevelsSnapshot() const { return NewSnapshot(); }
  // Next offset to apply, per partition; never goes backwards.
  virtual base::NextOffsets applied() const = 0;
  virtual uint32_t partition_count() const = 0;
  virtual SourceLag lag() const = 0;
  // Not OK once the projector stopped on an error.
  virtual absl::Status health() const = 0;
  // `listener` runs after each applied batch, on the projector's thread: it
  // must be quick and must not block. RESOURCE_EXHAUSTED past the source's
  // listener limit.
  virtual absl::StatusOr<uint64_t> AddListener(Listener listener) = 0;
  virtual void RemoveListener(uint64_t id) = 0;
  // The ForEachMovementOf cursor that resumes right after `update`.
  virtual std::string MovementCursor(const inventory::v1::InventoryUpdate& update) const = 0;
};

// REQUIRES: `projector` outlives the returned source.
std::unique_ptr<ViewSource> ProjectorSource(projector::Projector* projector);

}  // namespace query_api

#endif  // QUERY_API_VIEW_SOURCE_H_
