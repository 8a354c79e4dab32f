// Time as a seam. Production code asks a Clock; tests use a ManualClock and
// move time by hand, so no test sleeps for a TTL.
//
// Thread-safety: NowMs may be called from any thread. ManualClock::Advance
// and Set may be called from any thread; listeners run on the caller's thread
// and must not block.
#ifndef BASE_CLOCK_H_
#define BASE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace base {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix epoch milliseconds.
  virtual std::int64_t NowMs() const = 0;
  // Registers a callback run whenever time jumps (ManualClock only; the system
  // clock never calls it). Used by timers to re-evaluate their deadlines.
  virtual void OnJump(std::function<void()> listener) { (void)listener; }
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ms) : now_ms_(start_ms) {}

  std::int64_t NowMs() const override { return now_ms_.load(std::memory_order_acquire); }

  void Advance(std::int64_t delta_ms) { Set(NowMs() + delta_ms); }

  void Set(std::int64_t now_ms) {
    now_ms_.store(now_ms, std::memory_order_release);
    std::vector<std::function<void()>> listeners;
    {
      std::lock_guard<std::mutex> lock(mu_);
      listeners = listeners_;
    }
    for (auto& listener : listeners) listener();
  }

  void OnJump(std::function<void()> listener) override {
    std::lock_guard<std::mutex> lock(mu_);
    listeners_.push_back(std::move(listener));
  }

 private:
  std::atomic<std::int64_t> now_ms_;
  std::mutex mu_;
  std::vector<std::function<void()>> listeners_;
};

}  // namespace base

#endif  // BASE_CLOCK_H_
