// For tests of the invariant checks (docs/metrics.md, "Invariants"): a short
// history no writer would produce. SKU-1 (reorder point 1) is created,
// warehouse WH registered and 2 units received there, all decided by the
// ledger core; then a forged StockAdjusted takes 5 from that level, which
// leaves on_hand at -3. Append the events to a log directly (bypassing
// Decide) and every check that folds it must find exactly one broken level.
//
// Thread-safety: a pure function.
#ifndef LEDGER_TESTING_FORGED_EVENTS_H_
#define LEDGER_TESTING_FORGED_EVENTS_H_

#include <string>
#include <vector>

#include "base/check.h"
#include "ledger/command.h"
#include "ledger/evolve.h"
#include "ledger/event.h"
#include "ledger/state.h"

namespace ledger::test_support {

inline std::vector<Event> OversoldHistory() {
  State state{LedgerOptions{}};
  std::vector<Event> events;
  for (CommandBody body : std::vector<CommandBody>{CreateItem{Sku("SKU-1"), "Mug", "", {}, 1, 0},
                                                   RegisterWarehouse{WarehouseCode("WH"), "W", "eu"},
                                                   ReceiveStock{Sku("SKU-1"), WarehouseCode("WH"), 2, ""}}) {
    Command command{{CommandId("c" + std::to_string(events.size())), {}, "tester", ""}, std::move(body)};
    Decision d = DecideAndApply(state, command);
    INV_CHECK(d.accepted());
    events.insert(events.end(), d.events.begin(), d.events.end());
  }
  Event forged;
  forged.envelope.event_id = {7, 7};
  forged.envelope.schema_version = kSchemaVersion;
  forged.envelope.occurred_at_ms = AtEpochMs(1'700'000'100'000);
  forged.envelope.command_id = CommandId("forged");
  forged.envelope.sku = Sku("SKU-1");
  forged.envelope.command_event_count = 1;
  forged.payload = StockAdjusted{WarehouseCode("WH"), -5, AdjustmentReason::kCorrection, ""};
  events.push_back(forged);
  return events;
}

}  // namespace ledger::test_support

#endif  // LEDGER_TESTING_FORGED_EVENTS_H_
