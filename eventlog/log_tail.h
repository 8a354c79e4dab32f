// The tail shared by every backend: a LogTail that reads through
// EventLog::Read and sleeps on an AppendSignal between reads.
//
// Why pull, not push: the tail reads only when its owner asks, at most
// buffer_records_max records at a time, so a slow consumer bounds its own
// memory and never slows the writer.
//
// Thread-safety: AppendSignal is thread-safe. A PollingTail is used by one
// thread at a time; it calls the log, which is thread-safe.
#ifndef EVENTLOG_LOG_TAIL_H_
#define EVENTLOG_LOG_TAIL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "eventlog/event_log.h"

namespace eventlog {

// A generation counter that appenders bump and tails wait on.
class AppendSignal {
 public:
  void Notify();
  uint64_t generation() const;
  // Returns when the generation differs from `seen` or at `deadline`.
  void WaitChange(uint64_t seen, std::chrono::steady_clock::time_point deadline) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  uint64_t generation_ = 0;
};

class PollingTail final : public LogTail {
 public:
  // REQUIRES: log and signal outlive the tail;
  // start_offsets.size() == log->partition_count().
  PollingTail(EventLog* log, const AppendSignal* signal, NextOffsets start_offsets, TailOptions options);

  absl::StatusOr<std::vector<StoredRecord>> Next(std::chrono::milliseconds timeout) override;
  NextOffsets next_offsets() const override { return next_offsets_; }

 private:
  // Reads what is available now, up to buffer_records_max, starting at a
  // rotating partition so no partition starves the others.
  absl::StatusOr<std::vector<StoredRecord>> ReadAvailable();

  EventLog* const log_;
  const AppendSignal* const signal_;
  NextOffsets next_offsets_;
  const TailOptions options_;
  uint32_t first_partition_ = 0;
};

}  // namespace eventlog

#endif  // EVENTLOG_LOG_TAIL_H_
