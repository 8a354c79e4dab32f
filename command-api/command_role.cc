#include "command-api/command_role.h"

#include <chrono>
#include <utility>

#include "base/check.h"
#include "base/status.h"
#include "proto/command_service.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace command_api {
namespace {

// A fenced writer serves no command, and a process whose writer is fenced
// is of no use as a whole: probes naming either service see NOT_SERVING.
void MarkFenced(grpc::HealthCheckServiceInterface* health) {
  health->SetServingStatus(pb::CommandService::service_full_name(), false);
  health->SetServingStatus("", false);
}

}  // namespace

CommandRole::CommandRole(CommandRoleOptions options)
    : options_(std::move(options)), snapshots_(options_.snapshot_dir, options_.snapshots) {}

absl::StatusOr<std::unique_ptr<CommandRole>> CommandRole::Start(eventlog::EventLog* log, base::Clock* clock,
                                                                CommandRoleOptions options) {
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<CommandRole> role(new CommandRole(std::move(options)));
  WriterOptions writer_options = role->options_.writer;
  writer_options.on_fenced = [r = role.get()](const absl::Status&) { r->OnFenced(); };
  ASSIGN_OR_RETURN(role->writer_, Writer::Open(log, &role->snapshots_, clock, writer_options));
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

void CommandRole::OnFenced() {
  std::lock_guard<std::mutex> lock(health_mu_);
  fenced_ = true;
  if (health_ != nullptr) MarkFenced(health_);
}

void CommandRole::ReportHealthTo(grpc::HealthCheckServiceInterface* health) {
  INV_CHECK(health != nullptr);
  std::lock_guard<std::mutex> lock(health_mu_);
  health_ = health;
  if (fenced_) MarkFenced(health_);
}

void CommandRole::Stop() {
  if (expiry_ != nullptr) expiry_->Stop();
  if (writer_ != nullptr) writer_->Stop();
}

}  // namespace command_api
