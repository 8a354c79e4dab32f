// An EventLog for tests that forwards to an inner log and injects faults into
// Append:
//  * FailEveryNth(n): every n-th Append from now on fails with UNAVAILABLE
//    and appends nothing (n = 1: every one; 0: none).
//  * FailNext(k): the next k Appends fail with UNAVAILABLE, appending nothing.
//  * FailAfterDurableNext(k): the next k Appends reach the inner log (the
//    records are durable) and then report UNAVAILABLE, as a broker whose
//    acknowledgement was lost.
//  * DropPositionNext(k): the next k Appends reach the inner log and return
//    one position fewer than records, as a backend breaking its contract.
//  * Block() / Release(): Appends wait on a latch until released;
//    WaitForBlocked(n) waits until n Appends are waiting.
//  * FenceFromNow(): every Append from now on fails with FAILED_PRECONDITION
//    "fenced by another writer" and appends nothing, as KafkaLog once a
//    newer writer took its transactional id (event_log.h: refused for
//    good). It wins over the other faults and cannot be undone.
// Read, EndOffsets, Tail and Close go straight to the inner log.
//
// Header-only; included by the command-api tests.
//
// Thread-safety: as EventLog; the fault controls may be called from any thread.
#ifndef EVENTLOG_TESTING_FAULT_LOG_H_
#define EVENTLOG_TESTING_FAULT_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/event_log.h"

namespace eventlog {

class FaultLog final : public eventlog::EventLog {
 public:
  // REQUIRES: inner outlives this log.
  explicit FaultLog(eventlog::EventLog* inner) : inner_(inner) {}

  void FailEveryNth(std::uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_every_ = n;
    since_fail_every_ = 0;
  }
  void FailNext(int count = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = count;
  }
  void FailAfterDurableNext(int count = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_after_durable_next_ = count;
  }

  void FenceFromNow() {
    std::lock_guard<std::mutex> lock(mu_);
    fenced_ = true;
  }

  void DropPositionNext(int count = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    drop_position_next_ = count;
  }

  void Block() {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      blocked_ = false;
    }
    cv_.notify_all();
  }
  // True once at least `n` Appends are waiting on the latch; false on timeout.
  bool WaitForBlocked(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_ >= n; });
  }

  // Append calls so far (every call, failed or not).
  std::uint64_t append_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return append_calls_;
  }
  // Appends that reached the inner log.
  std::uint64_t inner_appends() const {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_appends_;
  }
  // Appends reported as failed.
  std::uint64_t failed_appends() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_appends_;
  }

  std::uint32_t partition_count() const override { return inner_->partition_count(); }

  absl::StatusOr<std::vector<eventlog::LogPosition>> Append(std::span<const eventlog::LogRecord> records) override {
    enum class Fault { kNone, kBefore, kAfterDurable, kDropPosition, kFenced };
    Fault fault = Fault::kNone;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++append_calls_;
      if (blocked_) {
        ++waiting_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return !blocked_; });
        --waiting_;
      }
      if (fenced_) {
        fault = Fault::kFenced;
      } else if (fail_next_ > 0) {
        --fail_next_;
        fault = Fault::kBefore;
      } else if (fail_after_durable_next_ > 0) {
        --fail_after_durable_next_;
        fault = Fault::kAfterDurable;
      } else if (drop_position_next_ > 0) {
        --drop_position_next_;
        fault = Fault::kDropPosition;
      } else if (fail_every_ > 0 && ++since_fail_every_ % fail_every_ == 0) {
        fault = Fault::kBefore;
      }
      if (fault == Fault::kBefore || fault == Fault::kAfterDurable || fault == Fault::kFenced) ++failed_appends_;
      if (fault != Fault::kBefore && fault != Fault::kFenced) ++inner_appends_;
    }
    if (fault == Fault::kBefore) return absl::UnavailableError("fault_log: injected append failure");
    if (fault == Fault::kFenced) {
      return absl::FailedPreconditionError("fault_log: injected: fenced by another writer (for good)");
    }
    absl::StatusOr<std::vector<eventlog::LogPosition>> positions = inner_->Append(records);
    if (fault == Fault::kAfterDurable && positions.ok()) {
      return absl::UnavailableError("fault_log: injected failure after the append was durable");
    }
    if (fault == Fault::kDropPosition && positions.ok() && !positions->empty()) positions->pop_back();
    return positions;
  }

  absl::StatusOr<std::vector<eventlog::StoredRecord>> Read(std::uint32_t partition, std::uint64_t from_offset,
                                                         std::size_t max_records) override {
    return inner_->Read(partition, from_offset, max_records);
  }
  absl::StatusOr<base::NextOffsets> EndOffsets() override { return inner_->EndOffsets(); }
  std::unique_ptr<eventlog::LogTail> Tail(base::NextOffsets start_offsets,
                                        eventlog::TailOptions options) override {
    return inner_->Tail(std::move(start_offsets), options);
  }
  absl::Status Close() override { return inner_->Close(); }

 private:
  eventlog::EventLog* const inner_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool blocked_ = false;
  bool fenced_ = false;
  std::size_t waiting_ = 0;
  int fail_next_ = 0;
  int fail_after_durable_next_ = 0;
  int drop_position_next_ = 0;
  std::uint64_t fail_every_ = 0;
  std::uint64_t since_fail_every_ = 0;
  std::uint64_t append_calls_ = 0;
  std::uint64_t inner_appends_ = 0;
  std::uint64_t failed_appends_ = 0;
};

}  // namespace eventlog

#endif  // EVENTLOG_TESTING_FAULT_LOG_H_
