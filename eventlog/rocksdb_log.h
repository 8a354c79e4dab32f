// The embedded event log: the default backend, one RocksDB database per log.
//
// Every Append is one WriteBatch written with sync=true, so it is durable and
// atomic (RocksDB logs a batch as one WAL record and recovers to a batch
// boundary). Concurrent appends are group-committed: one leader writes the
// queued batches as a single synced WriteBatch (eventlog/group_commit.h). The
// byte layout is written down at the top of rocksdb_log.cc.
//
// A failed write (fsync error, EIO, a full disk) fails its Append with
// UNAVAILABLE, naming the cause, and every Append after it until the disk
// recovers: each one first asks RocksDB to resume (DB::Resume) and rereads the
// end offsets from the database. Whether the failed write itself reached the
// disk is unknown; if it did, its records are in the log from then on, and
// the first Append after the resume reports UNAVAILABLE once more so that its
// caller (the command writer) rebuilds its view of the log before deciding
// again. Nothing acknowledged is lost: an Append returns only after its
// synced write succeeded.
//
// Offsets here are contiguous (0, 1, 2, ...) per partition, which satisfies
// the "strictly increasing" contract of eventlog/event_log.h.
//
// Thread-safety: as EventLog. One read-write RocksDbLog per directory
// (RocksDB's LOCK file refuses a second opener, also across processes).
//
// Read-only mode (RocksDbLogMode::kSecondary): a RocksDB secondary instance
// beside a live writer, for readers in other processes (inventoryctl). It
// takes no lock and never writes the log; Append is FAILED_PRECONDITION.
// EndOffsets() first catches up with the writer (TryCatchUpWithPrimary), so
// records acknowledged before the call become readable.
#ifndef EVENTLOG_ROCKSDB_LOG_H_
#define EVENTLOG_ROCKSDB_LOG_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "absl/status/statusor.h"
#include "eventlog/event_log.h"
#include "eventlog/group_commit.h"
#include "eventlog/log_tail.h"

namespace rocksdb {
class DB;
class Env;
class FileSystem;
}

namespace eventlog {

enum class RocksDbLogMode : uint8_t {
  kReadWrite,  // the writer (creates the log if missing)
  kSecondary,  // a read-only follower of a live (or stopped) writer
};

struct RocksDbLogOptions {
  // Directory of the database; created if missing (kReadWrite). No default.
  std::string path;
  // Partitions; recorded at creation and checked on every open. kSecondary
  // only: 0 adopts the recorded count. Default 8.
  uint32_t partition_count = 8;
  // Writer or read-only follower. Default kReadWrite.
  RocksDbLogMode mode = RocksDbLogMode::kReadWrite;
  // kSecondary: RocksDB's scratch directory for the secondary instance;
  // empty = a fresh directory under the system temp dir, removed on Close.
  std::string secondary_path;
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
  // The file system under the database; null = the real disk. Tests pass a
  // fault-injecting one (eventlog/testing/fault_file_system.h).
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

class RocksDbLog final : public EventLog {
 public:
  // Opens (creating if missing) the log at options.path. FAILED_PRECONDITION
  // when it was created with another partition count or a newer format;
  // DATA_LOSS when its metadata is unreadable; UNAVAILABLE on I/O trouble.
  // kSecondary: NOT_FOUND when there is no log at options.path.
  static absl::StatusOr<std::unique_ptr<RocksDbLog>> Open(RocksDbLogOptions options);

  ~RocksDbLog() override;

  uint32_t partition_count() const override { return options_.partition_count; }
  absl::StatusOr<std::vector<LogPosition>> Append(std::span<const LogRecord> records) override;
  absl::StatusOr<std::vector<StoredRecord>> Read(uint32_t partition, uint64_t from_offset,
                                                 size_t max_records) override;
  absl::StatusOr<NextOffsets> EndOffsets() override;
  std::unique_ptr<LogTail> Tail(NextOffsets start_offsets, TailOptions options) override;
  absl::Status Close() override;

 private:
  RocksDbLog(RocksDbLogOptions options, std::unique_ptr<rocksdb::Env> env, std::unique_ptr<rocksdb::DB> db,
             NextOffsets end_offsets, std::string owned_scratch_dir);
  static absl::StatusOr<std::unique_ptr<RocksDbLog>> OpenSecondary(RocksDbLogOptions options);

  // The group commit leader's write: assigns offsets, one synced WriteBatch.
  absl::StatusOr<std::vector<std::vector<LogPosition>>> CommitGroup(GroupCommit::Batches batches);
  // After a failed write: asks RocksDB to resume writing (DB::Resume) and
  // rereads the end offsets from the database. OK when writes may go on; the
  // failure (still UNAVAILABLE) while the disk has not recovered, or when the
  // failed write turned out to be in the log after all, so the caller's view
  // of the log is stale. REQUIRES: mu_ held.
  absl::Status ResumeAfterWriteFailure();
  // Writes, syncs and deletes a small file beside the database: OK when the
  // disk takes synced writes again.
  absl::Status ProbeDisk();

  const RocksDbLogOptions options_;
  std::unique_ptr<rocksdb::Env> env_;  // over options_.file_system; null for the real disk; outlives db_
  // Replaced only by ResumeAfterWriteFailure (the group commit leader), under
  // db_mu_ held exclusively; Read holds it shared. Null while a reopen failed.
  std::shared_mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_;
  const std::string owned_scratch_dir_;  // kSecondary: removed on Close when non-empty
  std::atomic<bool> closed_{false};
  GroupCommit group_commit_;
  AppendSignal signal_;

  std::mutex mu_;
  NextOffsets end_offsets_;  // guarded by mu_; written by the leader only
  absl::Status write_failure_;         // guarded by mu_; set by a failed write until a resume succeeds
};

}  // namespace eventlog

#endif  // EVENTLOG_ROCKSDB_LOG_H_
