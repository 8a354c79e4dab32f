#include "tools/standby_flags.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fcntl.h>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "command-api/standby.h"
#include "spdlog/spdlog.h"

namespace tools {
namespace {

// True when a TCP connection to host:port completes within `timeout_ms`.
bool Reachable(const std::string& address, int timeout_ms) {
  std::string host = address.substr(0, address.rfind(':'));
  std::string port = address.substr(address.rfind(':') + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return false;
  bool up = false;
  for (addrinfo* a = found; a != nullptr && !up; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      up = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof error;
      up = ::poll(&p, 1, timeout_ms) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return up;
}

}  // namespace

void AddStandbyFlags(CLI::App* serve, StandbyFlags& f) {
  serve->add_option("--standby-of", f.primary,
                    "Warm standby of the writer at host:port (command role, kafka backend): follow the log into "
                    "snapshots, and take over as the writer once that port refuses connections (docs/deploy.md)")
      ->envname("INVENTORY_STANDBY_OF");
  serve->add_option("--standby-takeover-after-ms", f.takeover_after_ms,
                    "Take over once the writer has been unreachable this long, ms")
      ->envname("INVENTORY_STANDBY_TAKEOVER_AFTER_MS")->check(CLI::Range(100LL, 600'000LL))->capture_default_str();
  serve->add_option("--standby-poll-ms", f.poll_ms, "How often the standby folds the log and looks at the writer, ms")
      ->envname("INVENTORY_STANDBY_POLL_MS")->check(CLI::Range(10LL, 60'000LL))->capture_default_str();
}

absl::StatusOr<StandbyEnd> FollowUntilTakeover(const StandbyFlags& f, bool command_role, eventlog::LogConfig log,
                                               const command_api::CommandRoleOptions& command,
                                               const sigset_t& stop_signals) {
  if (f.primary.empty()) return StandbyEnd::kNotStandby;
  if (!command_role || log.backend != eventlog::LogBackend::kKafka) {
    return absl::InvalidArgumentError("--standby-of needs the command role on the kafka log backend");
  }
  log.access = eventlog::LogAccess::kReadOnly;  // never fences the writer it stands by for
  ASSIGN_OR_RETURN(std::unique_ptr<eventlog::EventLog> reader, eventlog::OpenLog(log));
  command_api::SnapshotStore snapshots(command.snapshot_dir, command.snapshots);
  command_api::Standby standby(reader.get(), &snapshots,
                               {.snapshot_every_events = std::max<std::uint64_t>(command.writer.snapshot_every_events, 1),
                                .ledger = command.writer.ledger});
  RETURN_IF_ERROR(standby.Start());
  spdlog::info("standby: following the log for the writer at {}; taking over after {} ms unreachable", f.primary,
               f.takeover_after_ms);
  using Clock = std::chrono::steady_clock;
  bool down = false;
  Clock::time_point down_since = Clock::now();
  while (true) {
    RETURN_IF_ERROR(standby.CatchUp());
    Clock::time_point now = Clock::now();
    if (Reachable(f.primary, 1000)) {
      down = false;
    } else if (!down) {
      down = true;
      down_since = now;
      spdlog::warn("standby: the writer at {} is unreachable", f.primary);
    } else if (now - down_since >= std::chrono::milliseconds(f.takeover_after_ms)) {
      break;
    }
    timespec pause{static_cast<time_t>(f.poll_ms / 1000), static_cast<long>(f.poll_ms % 1000) * 1'000'000};
    if (sigtimedwait(&stop_signals, nullptr, &pause) > 0) {
      RETURN_IF_ERROR(standby.SaveSnapshot());
      return StandbyEnd::kStopped;
    }
  }
  RETURN_IF_ERROR(standby.CatchUp());
  RETURN_IF_ERROR(standby.SaveSnapshot());
  RETURN_IF_ERROR(reader->Close());
  spdlog::info("standby: the writer at {} unreachable for {} ms: taking over at {} events folded", f.primary,
               f.takeover_after_ms, standby.events_applied());
  return StandbyEnd::kTakeOver;
}

}  // namespace tools
