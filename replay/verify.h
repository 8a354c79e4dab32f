// verify-log: reads every record of every partition and checks
//   * checksums: RocksDB verifies each block's checksum as it reads
//     (ReadOptions::verify_checksums, on by default); a failure, or a chunk
//     that does not parse, comes back as DATA_LOSS from EventLog::Read;
//   * decodability: ledger::Decode accepts the payload, and the record's key
//     is the event's partition key (ledger::PartitionKey) of this partition;
//   * position continuity: offsets strictly increase within a partition and,
//     on a contiguous log (the embedded one), are exactly 0, 1, 2, ... up to
//     the end offset.
// It names the first bad record exactly (partition, offset, what is wrong)
// and counts the rest; after an unreadable stretch the rest of that
// partition is skipped.
//
// Thread-safety: reentrant; reads the log from the calling thread.
#ifndef REPLAY_VERIFY_H_
#define REPLAY_VERIFY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/event_log.h"

namespace replay {

enum class Continuity : uint8_t {
  kContiguous,          // offsets 0, 1, 2, ... (the embedded RocksDB log)
  kStrictlyIncreasing,  // gaps allowed (Kafka spends offsets on markers)
};

struct VerifyOptions {
  Continuity continuity = Continuity::kContiguous;
  // Records per EventLog::Read. Default 8192; at least 1.
  size_t read_batch_records = 8192;
  // Bad records kept as examples (all are counted). Default 20.
  size_t examples_max = 20;
  // Called after every read batch with (records done, records expected).
  std::function<void(uint64_t, uint64_t)> progress;
};

struct BadRecord {
  eventlog::LogPosition position;
  std::string what;
};

struct VerifyReport {
  uint64_t records = 0;
  base::NextOffsets end_offsets;
  uint64_t bad_total = 0;
  std::vector<BadRecord> bad;  // the first examples_max, in (partition, offset) order
  bool clean() const { return bad_total == 0; }
};

// Errors other than DATA_LOSS (I/O trouble) end the run with that error.
absl::StatusOr<VerifyReport> VerifyLog(eventlog::EventLog& log, const VerifyOptions& options);

std::string FormatVerifyText(const VerifyReport& report);
std::string FormatVerifyJson(const VerifyReport& report);

}  // namespace replay

#endif  // REPLAY_VERIFY_H_
