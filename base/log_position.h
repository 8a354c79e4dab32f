// The vocabulary of log positions that the pure core (snapshots) and the
// event log (eventlog/) share, so the core need not depend on the log.
//
// A position is (partition, offset). Within a partition offsets strictly
// increase but need not be contiguous (Kafka spends offsets on transaction
// markers; see eventlog/event_log.h).
//
// Thread-safety: plain values.
#ifndef BASE_LOG_POSITION_H_
#define BASE_LOG_POSITION_H_

#include <compare>
#include <cstdint>
#include <ostream>

namespace base {

struct LogPosition {
  uint32_t partition = 0;
  uint64_t offset = 0;

  friend auto operator<=>(const LogPosition&, const LogPosition&) = default;
  friend bool operator==(const LogPosition&, const LogPosition&) = default;
  friend std::ostream& operator<<(std::ostream& os, const LogPosition& p) {
    return os << p.partition << ":" << p.offset;
  }
};

// The largest partition count any log backend accepts, and so the most
// entries a stored position vector (a snapshot's, the views') may have.
inline constexpr uint32_t kPartitionCountMax = 1024;

}  // namespace base

#endif  // BASE_LOG_POSITION_H_
