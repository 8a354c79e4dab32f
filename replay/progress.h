// A one-line progress bar on a terminal: records done of total, rate and
// ETA, redrawn at most every redraw_ms. Disabled (every call a no-op) when
// not asked for, e.g. when stderr is not a terminal (isatty), so logs and
// pipes stay clean.
//
// Thread-safety: one thread at a time.
#ifndef REPLAY_PROGRESS_H_
#define REPLAY_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace replay {

enum class ProgressMode : uint8_t { kOff, kOn };

// True when `stream` is a terminal.
bool IsTerminal(std::FILE* stream);

class ProgressBar {
 public:
  // `out` is not owned. Redraws at most every redraw_ms (default 200).
  ProgressBar(std::FILE* out, ProgressMode mode, std::string label, int redraw_ms = 200);
  ~ProgressBar();

  void Update(uint64_t done, uint64_t total);
  // Draws the final line and ends it; idempotent.
  void Finish();

  // "[#####     ] 50% 5000000/10000000  1.20M/s  ETA 4s", for tests.
  static std::string Render(const std::string& label, uint64_t done, uint64_t total, double seconds, int width);

 private:
  enum class Redraw {
    kThrottled,  // only if redraw_ms passed since the last draw
    kNow,
  };
  void Draw(Redraw when);

  std::FILE* out_;
  bool enabled_;
  std::string label_;
  std::chrono::milliseconds redraw_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace replay

#endif  // REPLAY_PROGRESS_H_
