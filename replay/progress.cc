#include "replay/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace replay {
namespace {

std::string Rate(double per_second) {
  if (per_second >= 1e6) return absl::StrFormat("%.2fM/s", per_second / 1e6);
  if (per_second >= 1e3) return absl::StrFormat("%.1fk/s", per_second / 1e3);
  return absl::StrFormat("%.0f/s", per_second);
}

std::string Duration(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

}  // namespace

bool IsTerminal(std::FILE* stream) { return ::isatty(::fileno(stream)) == 1; }

ProgressBar::ProgressBar(std::FILE* out, ProgressMode mode, std::string label, int redraw_ms)
    : out_(out),
      enabled_(mode == ProgressMode::kOn),
      label_(std::move(label)),
      redraw_(redraw_ms),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t total) {
  done_ = done;
  total_ = total;
  Draw(Redraw::kThrottled);
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_ || !drawn_) return;
  Draw(Redraw::kNow);
  std::fputc('\n', out_);
  std::fflush(out_);
}

std::string ProgressBar::Render(const std::string& label, uint64_t done, uint64_t total, double seconds, int width) {
  const double fraction = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(static_cast<size_t>(width), ' ');
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string eta = "?";
  if (rate > 0 && total >= done) eta = Duration(static_cast<double>(total - done) / rate);
  return absl::StrFormat("%s [%s] %3.0f%% %d/%d  %s  ETA %s", label, bar, fraction * 100, done, total, Rate(rate), eta);
}

void ProgressBar::Draw(Redraw when) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (when == Redraw::kThrottled && drawn_ && now - last_draw_ < redraw_) return;
  last_draw_ = now;
  drawn_ = true;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const std::string line = Render(label_, done_, total_, seconds, 30);
  std::fprintf(out_, "\r%s\x1b[K", line.c_str());
  std::fflush(out_);
}

}  // namespace replay
