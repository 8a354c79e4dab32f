// libFuzzer target: snapshot decoding (ledger/snapshot.h).
//
// Input: one selector byte, then bytes. Selector even: the bytes are a whole
// snapshot file (header, checksum and all). Selector odd: the bytes are a
// body that FrameSnapshot frames with a valid checksum, so the fuzzer reaches
// the body's parse and index checks instead of stopping at the checksum.
// Properties: no crash or sanitizer report; a refusal is DATA_LOSS (damage)
// or FAILED_PRECONDITION (a newer format); an accepted snapshot re-encodes to
// one that decodes to an equal state and the same offsets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "ledger/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string file = (data[0] & 1) != 0 ? ledger::FrameSnapshot(rest) : std::string(rest);
  absl::StatusOr<ledger::Snapshot> snapshot = ledger::DecodeSnapshot(file, ledger::LedgerOptions{});
  if (!snapshot.ok()) {
    absl::StatusCode code = snapshot.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kFailedPrecondition,
               "a bad snapshot is DATA_LOSS (or FAILED_PRECONDITION for a newer format)");
    return 0;
  }
  absl::StatusOr<std::string> encoded = ledger::EncodeSnapshot(snapshot->state, snapshot->next_offsets);
  FUZZ_CHECK(encoded.ok(), "an accepted snapshot re-encodes");
  absl::StatusOr<ledger::Snapshot> round = ledger::DecodeSnapshot(*encoded, ledger::LedgerOptions{});
  FUZZ_CHECK(round.ok(), "a re-encoded snapshot decodes");
  FUZZ_CHECK(round->state == snapshot->state, "the state survives a re-encode");
  FUZZ_CHECK(round->next_offsets == snapshot->next_offsets, "the offsets survive a re-encode");
  return 0;
}
