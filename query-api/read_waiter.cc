#include "query-api/read_waiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace query_api {

bool Covered(const base::NextOffsets& applied, const std::vector<Position>& positions) {
  for (const Position& p : positions) {
    if (!applied.Covers(p)) return false;
  }
  return true;
}

absl::Status BehindError(const base::NextOffsets& applied, const std::vector<Position>& positions,
                         SourceLag lag) {
  const Position* first = nullptr;
  for (const Position& p : positions) {
    if (!applied.Covers(p)) {
      first = &p;
      break;
    }
  }
  if (first == nullptr) return absl::DeadlineExceededError("deadline passed");
  const uint64_t behind = applied.EventsBehind(base::NextOffsets::Covering(applied.size(), positions));
  const uint64_t have = first->partition < applied.size() ? applied[first->partition] : 0;
  return absl::DeadlineExceededError(absl::StrCat(
      "read models are behind the consistency token: partition ", first->partition, " offset ", first->offset,
      " not applied yet (applied up to offset ", have, "); ", behind, " events behind the token, projector lag ",
      lag.events, " events / ", lag.ms, " ms"));
}

ReadWaiter::ReadWaiter(const ViewSource* source, size_t pending_max, std::chrono::milliseconds recheck_ms)
    : source_(source), pending_max_(pending_max), recheck_ms_(recheck_ms), thread_([this] { Run(); }) {}

ReadWaiter::~ReadWaiter() {
  std::list<Parked> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  left.swap(parked_);
  for (Parked& p : left) p.done(absl::UnavailableError("query service is shutting down"));
}

absl::Status ReadWaiter::Wait(std::vector<Position> positions, std::chrono::steady_clock::time_point deadline,
                              Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || draining_) return absl::UnavailableError("query service is shutting down");
    if (parked_.size() >= pending_max_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("too many reads waiting for a consistency token (", pending_max_, "); retry later"));
    }
    parked_.push_back({std::move(positions), deadline, std::move(done)});
    notified_ = true;  // check it against the latest offsets right away
  }
  cv_.notify_one();
  return absl::OkStatus();
}

void ReadWaiter::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
  }
  cv_.notify_one();
}

void ReadWaiter::Drain() {
  std::list<Parked> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
    left.swap(parked_);
  }
  for (Parked& p : left) p.done(absl::UnavailableError("query service is shutting down"));
}

size_t ReadWaiter::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return parked_.size();
}

void ReadWaiter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    auto wake = std::chrono::steady_clock::now() + recheck_ms_;
    for (const Parked& p : parked_) wake = std::min(wake, p.deadline);
    cv_.wait_until(lock, wake, [this] { return stop_ || notified_; });
    if (stop_) break;
    notified_ = false;
    if (parked_.empty()) continue;
    lock.unlock();
    base::NextOffsets applied = source_->applied();
    auto now = std::chrono::steady_clock::now();
    lock.lock();
    std::list<Parked> ready;
    std::list<Parked> expired;
    for (auto it = parked_.begin(); it != parked_.end();) {
      auto next = std::next(it);
      if (Covered(applied, it->positions)) {
        ready.splice(ready.end(), parked_, it);
      } else if (it->deadline <= now) {
        expired.splice(expired.end(), parked_, it);
      }
      it = next;
    }
    if (ready.empty() && expired.empty()) continue;
    lock.unlock();
    for (Parked& p : ready) p.done(absl::OkStatus());
    if (!expired.empty()) {
      SourceLag lag = source_->lag();
      for (Parked& p : expired) p.done(BehindError(applied, p.positions, lag));
    }
    lock.lock();
  }
}

}  // namespace query_api
