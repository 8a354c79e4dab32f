// A fixed set of threads running queued tasks, for work that must not run on
// gRPC or projector threads (catch-up reads of StreamInventoryUpdates).
//
// Bounds: `threads` threads, at most `queue_max` queued tasks (Submit returns
// false past it). Tasks still queued at destruction are run before it
// returns, so a task never silently vanishes.
//
// Thread-safety: Submit may be called from any thread, including a task.
#ifndef QUERY_API_WORKER_POOL_H_
#define QUERY_API_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace query_api {

class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t queue_max) : queue_max_(queue_max) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  bool Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (tasks_.size() >= queue_max_) return false;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stop_ and drained
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  const size_t queue_max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace query_api

#endif  // QUERY_API_WORKER_POOL_H_
