// Converts ledger events to and from inventory.v1.Event (proto/events.proto),
// the log's record format. Encode then Decode yields an equal Event.
//
// Decode is the read-side half of the pair check of STYLE.md: it refuses a
// record that does not parse (DATA_LOSS), has no payload or an out-of-range
// enum (DATA_LOSS), or was written by a newer schema (FAILED_PRECONDITION).
//
// EventDecoder is Decode with one protobuf message reused across records, so
// its strings and repeated fields keep their capacity from record to record:
// the form every log reader uses (ledger-io/event_reader.h). Decode is the
// same check through a decoder of its own.
//
// Thread-safety: pure functions; an EventDecoder is used by one thread at a
// time.
#ifndef LEDGER_CODEC_H_
#define LEDGER_CODEC_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ledger/event.h"
#include "proto/common.pb.h"
#include "proto/events.pb.h"

namespace ledger {

inventory::v1::Event ToProto(const Event& event);
absl::StatusOr<Event> FromProto(const inventory::v1::Event& proto);

std::string Encode(const Event& event);
absl::StatusOr<Event> Decode(std::string_view bytes);

class EventDecoder {
 public:
  // As Decode(bytes).
  absl::StatusOr<Event> Decode(std::string_view bytes);

 private:
  inventory::v1::Event proto_;
};

inventory::v1::AdjustmentReason ToProto(AdjustmentReason reason);
inventory::v1::ReleaseReason ToProto(ReleaseReason reason);
inventory::v1::ReservationStatus ToProto(ReservationStatus status);
// The inverse: nullopt for UNSPECIFIED (in a read model, an allocation not
// folded yet) and for values this build does not know.
std::optional<ReservationStatus> FromProto(inventory::v1::ReservationStatus status);

}  // namespace ledger

#endif  // LEDGER_CODEC_H_
