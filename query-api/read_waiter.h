// Read-your-writes without blocking gRPC threads.
//
// A read carrying a consistency token the projector has not applied yet is
// parked here with its deadline. One waiter thread sleeps until the projector
// applies a batch (Notify, called from the projector listener) or the earliest
// deadline passes; it then completes every parked read whose positions are
// applied (with OK) or whose deadline passed (with DEADLINE_EXCEEDED saying
// how far behind the projector is). The completion runs on the waiter thread:
// it reads a snapshot and finishes the gRPC call, which never blocks.
//
// Bounds: at most `pending_max` parked reads (RESOURCE_EXHAUSTED past it);
// the waiter re-checks at least every `recheck_ms` even without a Notify.
//
// Thread-safety: Wait and Notify may be called from any thread.
#ifndef QUERY_API_READ_WAITER_H_
#define QUERY_API_READ_WAITER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "query-api/view_source.h"

namespace query_api {

// A consistency token's position: a record the read must reflect.
using Position = base::LogPosition;

// True when `applied` covers every position.
bool Covered(const base::NextOffsets& applied, const std::vector<Position>& positions);

class ReadWaiter {
 public:
  using Done = std::function<void(const absl::Status&)>;

  // REQUIRES: source outlives the waiter.
  ReadWaiter(const ViewSource* source, size_t pending_max, std::chrono::milliseconds recheck_ms);
  // Completes every parked read with UNAVAILABLE and joins the thread.
  ~ReadWaiter();

  // Parks a read; `done` runs exactly once on the waiter thread. Returns
  // RESOURCE_EXHAUSTED (and never calls `done`) when pending_max are parked.
  absl::Status Wait(std::vector<Position> positions, std::chrono::steady_clock::time_point deadline, Done done);

  // The projector applied a batch.
  void Notify();

  // Completes every parked read with UNAVAILABLE now and refuses new ones
  // (before a server shutdown, which waits for every call to finish).
  void Drain();

  size_t pending() const;

 private:
  struct Parked {
    std::vector<Position> positions;
    std::chrono::steady_clock::time_point deadline;
    Done done;
  };
  void Run();

  const ViewSource* const source_;
  const size_t pending_max_;
  const std::chrono::milliseconds recheck_ms_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::list<Parked> parked_;
  bool notified_ = false;
  bool stop_ = false;
  bool draining_ = false;
  std::thread thread_;
};

// DEADLINE_EXCEEDED naming the first unapplied position and the lag.
absl::Status BehindError(const base::NextOffsets& applied, const std::vector<Position>& positions,
                         SourceLag lag);

}  // namespace query_api

#endif  // QUERY_API_READ_WAITER_H_
