// Issues reservation expiry through the writer, on time.
//
// A Boost.Asio steady timer sleeps until the writer's earliest active expiry
// (by the injected Clock), but never longer than poll_interval_ms, because a
// reservation with an earlier expiry may arrive meanwhile; when the time has
// come it calls Writer::ExpireDue(), which queues ExpireReservation commands
// into the same pipeline as every other command. Expiry is thus an event in
// the log, and replay needs no clock. A ManualClock's jumps wake the timer at
// once, so tests move time instead of sleeping for a TTL.
//
// Thread-safety: Start and Stop from one thread; the rest runs on the
// scheduler's own thread.
#ifndef COMMAND_API_EXPIRY_H_
#define COMMAND_API_EXPIRY_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "command-api/writer.h"

namespace command_api {

struct ExpiryOptions {
  // Longest sleep between looks at the next expiry, ms; bounds how late an
  // expiry can be. Default 250 ms.
  std::int64_t poll_interval_ms = 250;
};

class ExpiryScheduler {
 public:
  // REQUIRES: writer and clock outlive the scheduler.
  ExpiryScheduler(Writer* writer, base::Clock* clock, ExpiryOptions options = {});
  ~ExpiryScheduler();
  ExpiryScheduler(const ExpiryScheduler&) = delete;
  ExpiryScheduler& operator=(const ExpiryScheduler&) = delete;

  void Start();
  void Stop();  // idempotent

 private:
  void Arm();

  Writer* const writer_;
  base::Clock* const clock_;
  const ExpiryOptions options_;
  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  bool started_ = false;
  struct Link {
    std::mutex mu;
    ExpiryScheduler* self = nullptr;
  };
  std::shared_ptr<Link> link_ = std::make_shared<Link>();
};

}  // namespace command_api

#endif  // COMMAND_API_EXPIRY_H_
