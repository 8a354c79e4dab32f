#include "command-api/command_role.h"

#include <chrono>
#include <utility>

#include "base/status.h"
#include "spdlog/spdlog.h"

namespace command_api {

CommandRole::CommandRole(CommandRoleOptions options)
    : options_(std::move(options)), snapshots_(options_.snapshot_dir, options_.snapshots) {}

absl::StatusOr<std::unique_ptr<CommandRole>> CommandRole::Start(eventlog::EventLog* log, base::Clock* clock,
                                                                CommandRoleOptions options) {
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<CommandRole> role(new CommandRole(std::move(options)));
  ASSIGN_OR_RETURN(role->writer_, Writer::Open(log, &role->snapshots_, clock, role->options_.writer));
  const WriterStats stats = role->writer_->stats();
  const auto ready_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("state rebuilt in {} ms: snapshot {}, {} events replayed", ready_ms,
               stats.loaded_snapshot ? "loaded" : "none", stats.replayed_events);
  role->expiry_ = std::make_unique<ExpiryScheduler>(role->writer_.get(), clock, role->options_.expiry);
  role->expiry_->Start();
  role->service_ = std::make_unique<CommandServiceImpl>(role->writer_.get(), role->options_.service);
  return role;
}

void CommandRole::Stop() {
  if (expiry_ != nullptr) expiry_->Stop();
  if (writer_ != nullptr) writer_->Stop();
}

}  // namespace command_api
