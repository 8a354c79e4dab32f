// decide(state, command) -> events | rejection: the ledger's only judgement.
// Pure: reads the state and the command (which carries the time), returns
// values, performs no I/O.
//
// A command whose command_id is remembered with the same content is a
// duplicate: the decision is `duplicate` with no events, and the caller answers
// with the original outcome. With different content it is rejected
// (kIdempotencyKeyReused). Rejected commands are not remembered: they changed
// nothing, so a retry is decided afresh.
//
// Thread-safety: Decide only reads `state`; callers serialize it with Evolve.
#ifndef LEDGER_DECIDE_H_
#define LEDGER_DECIDE_H_

#include <optional>
#include <vector>

#include "ledger/command.h"
#include "ledger/event.h"
#include "ledger/rejection.h"
#include "ledger/state.h"

namespace ledger {

// The schema version written into every event's envelope.
inline constexpr std::uint32_t kSchemaVersion = 1;

struct Decision {
  std::vector<Event> events;           // to append atomically, in order
  std::optional<Rejection> rejection;  // set: nothing to append
  bool duplicate = false;              // command id already applied: nothing to append

  bool accepted() const { return !rejection.has_value(); }
};

Decision Decide(const State& state, const Command& command);

}  // namespace ledger

#endif  // LEDGER_DECIDE_H_
