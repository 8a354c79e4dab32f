#include "metrics/service_metrics.h"

#include <string>
#include <utility>

#include "base/check.h"

namespace metrics {
namespace {

static_assert(static_cast<size_t>(ledger::RejectionReason::kOnHandChanged) + 1 == kRejectionReasonCount,
              "a RejectionReason was added: update kRejectionReasonCount");

// Index order of ledger::CommandBody.
constexpr std::array<std::string_view, kCommandKindCount> kKindNames = {
    "create_item",   "update_item",    "discontinue_item", "register_warehouse",  "update_warehouse",
    "receive_stock", "adjust_stock",   "count_stock",      "ship_transfer",       "receive_transfer",
    "reserve",       "commit_reservation", "release_reservation", "expire_reservation", "block_sales",
    "unblock_sales", "extend_reservation"};
static_assert(std::is_same_v<std::variant_alternative_t<10, ledger::CommandBody>, ledger::Reserve> &&
                  std::is_same_v<std::variant_alternative_t<13, ledger::CommandBody>, ledger::ExpireReservation> &&
                  std::is_same_v<std::variant_alternative_t<16, ledger::CommandBody>, ledger::ExtendReservation>,
              "ledger::CommandBody changed: update kKindNames");

constexpr std::array<std::string_view, 4> kOutcomeNames = {"accepted", "rejected", "duplicate", "unavailable"};
constexpr std::array<std::string_view, kCheckCount> kCheckNames = {"writer", "projector", "audit"};
constexpr std::array<std::string_view, kGrpcCodeCount> kCodeNames = {
    "OK",        "CANCELLED",          "UNKNOWN",          "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",      "DATA_LOSS", "UNAUTHENTICATED"};

// Seconds: 50 us to ~1.6 s, doubling.
std::vector<double> LatencyBuckets() { return ExponentialBuckets(0.00005, 2, 16); }
// Counts: 1 to 8192, doubling.
std::vector<double> SizeBuckets() { return ExponentialBuckets(1, 2, 14); }

constexpr char kReservations[] = "inventory_reservations_total";
constexpr char kReservationsHelp[] =
    "Reservation commands answered, by outcome (reserved, duplicate, rejected with its reason)";

}  // namespace

const char kTraceparentMalformed[] = "inventory_traceparent_malformed_total";
const char kTraceparentMalformedHelp[] =
    "W3C traceparent values that were present but malformed, and so ignored, by where they arrived";

std::string_view CommandKindName(const ledger::CommandBody& body) { return kKindNames[body.index()]; }

ServiceMetrics::ServiceMetrics(Registry* registry) : registry_(registry) {
  INV_CHECK(registry != nullptr);
  Registry& r = *registry;
  for (size_t k = 0; k < kCommandKindCount; ++k) {
    for (size_t o = 0; o < kOutcomeCount; ++o) {
      commands_[k][o] = r.AddCounter("inventory_commands_total", "Commands answered by the writer, by kind and outcome",
                                     {{"kind", std::string(kKindNames[k])}, {"outcome", std::string(kOutcomeNames[o])}});
    }
  }
  reserved_ = r.AddCounter(kReservations, kReservationsHelp, {{"outcome", "reserved"}});
  reserve_duplicate_ = r.AddCounter(kReservations, kReservationsHelp, {{"outcome", "duplicate"}});
  for (size_t i = 0; i < kRejectionReasonCount; ++i) {
    reserve_rejected_[i] = r.AddCounter(
        kReservations, kReservationsHelp,
        {{"outcome", "rejected"}, {"reason", std::string(ledger::ToString(static_cast<ledger::RejectionReason>(i)))}});
  }
  committed_ = r.AddCounter("inventory_reservations_committed_total", "Reservations committed");
  released_ = r.AddCounter("inventory_reservations_released_total", "Reservations released");
  expired_ = r.AddCounter("inventory_reservations_expired_total", "Reservations expired by the expiry timer");
  for (size_t c = 0; c < kCheckCount; ++c) {
    oversell_[c] = r.AddCounter("inventory_oversell_events_total",
                                "Events an invariant check found leaving reserved above on_hand or a negative "
                                "figure, by the check that found it; expected to stay 0",
                                {{"check", std::string(kCheckNames[c])}});
  }
  batch_commands_ = r.AddHistogram("inventory_writer_batch_commands", "Commands decided into one append",
                                   SizeBuckets());
  batch_events_ = r.AddHistogram("inventory_writer_batch_events", "Events in one append", SizeBuckets());
  append_seconds_ = r.AddHistogram("inventory_writer_append_duration_seconds",
                                   "Time for one append to become durable", LatencyBuckets());
  append_failures_ = r.AddCounter("inventory_writer_append_failures_total", "Appends the event log did not take");
  writer_up_ = r.AddGauge("inventory_writer_up", "1 while the writer's last append succeeded (or none failed yet)");
  writer_up_->Set(1);
  queue_depth_ = r.AddGauge("inventory_writer_queue_depth", "Commands waiting for the writer, after its last take");
  snapshot_seconds_ = r.AddHistogram("inventory_snapshot_duration_seconds", "Time to write one snapshot",
                                     ExponentialBuckets(0.001, 2, 16));
  snapshots_ok_ = r.AddCounter("inventory_snapshots_total", "Snapshots attempted, by outcome", {{"outcome", "ok"}});
  snapshots_failed_ = r.AddCounter("inventory_snapshots_total", "Snapshots attempted, by outcome", {{"outcome", "failed"}});
  snapshot_last_unix_ = r.AddGauge("inventory_snapshot_last_success_timestamp_seconds",
                                   "Unix time of the last snapshot written (0: none since start)");
  r.AddCallback("inventory_snapshot_age_seconds", "Seconds since the last snapshot written (absent: none yet)",
                Type::kGauge, [this] {
                  std::vector<Sample> out;
                  double last = snapshot_last_unix_->value();
                  if (last > 0) {
                    double now = std::chrono::duration<double>(
                                     std::chrono::system_clock::now().time_since_epoch()).count();
                    out.push_back({{}, now - last});
                  }
                  return out;
                });
  fold_batch_seconds_ = r.AddHistogram("inventory_projector_fold_batch_duration_seconds",
                                       "Time to fold and write one projector batch", LatencyBuckets());
  fold_batch_events_ = r.AddHistogram("inventory_projector_fold_batch_events", "Events folded in one projector batch",
                                      SizeBuckets());
  stream_cuts_ = r.AddCounter("inventory_stream_subscribers_cut_total",
                              "StreamInventoryUpdates subscribers ended because they fell behind");
  for (size_t i = 0; i < kTraceSourceCount; ++i) {
    traceparent_malformed_[i] = r.AddCounter(kTraceparentMalformed, kTraceparentMalformedHelp,
                                             {{"source", i == 0 ? "grpc" : "http"}});
  }
  AddGrpcMethod("other");
  r.AddCallback("inventory_grpc_requests_total", "gRPC calls finished, by method and status code", Type::kCounter,
                [this] {
                  std::vector<Sample> out;
                  for (const GrpcMethod& m : grpc_methods_) {
                    for (size_t c = 0; c < kGrpcCodeCount; ++c) {
                      uint64_t n = m.codes[c].load(std::memory_order_relaxed);
                      if (n == 0 && c != 0) continue;  // OK always, other codes once seen
                      out.push_back({{{"method", m.name}, {"code", std::string(kCodeNames[c])}},
                                     static_cast<double>(n)});
                    }
                  }
                  return out;
                });
}

void ServiceMetrics::OnCommand(const ledger::Command& command, const ledger::Rejection* rejection, bool duplicate) {
  const size_t kind = command.body.index();
  Outcome outcome = rejection != nullptr ? kRejected : duplicate ? kDuplicate : kAccepted;
  commands_[kind][outcome]->Inc();
  if (std::holds_alternative<ledger::Reserve>(command.body)) {
    if (rejection != nullptr) {
      reserve_rejected_[static_cast<size_t>(rejection->reason)]->Inc();
    } else if (duplicate) {
      reserve_duplicate_->Inc();
    } else {
      reserved_->Inc();
    }
    return;
  }
  if (outcome != kAccepted) return;
  if (std::holds_alternative<ledger::CommitReservation>(command.body)) {
    committed_->Inc();
  } else if (std::holds_alternative<ledger::ReleaseReservation>(command.body)) {
    released_->Inc();
  } else if (const auto* e = std::get_if<ledger::ExpireReservation>(&command.body);
             e != nullptr && e->when == ledger::ExpireWhen::kDue) {
    expired_->Inc();  // the timer's only: an operator's expiry is no checkout that ran out
  }
}

void ServiceMetrics::OnCommandUnavailable(const ledger::Command& command) {
  commands_[command.body.index()][kUnavailable]->Inc();
}

void ServiceMetrics::OnAppend(size_t commands, size_t events, double seconds, bool ok) {
  if (!ok) {
    append_failures_->Inc();
    writer_up_->Set(0);
    return;
  }
  writer_up_->Set(1);
  batch_commands_->Observe(static_cast<double>(commands));
  batch_events_->Observe(static_cast<double>(events));
  if (events > 0) append_seconds_->Observe(seconds);
}

void ServiceMetrics::OnSnapshot(double seconds, bool ok, double unix_seconds) {
  if (!ok) {
    snapshots_failed_->Inc();
    return;
  }
  snapshots_ok_->Inc();
  snapshot_seconds_->Observe(seconds);
  snapshot_last_unix_->Set(unix_seconds);
}

void ServiceMetrics::OnFoldBatch(size_t events, double seconds) {
  fold_batch_seconds_->Observe(seconds);
  fold_batch_events_->Observe(static_cast<double>(events));
}

ServiceMetrics::GrpcMethod& ServiceMetrics::AddGrpcMethod(std::string name) {
  GrpcMethod& m = grpc_methods_.emplace_back();
  m.name = std::move(name);
  m.duration = registry_->AddHistogram("inventory_grpc_request_duration_seconds",
                                       "gRPC call duration, from its arrival to its status, by method",
                                       LatencyBuckets(), {{"method", m.name}});
  grpc_index_[m.name] = grpc_methods_.size() - 1;
  return m;
}

void ServiceMetrics::AddGrpcMethods(const std::vector<std::string>& methods) {
  for (const std::string& m : methods) {
    if (!grpc_index_.contains(m)) AddGrpcMethod(m);
  }
}

size_t ServiceMetrics::GrpcMethodIndex(std::string_view method) const {
  auto it = grpc_index_.find(absl::string_view(method.data(), method.size()));
  return it == grpc_index_.end() ? 0 : it->second;
}

void ServiceMetrics::OnGrpcCall(size_t method_index, int code, double seconds) {
  GrpcMethod& m = grpc_methods_[method_index];
  size_t c = code >= 0 && code < static_cast<int>(kGrpcCodeCount) ? static_cast<size_t>(code) : 2;  // UNKNOWN
  m.codes[c].fetch_add(1, std::memory_order_relaxed);
  m.duration->Observe(seconds);
}

}  // namespace metrics
