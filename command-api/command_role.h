// The command role of inventoryd: the snapshot store, the single writer
// (state rebuilt from the newest snapshot and the log on Start), the expiry
// scheduler and CommandService over the writer. tools/inventoryd.cc maps its
// flags into CommandRoleOptions and registers service() with its gRPC server;
// the orders role (orders/orders_role.h) runs on writer().
//
// Fenced (command-api/writer.h): once the log refuses the writer's appends
// for good (on Kafka, a newer writer took the transactional id), the role
// marks the gRPC health of inventory.v1.CommandService and of the whole
// server ("") NOT_SERVING at once (see ReportHealthTo) and fenced() turns
// FAILED_PRECONDITION, for GET /ready and for inventoryd, which then drains
// and exits (docs/reliability.md "A fenced writer").
//
// Thread-safety: Start and Stop from one thread; writer(), service(),
// fenced() and ReportHealthTo are safe to use from any thread until Stop.
#ifndef COMMAND_API_COMMAND_ROLE_H_
#define COMMAND_API_COMMAND_ROLE_H_

#include <grpcpp/health_check_service_interface.h>

#include <filesystem>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "command-api/command_service.h"
#include "command-api/expiry.h"
#include "command-api/snapshot_store.h"
#include "command-api/writer.h"
#include "eventlog/event_log.h"

namespace command_api {

struct CommandRoleOptions {
  // Directory of the snapshots (<data-dir>/snapshots). Required.
  std::filesystem::path snapshot_dir;
  SnapshotStoreOptions snapshots;
  WriterOptions writer;
  ExpiryOptions expiry;
  CommandServiceOptions service;
};

class CommandRole {
 public:
  // Rebuilds the writer's state (snapshot, then the log after it) and starts
  // the writer and the expiry scheduler. The writer's Open errors (DATA_LOSS
  // for a log it cannot fold, UNAVAILABLE when the log cannot be read).
  // REQUIRES: log and clock outlive the role.
  static absl::StatusOr<std::unique_ptr<CommandRole>> Start(eventlog::EventLog* log, base::Clock* clock,
                                                            CommandRoleOptions options);
  // Stops the expiry scheduler, then the writer (its queue drained, a final
  // snapshot saved). REQUIRES: nothing calls service() any more (the gRPC
  // server is shut down). Idempotent.
  void Stop();
  ~CommandRole() { Stop(); }

  Writer* writer() const { return writer_.get(); }
  CommandServiceImpl* service() const { return service_.get(); }

  // OK while the writer can append; once fenced, for good, why not
  // (FAILED_PRECONDITION, the answer every command gets).
  absl::Status fenced() const { return writer_->fenced(); }

  // From now on, marks `health`'s "inventory.v1.CommandService" and ""
  // statuses NOT_SERVING the moment the writer is fenced, or at once if it
  // already is. REQUIRES: health outlives the role (or the role's Stop).
  void ReportHealthTo(grpc::HealthCheckServiceInterface* health);

 private:
  explicit CommandRole(CommandRoleOptions options);
  // The writer's on_fenced, on its thread.
  void OnFenced();

  const CommandRoleOptions options_;
  std::mutex health_mu_;
  grpc::HealthCheckServiceInterface* health_ = nullptr;  // guarded by health_mu_
  bool fenced_ = false;                                  // guarded by health_mu_
  SnapshotStore snapshots_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<ExpiryScheduler> expiry_;
  std::unique_ptr<CommandServiceImpl> service_;
};

}  // namespace command_api

#endif  // COMMAND_API_COMMAND_ROLE_H_
