// inventoryctl's read-only handle on the projector's read models: a RocksDB
// secondary instance (projector::OpenMode::kSecondary) with a scratch
// directory of its own, caught up with the live projector, and one snapshot.
//
// Thread-safety: one thread.
#ifndef TOOLS_CTL_VIEWS_H_
#define TOOLS_CTL_VIEWS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "projector/read_models.h"

namespace ctl {

class ViewsHandle {
 public:
  virtual ~ViewsHandle() = default;
  // A snapshot taken when the handle was opened.
  virtual const projector::Snapshot& snapshot() const = 0;
};

// NOT_FOUND when there are no read models at `path`; FAILED_PRECONDITION
// when they follow another partition count or need a rebuild.
absl::StatusOr<std::unique_ptr<ViewsHandle>> OpenViews(const std::string& path, uint32_t partition_count);

}  // namespace ctl

#endif  // TOOLS_CTL_VIEWS_H_
