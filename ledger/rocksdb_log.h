// The embedded event log: the default backend, one RocksDB database per log.
//
// Every Append is one WriteBatch written with sync=true, so it is durable and
// atomic (RocksDB logs a batch as one WAL record and recovers to a batch
// boundary). Concurrent appends are group-committed: one leader writes the
// queued batches as a single synced WriteBatch (ledger/group_commit.h). The
// byte layout is written down at the top of rocksdb_log.cc.
//
// Offsets here are contiguous (0, 1, 2, ...) per partition, which satisfies
// the "strictly increasing" contract of ledger/event_log.h.
//
// Thread-safety: as EventLog. One RocksDbLog per directory (RocksDB's LOCK
// file refuses a second opener, also across processes).
#ifndef LEDGER_ROCKSDB_LOG_H_
#define LEDGER_ROCKSDB_LOG_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "ledger/event_log.h"
#include "ledger/group_commit.h"
#include "ledger/log_tail.h"

namespace rocksdb {
class DB;
}

namespace ledger {

struct RocksDbLogOptions {
  // Directory of the database; created if missing. No default.
  std::string path;
  // Partitions; recorded at creation and checked on every open. Default 8.
  uint32_t partition_count = 8;
  // Largest record (key + payload), bytes. Default 1 MiB.
  size_t record_bytes_max = 1 << 20;
  // Most records in one Append. Default 10000.
  size_t batch_records_max = 10000;
  // Most records group-committed in one synced write (a single larger batch
  // still goes alone). Default 20000.
  size_t group_records_max = 20000;
  // Largest chunk (consecutive records of one partition stored as one
  // RocksDB value), bytes; a single larger record gets a chunk of its own.
  // Default 256 KiB.
  size_t chunk_bytes_max = 256 << 10;
  // Block cache for reads, bytes. Default 32 MiB.
  size_t block_cache_bytes = 32 << 20;
};

class RocksDbLog final : public EventLog {
 public:
  // Opens (creating if missing) the log at options.path. FAILED_PRECONDITION
  // when it was created with another partition count or a newer format;
  // DATA_LOSS when its metadata is unreadable; UNAVAILABLE on I/O trouble.
  static absl::StatusOr<std::unique_ptr<RocksDbLog>> Open(RocksDbLogOptions options);

  ~RocksDbLog() override;

  uint32_t partition_count() const override { return options_.partition_count; }
  absl::StatusOr<std::vector<LogPosition>> Append(std::span<const LogRecord> records) override;
  absl::StatusOr<std::vector<StoredRecord>> Read(uint32_t partition, uint64_t from_offset,
                                                 size_t max_records) override;
  absl::StatusOr<std::vector<uint64_t>> EndOffsets() override;
  std::unique_ptr<LogTail> Tail(std::vector<uint64_t> start_offsets, TailOptions options) override;
  absl::Status Close() override;

 private:
  RocksDbLog(RocksDbLogOptions options, std::unique_ptr<rocksdb::DB> db, std::vector<uint64_t> end_offsets);

  // The group commit leader's write: assigns offsets, one synced WriteBatch.
  absl::StatusOr<std::vector<std::vector<LogPosition>>> CommitGroup(GroupCommit::Batches batches);

  const RocksDbLogOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::atomic<bool> closed_{false};
  GroupCommit group_commit_;
  AppendSignal signal_;

  std::mutex mu_;
  std::vector<uint64_t> end_offsets_;  // guarded by mu_; written by the leader only
  absl::Status write_failure_;         // guarded by mu_; sticky after a failed write
};

}  // namespace ledger

#endif  // LEDGER_ROCKSDB_LOG_H_
