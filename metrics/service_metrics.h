// The metrics inventoryd records on its own code paths (docs/metrics.md
// lists every family, its labels and bounds). Components take a
// `ServiceMetrics*` in their options; null turns recording off, so the
// components and their tests run without a registry.
//
// Every series a hot path touches is registered in the constructor and
// resolved to a pointer there: recording is an array index and a relaxed
// atomic add (registry.h). Figures that components already keep (lags,
// stats, read-model counts) are not recorded here but read at scrape time by
// the collectors of metrics/collectors.h.
//
// Thread-safety: the On* methods from any thread, lock-free. AddGrpcMethods
// before the gRPC server starts.
#ifndef METRICS_SERVICE_METRICS_H_
#define METRICS_SERVICE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ledger/command.h"
#include "ledger/rejection.h"
#include "metrics/registry.h"

namespace metrics {

// Where an invariant check ran (label `check` of inventory_oversell_events_total):
// the writer's replay of the log (at start and when it rebuilds its state
// after a failed append), the projector's fold, or the audit-on-start of the
// levels the projector's views hold when it starts (projector/projector.h).
enum class Check : uint8_t { kWriter, kProjector, kAudit };
inline constexpr size_t kCheckCount = 3;

inline constexpr size_t kCommandKindCount = std::variant_size_v<ledger::CommandBody>;
inline constexpr size_t kRejectionReasonCount = 18;  // ledger::RejectionReason, static_assert in the .cc
inline constexpr size_t kGrpcCodeCount = 17;         // grpc::StatusCode 0..16

// Where a malformed W3C traceparent arrived (label `source` of
// inventory_traceparent_malformed_total): gRPC metadata from a network
// client, or the HTTP header (the HTTP front door forwards it as metadata
// over the in-process channel). Kafka message headers are counted by the
// order consumer (metrics/collectors.h).
enum class TraceSource : uint8_t { kGrpc, kHttp };
inline constexpr size_t kTraceSourceCount = 2;

// The family name and help of the malformed-traceparent counter, which the
// order consumer's collector (metrics/collectors.h) adds its source to.
extern const char kTraceparentMalformed[];
extern const char kTraceparentMalformedHelp[];

// The `kind` label of a command: "create_item", ..., "expire_reservation".
std::string_view CommandKindName(const ledger::CommandBody& body);

class ServiceMetrics {
 public:
  // Registers every family below in `registry`, which must outlive this.
  explicit ServiceMetrics(Registry* registry);
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  Registry* registry() const { return registry_; }

  // ---- the writer (command-api/writer.cc), its thread ----
  // A command answered after its batch was durable: accepted, rejected
  // (`rejection` set) or a duplicate.
  void OnCommand(const ledger::Command& command, const ledger::Rejection* rejection, bool duplicate);
  // A command answered UNAVAILABLE because its append failed.
  void OnCommandUnavailable(const ledger::Command& command);
  // One append: `commands` decided into `events`, durable after `seconds`.
  void OnAppend(size_t commands, size_t events, double seconds, bool ok);
  void OnQueueDepth(size_t commands) { queue_depth_->Set(static_cast<double>(commands)); }
  // A snapshot written (ok) or not, taking `seconds`; `unix_seconds` when done.
  void OnSnapshot(double seconds, bool ok, double unix_seconds);

  // ---- invariant checks (writer replay, projector fold) ----
  // A level left with reserved above on_hand or a negative figure.
  void OnOversell(Check where, uint64_t n = 1) { oversell_[static_cast<size_t>(where)]->Inc(n); }

  // ---- the projector (projector/projector.cc), its applier thread ----
  void OnFoldBatch(size_t events, double seconds);

  // ---- query-api streams ----
  // A StreamInventoryUpdates subscriber ended because it fell behind.
  void OnStreamCut() { stream_cuts_->Inc(); }

  // ---- gRPC (metrics/grpc_interceptor.h), gRPC threads ----
  // Full method names ("/inventory.v1.CommandService/Reserve") that get their
  // own `method` label; any other is "other". REQUIRES: before serving.
  void AddGrpcMethods(const std::vector<std::string>& methods);
  // Index of `method` for OnGrpcCall (the "other" slot when unknown).
  size_t GrpcMethodIndex(std::string_view method) const;
  void OnGrpcCall(size_t method_index, int code, double seconds);
  // A traceparent that was present but malformed, and so ignored.
  void OnTraceparentMalformed(TraceSource source) { traceparent_malformed_[static_cast<size_t>(source)]->Inc(); }

 private:
  struct GrpcMethod {
    std::string name;
    std::array<std::atomic<uint64_t>, kGrpcCodeCount> codes{};
    Histogram* duration = nullptr;
  };
  enum Outcome : uint8_t { kAccepted, kRejected, kDuplicate, kUnavailable, kOutcomeCount };
  GrpcMethod& AddGrpcMethod(std::string name);

  Registry* const registry_;
  std::array<std::array<Counter*, kOutcomeCount>, kCommandKindCount> commands_{};
  Counter* reserved_ = nullptr;
  Counter* reserve_duplicate_ = nullptr;
  std::array<Counter*, kRejectionReasonCount> reserve_rejected_{};
  Counter* committed_ = nullptr;
  Counter* released_ = nullptr;
  Counter* expired_ = nullptr;
  std::array<Counter*, kCheckCount> oversell_{};
  Histogram* batch_commands_ = nullptr;
  Histogram* batch_events_ = nullptr;
  Histogram* append_seconds_ = nullptr;
  Counter* append_failures_ = nullptr;
  Gauge* writer_up_ = nullptr;
  Gauge* queue_depth_ = nullptr;
  Histogram* snapshot_seconds_ = nullptr;
  Counter* snapshots_ok_ = nullptr;
  Counter* snapshots_failed_ = nullptr;
  Gauge* snapshot_last_unix_ = nullptr;
  Histogram* fold_batch_seconds_ = nullptr;
  Histogram* fold_batch_events_ = nullptr;
  Counter* stream_cuts_ = nullptr;
  std::array<Counter*, kTraceSourceCount> traceparent_malformed_{};

  std::deque<GrpcMethod> grpc_methods_;  // [0] is "other"; stable addresses
  absl::flat_hash_map<std::string, size_t> grpc_index_;
};

}  // namespace metrics

#endif  // METRICS_SERVICE_METRICS_H_
