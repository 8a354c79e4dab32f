// evolve(state, event): folds one event into the state. The same fold serves
// the command side, replay, the audit tool and the tests.
//
// Evolve checks the event against the invariants of BRIEF.md before changing
// anything (on_hand >= 0, reserved >= 0, reserved <= on_hand, figures within
// kStockMax, an allocation resolves at most once, ...). An event that would
// break one is refused with FAILED_PRECONDITION naming the invariant, and the
// state is left exactly as it was: such an event can only come from a corrupt
// or forged log, which the audit must report rather than crash on.
//
// Events of different partitions may be folded in any interleaving (replay
// reads partitions independently): stock for a warehouse not yet registered,
// or an allocation before its reservation's first line, is accepted.
//
// Thread-safety: mutates `state`; one thread at a time.
#ifndef LEDGER_EVOLVE_H_
#define LEDGER_EVOLVE_H_

#include <vector>

#include "absl/status/status.h"
#include "ledger/decide.h"
#include "ledger/event.h"
#include "ledger/state.h"

namespace ledger {

absl::Status Evolve(State& state, const Event& event);

// The single-writer step: Decide, then Evolve every emitted event. Events it
// decided itself must apply; a failure is a bug and aborts (INV_CHECK).
Decision DecideAndApply(State& state, const Command& command);

}  // namespace ledger

#endif  // LEDGER_EVOLVE_H_
