// inventoryd's warm standby writer (`--standby-of HOST:PORT`, docs/deploy.md
// "Warm standby"): before the command role starts, follow the Kafka log as a
// reader, folding it into snapshots (command-api/standby.h), for as long as
// the active writer's gRPC port accepts connections; once it has refused
// them for --standby-takeover-after-ms, return, and inventoryd starts the
// command role as usual: the log opened read-write (on Kafka the shared
// transactional id fences the old writer), the standby's snapshot loaded,
// only the tail replayed.
//
// "Down" is a TCP connection refused or timed out (1 s), not a gRPC health
// check: that needs no client credentials whatever TLS the writer uses, but
// a writer that accepts connections and hangs is not taken over from.
//
// Thread-safety: FollowUntilTakeover runs on the main thread.
#ifndef TOOLS_STANDBY_FLAGS_H_
#define TOOLS_STANDBY_FLAGS_H_

#include <signal.h>

#include <cstdint>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "command-api/command_role.h"
#include "eventlog/open_log.h"

namespace tools {

struct StandbyFlags {
  std::string primary;                   // host:port of the active writer; empty: no standby
  std::int64_t takeover_after_ms = 5000;  // unreachable this long: take over
  std::int64_t poll_ms = 500;             // how often to fold the log and look at the writer
};

void AddStandbyFlags(CLI::App* serve, StandbyFlags& f);

enum class StandbyEnd : std::uint8_t { kNotStandby, kTakeOver, kStopped };

// Follows until the writer has been unreachable for takeover_after_ms
// (kTakeOver) or a signal of `stop_signals` arrives (kStopped); kNotStandby
// at once without --standby-of. INVALID_ARGUMENT unless the command role runs
// on the Kafka backend; the fold's and the log's errors otherwise.
absl::StatusOr<StandbyEnd> FollowUntilTakeover(const StandbyFlags& f, bool command_role, eventlog::LogConfig log,
                                               const command_api::CommandRoleOptions& command,
                                               const sigset_t& stop_signals);

}  // namespace tools

#endif  // TOOLS_STANDBY_FLAGS_H_
