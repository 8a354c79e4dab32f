#include "tools/ctl_views.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "base/status.h"

namespace ctl {
namespace {

class Views final : public ViewsHandle {
 public:
  Views(std::string scratch, std::unique_ptr<projector::ReadModels> models)
      : scratch_(std::move(scratch)), models_(std::move(models)), snapshot_(models_->NewSnapshot()) {}
  ~Views() override {
    snapshot_.reset();
    models_.reset();
    std::error_code ec;
    std::filesystem::remove_all(scratch_, ec);
  }
  const projector::Snapshot& snapshot() const override { return *snapshot_; }

 private:
  std::string scratch_;
  std::unique_ptr<projector::ReadModels> models_;
  std::unique_ptr<projector::Snapshot> snapshot_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ViewsHandle>> OpenViews(const std::string& path, uint32_t partition_count) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec)) {
    return absl::NotFoundError("no read models at " + path +
                               " (has the projector run? --no-views checks the log's invariants only)");
  }
  std::string scratch = (std::filesystem::temp_directory_path(ec) / "inventoryctl-views-XXXXXX").string();
  if (ec || ::mkdtemp(scratch.data()) == nullptr) {
    return absl::UnavailableError("cannot create a scratch directory for the read models");
  }
  projector::ReadModelsOptions options;
  options.path = path;
  options.partition_count = partition_count;
  options.secondary_path = scratch;
  absl::StatusOr<std::unique_ptr<projector::ReadModels>> models =
      projector::ReadModels::Open(options, projector::OpenMode::kSecondary);
  absl::Status status = models.status();
  if (status.ok()) status = (*models)->Refresh();
  if (status.ok() && (*models)->needs_rebuild()) {
    status = absl::FailedPreconditionError("the read models at " + path +
                                           " were written by another view schema version; the projector rebuilds "
                                           "them on its next start");
  }
  if (!status.ok()) {
    std::filesystem::remove_all(scratch, ec);
    return status;
  }
  return std::unique_ptr<ViewsHandle>(new Views(std::move(scratch), std::move(*models)));
}

}  // namespace ctl
