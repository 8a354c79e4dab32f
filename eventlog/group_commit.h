// Group commit: concurrent appenders share one durable write.
//
// Each caller of Submit queues its batch and waits. The caller at the front
// of the queue becomes the leader: it takes the queued batches (up to
// group_records_max records, always at least one batch), runs `commit` once
// for all of them outside the lock, hands every follower its own result and
// wakes the next leader. Throughput is then batch size over sync latency,
// not one sync per caller.
//
// Bounds: the queue holds at most one batch per blocked caller thread, and a
// group holds at most group_records_max records (or one larger batch).
//
// Thread-safety: Submit may be called from any number of threads. Commits
// never overlap: at most one leader runs `commit` at a time, in queue order.
#ifndef EVENTLOG_GROUP_COMMIT_H_
#define EVENTLOG_GROUP_COMMIT_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/event_log.h"

namespace eventlog {

class GroupCommit {
 public:
  using Batches = std::span<const std::span<const LogRecord>>;
  // Makes all batches durable at once; returns positions per batch (same
  // order), or one error that fails every batch of the group.
  using CommitFn = std::function<absl::StatusOr<std::vector<std::vector<LogPosition>>>(Batches)>;

  GroupCommit(size_t group_records_max, CommitFn commit)
      : group_records_max_(group_records_max), commit_(std::move(commit)) {}

  absl::StatusOr<std::vector<LogPosition>> Submit(std::span<const LogRecord> records);

  // Batches queued, including the one being committed. For tests.
  size_t queued() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  struct Writer {
    std::span<const LogRecord> records;
    std::optional<absl::StatusOr<std::vector<LogPosition>>> result;
    std::condition_variable cv;
  };

  const size_t group_records_max_;
  const CommitFn commit_;
  mutable std::mutex mu_;
  std::deque<Writer*> queue_;  // guarded by mu_; front is the leader
};

}  // namespace eventlog

#endif  // EVENTLOG_GROUP_COMMIT_H_
