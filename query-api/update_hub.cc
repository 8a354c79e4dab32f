#include "query-api/update_hub.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace query_api {

absl::StatusOr<std::unique_ptr<UpdateHub>> UpdateHub::Start(ViewSource* source, HubOptions options,
                                                           std::function<void()> on_batch) {
  std::unique_ptr<UpdateHub> hub(new UpdateHub(source, options, std::move(on_batch)));
  UpdateHub* raw = hub.get();
  absl::StatusOr<uint64_t> id =
      source->AddListener([raw](const AppliedUpdates& batch) { raw->OnBatch(batch); });
  if (!id.ok()) return id.status();
  hub->listener_id_ = *id;
  hub->thread_ = std::thread([raw] { raw->Run(); });
  return hub;
}

UpdateHub::UpdateHub(ViewSource* source, HubOptions options, std::function<void()> on_batch)
    : source_(source), options_(options), on_batch_(std::move(on_batch)), subs_(std::make_shared<const List>()) {}

UpdateHub::~UpdateHub() {
  source_->RemoveListener(listener_id_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status UpdateHub::Add(std::shared_ptr<HubSubscriber> subscriber) {
  std::lock_guard<std::mutex> lock(subs_mu_);
  if (closed_) return absl::UnavailableError("query service is shutting down");
  if (subs_->size() >= options_.subscribers_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many stream subscribers (", options_.subscribers_max, "); retry later"));
  }
  auto next = std::make_shared<List>(*subs_);
  next->push_back(std::move(subscriber));
  subs_ = std::move(next);
  return absl::OkStatus();
}

void UpdateHub::Remove(const HubSubscriber* subscriber) {
  std::lock_guard<std::mutex> lock(subs_mu_);
  auto next = std::make_shared<List>();
  next->reserve(subs_->size());
  for (const auto& s : *subs_) {
    if (s.get() != subscriber) next->push_back(s);
  }
  subs_ = std::move(next);
}

void UpdateHub::CutAll(const absl::Status& status) {
  std::shared_ptr<const List> subs;
  {
    std::lock_guard<std::mutex> lock(subs_mu_);
    closed_ = true;
    subs = subs_;
  }
  for (const auto& s : *subs) s->Cut(status);
}

size_t UpdateHub::subscribers() const {
  std::lock_guard<std::mutex> lock(subs_mu_);
  return subs_->size();
}

void UpdateHub::OnBatch(const AppliedUpdates& batch) {
  bool anyone = false;
  {
    std::lock_guard<std::mutex> lock(subs_mu_);
    anyone = !subs_->empty();
  }
  // Copy (once, shared by every subscriber) only when someone listens, so a
  // rebuild with no streams costs the projector nothing. A subscriber that
  // joins after this check takes its catch-up snapshot after this batch was
  // applied, so it loses nothing.
  if (anyone && !batch.updates.empty()) {
    auto shared = std::make_shared<const AppliedUpdates>(batch);
    std::lock_guard<std::mutex> lock(mu_);
    if (batches_.size() >= options_.batches_max) {
      dropped_ = true;
    } else {
      batches_.push_back(std::move(shared));
    }
  }
  cv_.notify_one();
  if (on_batch_) on_batch_();
}

void UpdateHub::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || dropped_ || !batches_.empty(); });
    if (stop_) return;
    bool dropped = dropped_;
    dropped_ = false;
    std::deque<std::shared_ptr<const AppliedUpdates>> batches;
    batches.swap(batches_);
    lock.unlock();
    std::shared_ptr<const List> subs;
    {
      std::lock_guard<std::mutex> subs_lock(subs_mu_);
      subs = subs_;
    }
    if (dropped) {
      // Batches were lost between the projector and this thread: nobody can
      // be served without a gap, so everyone resumes from their position.
      absl::Status cut = absl::ResourceExhaustedError(
          "the stream hub fell behind the projector; resume with start_after set to the last position received");
      for (const auto& s : *subs) s->Cut(cut);
    } else {
      for (const auto& batch : batches) {
        for (const auto& s : *subs) s->Offer(batch);
      }
    }
    lock.lock();
  }
}

}  // namespace query_api
