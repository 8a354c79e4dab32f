// libFuzzer target: event decoding (ledger/codec.h), the log's record format.
//
// Properties: no crash or sanitizer report; a refusal is DATA_LOSS or
// FAILED_PRECONDITION (a newer schema), never anything else; an accepted
// record encodes back to bytes that decode to an equal Event; the reusing
// EventDecoder, fed another record first, decides exactly as Decode does.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "ledger/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ledger::EventDecoder reused;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ledger::Event> event = ledger::Decode(bytes);
  absl::StatusOr<ledger::Event> again = reused.Decode(bytes);
  FUZZ_CHECK(event.ok() == again.ok(), "EventDecoder agrees with Decode");
  if (!event.ok()) {
    absl::StatusCode code = event.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kFailedPrecondition,
               "a bad record is DATA_LOSS (or FAILED_PRECONDITION for a newer schema)");
    FUZZ_CHECK(again.status().code() == code, "EventDecoder refuses with the same code");
    return 0;
  }
  FUZZ_CHECK(*event == *again, "EventDecoder decodes what Decode decodes");
  std::string encoded = ledger::Encode(*event);
  absl::StatusOr<ledger::Event> round = ledger::Decode(encoded);
  FUZZ_CHECK(round.ok(), "an accepted event encodes to a decodable record");
  FUZZ_CHECK(*round == *event, "Decode(Encode(e)) == e");
  return 0;
}
