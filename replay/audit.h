// The audit: folds the event log again with the ledger core, checking every
// invariant after every event (replay/fold.h), and compares the result with
// the projector's read models at the SAME positions: the fold stops at the
// snapshot's applied() offsets.
//
// What is compared (projector/read_models.h):
//   items and warehouses      every field, an item's sales blocks included
//   levels                    every (SKU, warehouse): on_hand, reserved,
//                             available, incoming; a pair absent on one side
//                             equals all zeros on the other
//   totals                    every SKU's sum over warehouses
//   reservations              order, status, times, every allocation
//   aggregates                per-warehouse and per-category sums,
//                             reservation counts, low-stock and out-of-stock sets,
//                             the set of sales blocks in force
// A resolved reservation the fold no longer holds (it never forgets with
// ReplayLedgerOptions, but a caller may bound it) is counted as
// not compared, never as a mismatch.
//
// The report is data: AuditReport::clean() is false on any violation or
// mismatch; FormatAuditText / FormatAuditJson render it.
//
// Thread-safety: Audit and CompareWithReadModels are reentrant; the snapshot
// must be safe to read from the calling thread.
#ifndef REPLAY_AUDIT_H_
#define REPLAY_AUDIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/event_log.h"
#include "ledger/state.h"
#include "projector/read_models.h"
#include "replay/fold.h"

namespace replay {

struct Mismatch {
  std::string view;  // "level", "total", "item", "warehouse", "reservation", "warehouse_totals", ...
  std::string key;   // "SKU-1@WH-A", a reservation id, ...
  std::string what;  // "on_hand: ledger 5, read model 7"
};

struct AuditOptions {
  // Examples kept per finding list (all are counted). Default 20.
  size_t examples_max = 20;
  // Fold options (progress, batch sizes); apply and on_event are the audit's.
  FoldOptions fold;
};

struct AuditReport {
  uint64_t events = 0;  // records folded
  uint64_t skus = 0;
  uint64_t warehouses = 0;
  uint64_t reservations = 0;
  base::NextOffsets positions;  // the applied offsets compared at (next offset per partition)
  uint64_t violations_total = 0;
  std::vector<Violation> violations;
  uint64_t mismatches_total = 0;
  std::vector<Mismatch> mismatches;
  std::map<std::string, uint64_t> mismatches_by_view;
  uint64_t reservations_not_compared = 0;
  bool compared = false;  // false when run without read models

  bool clean() const { return violations_total == 0 && mismatches_total == 0; }
};

// Collects mismatches, keeping the first examples_max.
class MismatchSink {
 public:
  explicit MismatchSink(AuditReport* report, size_t examples_max) : report_(report), examples_max_(examples_max) {}
  void Add(std::string view, std::string key, std::string what);

 private:
  AuditReport* report_;
  size_t examples_max_;
};

// Compares a folded state with a read-models snapshot taken at the same
// positions. Returns the snapshot's error when a read fails.
absl::Status CompareWithReadModels(const ledger::State& state, const projector::Snapshot& views,
                                   MismatchSink& sink, AuditReport& report);

// Folds `log` up to views->applied() (or to its end offsets when views is
// null: invariants only) and compares. A snapshot applied beyond the log's
// end is itself a mismatch.
absl::StatusOr<AuditReport> Audit(eventlog::EventLog& log, const projector::Snapshot* views, AuditOptions options);

std::string FormatAuditText(const AuditReport& report);
std::string FormatAuditJson(const AuditReport& report);

}  // namespace replay

#endif  // REPLAY_AUDIT_H_
