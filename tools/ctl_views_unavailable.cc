// Built while the projector library is absent: audit runs with --no-views only.
#include "tools/ctl_views.h"

namespace ctl {

absl::StatusOr<std::unique_ptr<ViewsHandle>> OpenViews(const std::string&, uint32_t) {
  return absl::UnimplementedError("this build has no projector; use --no-views");
}

}  // namespace ctl
