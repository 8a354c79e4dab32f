// ViewSource over the real projector.
#include "projector/projector.h"
#include "query-api/view_source.h"

namespace query_api {
namespace {

class ProjectorViewSource final : public ViewSource {
 public:
  explicit ProjectorViewSource(projector::Projector* p) : p_(p) {}

  std::unique_ptr<projector::Snapshot> NewSnapshot() const override { return p_->NewSnapshot(); }
  std::unique_ptr<projector::Snapshot> NewLevelsSnapshot() const override { return p_->NewLevelsSnapshot(); }
  base::NextOffsets applied() const override { return p_->applied(); }
  uint32_t partition_count() const override { return p_->read_models().partition_count(); }
  SourceLag lag() const override {
    projector::Lag l = p_->lag();
    return {.events = l.events, .ms = l.ms};
  }
  absl::Status health() const override { return p_->health(); }
  absl::StatusOr<uint64_t> AddListener(Listener listener) override {
    // The batch is passed through as the projector lends it; the hub copies
    // it only when someone subscribes.
    return p_->AddListener(std::move(listener));
  }
  void RemoveListener(uint64_t id) override { p_->RemoveListener(id); }
  std::string MovementCursor(const inventory::v1::InventoryUpdate& update) const override {
    return projector::MovementCursor(update);
  }

 private:
  projector::Projector* const p_;
};

}  // namespace

std::unique_ptr<ViewSource> ProjectorSource(projector::Projector* projector) {
  return std::make_unique<ProjectorViewSource>(projector);
}

}  // namespace query_api
