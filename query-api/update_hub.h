// The fan-out hub behind StreamInventoryUpdates.
//
// One projector listener for every subscriber (the projector allows few
// listeners): the listener only appends the shared, immutable batch to the
// hub's bounded queue and wakes the hub thread, so no subscriber can slow the
// projector. The hub thread hands each batch to every subscriber, which
// filters it into its own bounded queue and starts a write if idle.
//
// Bounds: at most subscribers_max subscribers (Add returns RESOURCE_EXHAUSTED
// past it); at most batches_max batches queued for the hub thread. If the hub
// thread itself falls that far behind, every subscriber is cut with
// RESOURCE_EXHAUSTED (each can resume from its last position) rather than
// letting memory grow.
//
// Thread-safety: every public method may be called from any thread.
#ifndef QUERY_API_UPDATE_HUB_H_
#define QUERY_API_UPDATE_HUB_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "query-api/view_source.h"

namespace query_api {

class HubSubscriber {
 public:
  virtual ~HubSubscriber() = default;
  // Called on the hub thread for each applied batch, in apply order. Must not
  // block.
  virtual void Offer(const std::shared_ptr<const AppliedUpdates>& batch) = 0;
  // The hub dropped batches; end the subscription with `status`.
  virtual void Cut(const absl::Status& status) = 0;
};

struct HubOptions {
  // Most subscribers. Default 4096.
  size_t subscribers_max = 4096;
  // Most applied batches queued between the projector and the hub thread.
  // Default 4096.
  size_t batches_max = 4096;
};

class UpdateHub {
 public:
  // Registers the hub's single listener with `source`; `on_batch` (may be
  // empty) also runs on the projector's thread after each batch and must be
  // quick (the read waiter's Notify). REQUIRES: source outlives the hub.
  static absl::StatusOr<std::unique_ptr<UpdateHub>> Start(ViewSource* source, HubOptions options,
                                                         std::function<void()> on_batch);
  // Removes the listener and joins the hub thread.
  ~UpdateHub();

  // RESOURCE_EXHAUSTED past subscribers_max.
  absl::Status Add(std::shared_ptr<HubSubscriber> subscriber);
  void Remove(const HubSubscriber* subscriber);
  // Ends every subscription with `status` and refuses new ones (shutdown).
  void CutAll(const absl::Status& status);
  size_t subscribers() const;

 private:
  UpdateHub(ViewSource* source, HubOptions options, std::function<void()> on_batch);
  void OnBatch(const AppliedUpdates& batch);
  void Run();

  using List = std::vector<std::shared_ptr<HubSubscriber>>;

  ViewSource* const source_;
  const HubOptions options_;
  const std::function<void()> on_batch_;
  uint64_t listener_id_ = 0;

  mutable std::mutex subs_mu_;
  std::shared_ptr<const List> subs_;
  bool closed_ = false;  // CutAll was called  // copy-on-write: the hub thread iterates without the lock

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const AppliedUpdates>> batches_;
  bool dropped_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace query_api

#endif  // QUERY_API_UPDATE_HUB_H_
