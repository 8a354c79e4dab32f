#include "command-api/expiry.h"

#include <algorithm>
#include <boost/asio/post.hpp>

namespace command_api {

ExpiryScheduler::ExpiryScheduler(Writer* writer, base::Clock* clock, ExpiryOptions options)
    : writer_(writer), clock_(clock), options_(options), timer_(io_), work_(io_.get_executor()) {}

ExpiryScheduler::~ExpiryScheduler() { Stop(); }

void ExpiryScheduler::Start() {
  if (started_) return;
  started_ = true;
  // A jump of a manual clock cancels the wait; the handler then re-arms.
  // The clock may outlive us: the listener reaches us only through `link_`.
  link_->self = this;
  clock_->OnJump([link = link_] {
    std::lock_guard<std::mutex> lock(link->mu);
    if (link->self == nullptr) return;
    ExpiryScheduler* self = link->self;
    boost::asio::post(self->io_, [self] { self->timer_.cancel(); });
  });
  boost::asio::post(io_, [this] { Arm(); });
  thread_ = std::thread([this] { io_.run(); });
}

void ExpiryScheduler::Stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard<std::mutex> lock(link_->mu);
    link_->self = nullptr;
  }
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

// Exactly one wait is pending at any time: every handler ends by arming the next.
void ExpiryScheduler::Arm() {
  std::int64_t now = clock_->NowMs();
  std::optional<std::int64_t> next = writer_->NextExpiryMs();
  if (next && *next <= now) writer_->ExpireDue();
  std::int64_t delay = options_.poll_interval_ms;
  if (next && *next > now) delay = std::min(delay, *next - now);
  timer_.expires_after(std::chrono::milliseconds(delay));
  timer_.async_wait([this](const boost::system::error_code&) { Arm(); });
}

}  // namespace command_api
