// Snapshots of the ledger State, so a restart loads the newest valid snapshot
// and replays only the log tail (BRIEF.md decision 7).
//
// A snapshot is the complete State (everything operator== compares, plus the
// forgetting queues it does not, so folding more events after a reload
// forgets exactly what the original would have) and the log position it
// covers: per partition, the next offset to replay from.
//
// Contract:
//  * DecodeSnapshot(EncodeSnapshot(s, o)) yields a state equal to s that
//    behaves identically under further events, and offsets o.
//  * Any damage (flipped bits, truncation, trailing bytes, unparseable body,
//    indexes out of range) is DATA_LOSS naming the problem. A file written
//    by a newer format version is FAILED_PRECONDITION: this build cannot read
//    it, and replaying the log is the way forward.
//  * LedgerOptions are not stored: the loaded state takes the options given
//    to DecodeSnapshot, and the next folded event forgets under them.
//
// Files of snapshots (naming, pruning, loading the newest valid one) are the
// command side's: command-api/snapshot_store.h.
//
// Thread-safety: EncodeSnapshot/DecodeSnapshot are pure functions of their
// arguments.
#ifndef LEDGER_SNAPSHOT_H_
#define LEDGER_SNAPSHOT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/log_position.h"
#include "ledger/state.h"

namespace ledger {

// The snapshot format this build writes, and the newest it reads. 2: sales
// blocks (a version-1 file has none, so it reads as is). 3: the units a
// partial commit released per allocation (older files have none: read as 0).
inline constexpr std::uint32_t kSnapshotFormatVersion = 3;

struct Snapshot {
  State state;
  // Per partition: the log position the state covers (next offset to replay from).
  base::NextOffsets next_offsets;
};

// The snapshot file's bytes (layout at the top of ledger/snapshot.cc).
// RESOURCE_EXHAUSTED if the body would pass protobuf's 2 GiB message limit.
absl::StatusOr<std::string> EncodeSnapshot(const State& state, std::span<const std::uint64_t> next_offsets);

// A snapshot file around an already encoded body: the header with `version`
// and the checksum. EncodeSnapshot uses it; exposed so tests and tools can
// frame a hand-made body (e.g. one with bad indexes, or a future version).
std::string FrameSnapshot(std::string_view body, std::uint32_t version = kSnapshotFormatVersion);

// The snapshot in `bytes`, its state built with `options`.
absl::StatusOr<Snapshot> DecodeSnapshot(std::string_view bytes, LedgerOptions options);

}  // namespace ledger

#endif  // LEDGER_SNAPSHOT_H_
