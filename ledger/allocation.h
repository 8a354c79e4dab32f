// Allocation: which warehouses fill each line of a reservation.
//
// A line naming a warehouse takes from that warehouse only. A line without one
// is filled from active warehouses that stock the SKU and whose sales of it
// are not blocked (ledger/stock_rules.h SalesBlockOf), in this order:
// warehouses that can fill the whole (remaining) line first, then lower
// priority number, then those in the preferred region, then by code for
// determinism. With SplitPolicy::kAllowSplit a line no single warehouse can
// fill is split greedily in that order. Earlier lines' picks are subtracted
// before later lines are allocated, so two lines of one SKU never double-count.
//
// REQUIRES: every line's SKU is a created item and every named warehouse is
// registered (decide checks these first and rejects otherwise).
// Thread-safety: pure function of its arguments.
#ifndef LEDGER_ALLOCATION_H_
#define LEDGER_ALLOCATION_H_

#include <string_view>
#include <vector>

#include "ledger/command.h"
#include "ledger/rejection.h"
#include "ledger/state.h"

namespace ledger {

struct AllocationPick {
  std::uint32_t request_line = 0;
  ItemIndex item = 0;
  WarehouseIndex warehouse = 0;
  Quantity quantity = 0;
  friend bool operator==(const AllocationPick&, const AllocationPick&) = default;
};

struct AllocationResult {
  bool ok = false;                     // every line filled
  std::vector<AllocationPick> picks;   // when ok
  // Per request line: the most it could be filled with under the policy.
  std::vector<LineAvailability> lines;
};

AllocationResult Allocate(const State& state, const std::vector<ReserveLine>& lines, SplitPolicy split,
                          std::string_view preferred_region);

}  // namespace ledger

#endif  // LEDGER_ALLOCATION_H_
