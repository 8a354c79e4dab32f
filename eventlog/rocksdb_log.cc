// Byte layout of the embedded log (format version 1). All integers are
// big-endian so that RocksDB's bytewise key order is (partition, offset) order.
//
//   key          := meta_key | chunk_key
//   meta_key     := 0x00 "meta"
//   meta_value   := format_version:fixed32be partition_count:fixed32be
//   chunk_key    := 0x01 partition:fixed32be first_offset:fixed64be    (13 bytes)
//   chunk_value  := count:fixed32be record{count}
//   record       := key_size:fixed32be payload_size:fixed32be key:byte[key_size]
//                   payload:byte[payload_size]
//
// A chunk holds `count` consecutive records of one partition, at offsets
// first_offset .. first_offset + count - 1. Offsets per partition are
// 0, 1, 2, ... with no gaps, so each chunk starts where the previous ended.
//
// Why chunks and not one RocksDB entry per record (as the design brief
// first had it): the skiplist insert of each memtable entry cost about 1 us,
// half the CPU of a synced 1000-event append; one entry per (group commit,
// partition) makes that cost per chunk instead of per event, and reads step
// over a handful of entries instead of thousands. A chunk never spans two
// group commits and holds at most chunk_bytes_max bytes (one larger record
// gets a chunk of its own), so reads and recovery stay cheap.
//
// Checksums are RocksDB's (WAL records and table blocks); a value that does
// not parse, a gap or overlap between chunks, or a key that does not hash to
// its partition is reported as DATA_LOSS.
#include "eventlog/rocksdb_log.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>

#include "base/check.h"
#include "base/coding.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "eventlog/rocksdb_info_log.h"
#include "log_limits.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace eventlog {
namespace {

constexpr uint32_t kFormatVersion = 1;
constexpr char kMetaKey[] = {'\x00', 'm', 'e', 't', 'a'};
constexpr char kChunkTag = '\x01';
constexpr size_t kChunkKeySize = 13;

using base::DecodeFixed32Be;
using base::DecodeFixed64Be;
using base::PutFixed32Be;
using base::PutFixed64Be;

std::string PartitionPrefix(uint32_t partition) {
  std::string key(1, kChunkTag);
  PutFixed32Be(&key, partition);
  return key;
}
std::string ChunkKey(uint32_t partition, uint64_t first_offset) {
  std::string key = PartitionPrefix(partition);
  PutFixed64Be(&key, first_offset);
  return key;
}

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view AsView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// RocksDB status -> ours: corruption is DATA_LOSS, anything else UNAVAILABLE.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return absl::DataLossError(message);
  return absl::UnavailableError(message);
}

// A chunk's key, decoded; DATA_LOSS when malformed.
absl::StatusOr<LogPosition> DecodeChunkKey(std::string_view key) {
  if (key.size() != kChunkKeySize || key[0] != kChunkTag) {
    return absl::DataLossError("event log: malformed chunk key of " + std::to_string(key.size()) + " bytes");
  }
  return LogPosition{DecodeFixed32Be(key.data() + 1), DecodeFixed64Be(key.data() + 5)};
}

// Appends the records of one chunk with offset >= from_offset to `out`, up
// to `max_records` in all. Returns the offset after the chunk's last record.
absl::StatusOr<uint64_t> DecodeChunk(LogPosition first, std::string_view value, uint32_t partition_count,
                                     uint64_t from_offset, size_t max_records, std::vector<StoredRecord>* out) {
  const auto corrupt = [&](std::string_view what) {
    return absl::DataLossError("event log: chunk at " + std::to_string(first.partition) + ":" +
                               std::to_string(first.offset) + ": " + std::string(what));
  };
  if (value.size() < 4) return corrupt("shorter than its header");
  const uint32_t count = DecodeFixed32Be(value.data());
  if (count == 0) return corrupt("empty");
  size_t pos = 4;
  for (uint32_t i = 0; i < count; ++i) {
    if (value.size() - pos < 8) return corrupt("record header truncated");
    const size_t key_size = DecodeFixed32Be(value.data() + pos);
    const size_t payload_size = DecodeFixed32Be(value.data() + pos + 4);
    pos += 8;
    if (value.size() - pos < key_size || value.size() - pos - key_size < payload_size) {
      return corrupt("record truncated");
    }
    const uint64_t offset = first.offset + i;
    if (offset >= from_offset && out->size() < max_records) {
      StoredRecord record;
      record.position = LogPosition{first.partition, offset};
      record.key.assign(value.substr(pos, key_size));
      record.payload.assign(value.substr(pos + key_size, payload_size));
      if (record.key.empty() || PartitionFor(record.key, partition_count) != first.partition) {
        return corrupt("record with a key of another partition");
      }
      out->push_back(std::move(record));
    }
    pos += key_size + payload_size;
  }
  if (pos != value.size()) return corrupt("trailing bytes");
  return first.offset + count;
}

// Builds the chunks of one group commit into a WriteBatch.
class ChunkWriter {
 public:
  ChunkWriter(rocksdb::WriteBatch* batch, const NextOffsets& end_offsets, size_t chunk_bytes_max)
      : batch_(batch),
        next_(end_offsets),
        chunk_bytes_max_(chunk_bytes_max),
        open_(end_offsets.size()),
        reserve_(end_offsets.size(), 0) {}

  // Bytes the records of `partition` will take, so chunks grow once.
  void Reserve(uint32_t partition, size_t bytes) {
    reserve_[partition] = std::min(bytes, chunk_bytes_max_) + 4;
  }

  // Adds a record to its partition's open chunk; returns its offset.
  uint64_t Add(uint32_t partition, const LogRecord& record) {
    Chunk& chunk = open_[partition];
    const size_t record_bytes = 8 + record.key.size() + record.payload.size();
    if (chunk.count > 0 && chunk.value.size() + record_bytes > chunk_bytes_max_) Flush(partition);
    if (chunk.count == 0) {
      chunk.first_offset = next_[partition];
      chunk.value.reserve(reserve_[partition]);
      chunk.value.assign(4, '\0');  // count, filled in by Flush
    }
    char header[8];
    EncodeFixed32Be(header, static_cast<uint32_t>(record.key.size()));
    EncodeFixed32Be(header + 4, static_cast<uint32_t>(record.payload.size()));
    chunk.value.append(header, sizeof(header));
    chunk.value.append(record.key);
    chunk.value.append(record.payload);
    ++chunk.count;
    return next_[partition]++;
  }

  // Puts every open chunk into the batch; returns the new end offsets.
  absl::StatusOr<NextOffsets> Finish() {
    for (uint32_t p = 0; p < open_.size(); ++p) {
      if (open_[p].count > 0) Flush(p);
    }
    RETURN_IF_ERROR(status_);
    return next_;
  }

 private:
  struct Chunk {
    uint64_t first_offset = 0;
    uint32_t count = 0;
    std::string value;
  };

  void Flush(uint32_t partition) {
    Chunk& chunk = open_[partition];
    EncodeFixed32Be(chunk.value.data(), chunk.count);
    char key[kChunkKeySize];
    key[0] = kChunkTag;
    EncodeFixed32Be(key + 1, partition);
    EncodeFixed64Be(key + 5, chunk.first_offset);
    const rocksdb::Status s = batch_->Put(rocksdb::Slice(key, sizeof(key)), AsSlice(chunk.value));
    if (!s.ok() && status_.ok()) status_ = FromRocks(s, "event log: building batch");
    chunk.count = 0;
    chunk.value.clear();
  }

  static void EncodeFixed32Be(char* out, uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  }
  static void EncodeFixed64Be(char* out, uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  }

  rocksdb::WriteBatch* const batch_;
  NextOffsets next_;
  const size_t chunk_bytes_max_;
  std::vector<Chunk> open_;
  std::vector<size_t> reserve_;
  absl::Status status_;
};

// Why these settings:
//  * kPointInTimeRecovery: after kill -9 the WAL may end in a torn record of
//    an unacknowledged write; recover up to the last whole batch instead of
//    refusing to open (kAbsoluteConsistency) or skipping over holes.
//  * No bloom filters: every read is a range scan from (partition, offset).
//  * 16 KiB blocks and dynamic level sizes: scans are sequential; data is
//    append-only, so keep write amplification and space overhead low.
//  * LZ4 when built in: cheap on encoded protobufs, never worse than off.
//  * Two background jobs: the machine this targets has few cores, and the
//    writer's latency is the WAL sync, not compaction.
//  * Memtable insert hints keyed by (tag, partition): chunks arrive in
//    order within a partition, so each insert lands right after the previous
//    one and skips most of the skiplist search. Hints need
//    allow_concurrent_memtable_write off; group commit already makes us a
//    single writer.
rocksdb::Options MakeRocksOptions(const RocksDbLogOptions& options, rocksdb::Env* env) {
  rocksdb::Options rocks;
  if (env != nullptr) rocks.env = env;
  rocks.create_if_missing = true;
  rocks.info_log = RocksDbInfoLog("event log");  // no LOG file: see rocksdb_info_log.h
  rocks.paranoid_checks = true;
  rocks.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  rocks.max_background_jobs = 2;
  rocks.level_compaction_dynamic_level_bytes = true;
  rocks.bytes_per_sync = 1 << 20;
  rocks.allow_concurrent_memtable_write = false;
  rocks.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1 + 4));
  rocks.compression = rocksdb::kNoCompression;
  for (rocksdb::CompressionType type : rocksdb::GetSupportedCompressions()) {
    if (type == rocksdb::kLZ4Compression) rocks.compression = rocksdb::kLZ4Compression;
  }
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 << 10;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocks.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return rocks;
}

// An Env over `fs`, or null (RocksDB's default Env, the real disk).
std::unique_ptr<rocksdb::Env> NewEnvOver(const std::shared_ptr<rocksdb::FileSystem>& fs) {
  return fs == nullptr ? nullptr : rocksdb::NewCompositeEnv(fs);
}

const rocksdb::Slice kMetaSlice(kMetaKey, sizeof(kMetaKey));

// Checks a stored meta value against the expected partition count; 0 adopts
// the stored count (read-only followers).
absl::Status CheckMeta(const std::string& value, uint32_t* partition_count) {
  if (value.size() != 8) return absl::DataLossError("event log: meta value has " + std::to_string(value.size()) + " bytes, want 8");
  const uint32_t version = DecodeFixed32Be(value.data());
  const uint32_t stored_count = DecodeFixed32Be(value.data() + 4);
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError("event log: format version " + std::to_string(version) +
                                         " is not the supported version " + std::to_string(kFormatVersion));
  }
  if (*partition_count == 0) {
    RETURN_IF_ERROR(ValidatePartitionCount(stored_count));
    *partition_count = stored_count;
  }
  if (stored_count != *partition_count) {
    return absl::FailedPreconditionError("event log was created with " + std::to_string(stored_count) +
                                         " partitions; refusing to open it with " + std::to_string(*partition_count) +
                                         " (the partition count is fixed at creation)");
  }
  return absl::OkStatus();
}

// Reads or writes the meta key; FAILED_PRECONDITION on a count mismatch.
absl::Status CheckOrWriteMeta(rocksdb::DB* db, uint32_t partition_count) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), kMetaSlice, &value);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) return absl::DataLossError("event log: records present but the meta key is missing");
    RETURN_IF_ERROR(FromRocks(it->status(), "event log: scanning a new database"));
    value.clear();
    PutFixed32Be(&value, kFormatVersion);
    PutFixed32Be(&value, partition_count);
    rocksdb::WriteOptions write;
    write.sync = true;
    return FromRocks(db->Put(write, kMetaSlice, value), "event log: writing meta");
  }
  RETURN_IF_ERROR(FromRocks(s, "event log: reading meta"));
  return CheckMeta(value, &partition_count);
}

// The next offset of each partition: one past the last record of its last chunk.
absl::StatusOr<NextOffsets> RecoverEndOffsets(rocksdb::DB* db, uint32_t partition_count) {
  NextOffsets end_offsets = NextOffsets::Zero(partition_count);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (uint32_t p = 0; p < partition_count; ++p) {
    it->SeekForPrev(AsSlice(ChunkKey(p, std::numeric_limits<uint64_t>::max())));
    if (it->Valid() && AsView(it->key()).starts_with(PartitionPrefix(p))) {
      ASSIGN_OR_RETURN(const LogPosition first, DecodeChunkKey(AsView(it->key())));
      std::vector<StoredRecord> ignored;
      ASSIGN_OR_RETURN(end_offsets[p], DecodeChunk(first, AsView(it->value()), partition_count,
                                                   std::numeric_limits<uint64_t>::max(), 0, &ignored));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "event log: recovering end offsets"));
  }
  // Nothing may lie beyond the last partition.
  it->Seek(AsSlice(PartitionPrefix(partition_count)));
  if (it->Valid()) return absl::DataLossError("event log: records found beyond the last partition");
  return end_offsets;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbLog>> RocksDbLog::Open(RocksDbLogOptions options) {
  if (options.path.empty()) return base::InvalidField("path", "must not be empty");
  if (options.mode == RocksDbLogMode::kSecondary) return OpenSecondary(std::move(options));
  RETURN_IF_ERROR(ValidatePartitionCount(options.partition_count));
  std::unique_ptr<rocksdb::Env> env = NewEnvOver(options.file_system);
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(MakeRocksOptions(options, env.get()), options.path, &raw),
                            "event log: opening " + options.path));
  std::unique_ptr<rocksdb::DB> db(raw);
  RETURN_IF_ERROR(CheckOrWriteMeta(db.get(), options.partition_count));
  ASSIGN_OR_RETURN(NextOffsets end_offsets, RecoverEndOffsets(db.get(), options.partition_count));
  return std::unique_ptr<RocksDbLog>(
      new RocksDbLog(std::move(options), std::move(env), std::move(db), std::move(end_offsets), ""));
}

// A secondary instance replays the writer's MANIFEST and WAL into its own
// memory; it takes no LOCK and writes only into its scratch directory.
absl::StatusOr<std::unique_ptr<RocksDbLog>> RocksDbLog::OpenSecondary(RocksDbLogOptions options) {
  if (options.partition_count != 0) RETURN_IF_ERROR(ValidatePartitionCount(options.partition_count));
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(options.path) / "CURRENT", ec)) {
    return absl::NotFoundError("event log: no log at " + options.path);
  }
  std::string owned_scratch;
  if (options.secondary_path.empty()) {
    std::string dir = (std::filesystem::temp_directory_path(ec) / "inventory-log-secondary-XXXXXX").string();
    if (ec || ::mkdtemp(dir.data()) == nullptr) {
      return absl::UnavailableError("event log: cannot create a scratch directory for the read-only instance");
    }
    owned_scratch = options.secondary_path = dir;
  }
  auto fail = [&](absl::Status status) {
    if (!owned_scratch.empty()) std::filesystem::remove_all(owned_scratch, ec);
    return status;
  };
  std::unique_ptr<rocksdb::Env> env = NewEnvOver(options.file_system);
  rocksdb::Options rocks = MakeRocksOptions(options, env.get());
  rocks.create_if_missing = false;
  rocks.max_open_files = -1;  // secondary instances keep every table file open
  rocksdb::DB* raw = nullptr;
  absl::Status opened = FromRocks(rocksdb::DB::OpenAsSecondary(rocks, options.path, options.secondary_path, &raw),
                                  "event log: opening " + options.path + " read-only");
  if (!opened.ok()) return fail(opened);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string meta;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), kMetaSlice, &meta);
  if (s.IsNotFound()) return fail(absl::FailedPreconditionError("event log at " + options.path + " has no meta key yet"));
  absl::Status checked = FromRocks(s, "event log: reading meta");
  if (checked.ok()) checked = CheckMeta(meta, &options.partition_count);
  if (!checked.ok()) return fail(checked);
  absl::StatusOr<NextOffsets> end_offsets = RecoverEndOffsets(db.get(), options.partition_count);
  if (!end_offsets.ok()) return fail(end_offsets.status());
  return std::unique_ptr<RocksDbLog>(
      new RocksDbLog(std::move(options), std::move(env), std::move(db), std::move(*end_offsets), std::move(owned_scratch)));
}

RocksDbLog::RocksDbLog(RocksDbLogOptions options, std::unique_ptr<rocksdb::Env> env, std::unique_ptr<rocksdb::DB> db,
                       NextOffsets end_offsets, std::string owned_scratch_dir)
    : options_(std::move(options)),
      env_(std::move(env)),
      db_(std::move(db)),
      owned_scratch_dir_(std::move(owned_scratch_dir)),
      group_commit_(options_.group_records_max, [this](GroupCommit::Batches b) { return CommitGroup(b); }),
      end_offsets_(std::move(end_offsets)) {}

RocksDbLog::~RocksDbLog() { Close().IgnoreError(); }

absl::Status RocksDbLog::Close() {
  if (closed_.exchange(true)) return absl::OkStatus();
  std::unique_lock db_lock(db_mu_);
  absl::Status status = db_ == nullptr ? absl::OkStatus() : FromRocks(db_->Close(), "event log: closing");
  db_.reset();
  if (!owned_scratch_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(owned_scratch_dir_, ec);
  }
  return status;
}

absl::StatusOr<std::vector<LogPosition>> RocksDbLog::Append(std::span<const LogRecord> records) {
  RETURN_IF_ERROR(ValidateBatch(records, options_.record_bytes_max, options_.batch_records_max));
  if (closed_.load()) return absl::FailedPreconditionError("event log is closed");
  if (options_.mode == RocksDbLogMode::kSecondary) {
    return absl::FailedPreconditionError("event log is open read-only (secondary); appends are refused");
  }
  if (records.empty()) return std::vector<LogPosition>();
  return group_commit_.Submit(records);
}

absl::StatusOr<std::vector<std::vector<LogPosition>>> RocksDbLog::CommitGroup(GroupCommit::Batches batches) {
  NextOffsets next;
  {
    std::lock_guard lock(mu_);
    if (!write_failure_.ok()) RETURN_IF_ERROR(ResumeAfterWriteFailure());
    next = end_offsets_;
  }
  rocksdb::WriteBatch batch;
  ChunkWriter chunks(&batch, next, options_.chunk_bytes_max);
  // Route every record once, and size each partition's chunk before filling it.
  std::vector<uint32_t> partitions;
  std::vector<size_t> bytes(options_.partition_count, 0);
  for (const auto& records : batches) {
    for (const LogRecord& record : records) {
      partitions.push_back(PartitionFor(record.key, options_.partition_count));
      bytes[partitions.back()] += 8 + record.key.size() + record.payload.size();
    }
  }
  for (uint32_t p = 0; p < options_.partition_count; ++p) {
    if (bytes[p] > 0) chunks.Reserve(p, bytes[p]);
  }
  std::vector<std::vector<LogPosition>> positions(batches.size());
  size_t routed = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    positions[b].reserve(batches[b].size());
    for (const LogRecord& record : batches[b]) {
      const uint32_t partition = partitions[routed++];
      positions[b].push_back(LogPosition{partition, chunks.Add(partition, record)});
    }
  }
  ASSIGN_OR_RETURN(next, chunks.Finish());
  rocksdb::WriteOptions write;
  write.sync = true;
  const rocksdb::Status s = db_->Write(write, &batch);  // db_ changes only in this (the leader's) thread
  {
    std::lock_guard lock(mu_);
    if (!s.ok()) {
      // Whether the batch reached the disk is unknown: refuse appends until
      // RocksDB resumes and the end offsets are read back from the database
      // (ResumeAfterWriteFailure).
      write_failure_ = FromRocks(s, "event log: synced write failed; appends are refused until the disk recovers");
      return write_failure_;
    }
    for (uint32_t p = 0; p < options_.partition_count; ++p) {
      INV_CHECK(next[p] >= end_offsets_[p]) << "end offset of partition " << p << " went backwards";
    }
    end_offsets_ = std::move(next);
  }
  signal_.Notify();
  return positions;
}

absl::Status RocksDbLog::ResumeAfterWriteFailure() {
  const auto not_recovered = [&](const absl::Status& why) {
    return absl::UnavailableError(
        absl::StrCat("event log: the disk has not recovered: ", why.message(), " (after: ", write_failure_.message(), ")"));
  };
  // RocksDB resumes after some failures itself; after a failed WAL write it
  // keeps refusing until reopened. Reopen only once a synced probe write
  // shows the disk works again; readers wait for the reopen (db_mu_).
  if (db_ == nullptr || !db_->Resume().ok()) {
    if (absl::Status probe = ProbeDisk(); !probe.ok()) return not_recovered(probe);
    std::unique_lock db_lock(db_mu_);
    if (db_ != nullptr) db_->Close().PermitUncheckedError();
    db_.reset();
    rocksdb::DB* raw = nullptr;
    rocksdb::Status opened = rocksdb::DB::Open(MakeRocksOptions(options_, env_.get()), options_.path, &raw);
    if (!opened.ok()) return not_recovered(FromRocks(opened, "reopening " + options_.path));
    db_.reset(raw);
  }
  ASSIGN_OR_RETURN(NextOffsets on_disk, RecoverEndOffsets(db_.get(), options_.partition_count));
  write_failure_ = absl::OkStatus();
  if (on_disk == end_offsets_) return absl::OkStatus();
  // The failed write is in the database after all: readers may see records
  // the appender was told failed, and an appender's own view is stale.
  for (uint32_t p = 0; p < options_.partition_count; ++p) {
    INV_CHECK(on_disk[p] >= end_offsets_[p]) << "end offset of partition " << p << " went backwards on resume";
  }
  end_offsets_ = std::move(on_disk);
  signal_.Notify();
  return absl::UnavailableError(
      "event log: a write reported as failed reached the disk after all; the log has moved on, retry");
}

absl::Status RocksDbLog::ProbeDisk() {
  rocksdb::FileSystem* fs = options_.file_system != nullptr ? options_.file_system.get()
                                                             : rocksdb::FileSystem::Default().get();
  const std::string probe = options_.path + "/DISK-PROBE";
  const rocksdb::IOOptions io;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::IOStatus s = fs->NewWritableFile(probe, rocksdb::FileOptions(), &file, nullptr);
  if (s.ok()) s = file->Append(rocksdb::Slice(std::string(4096, 'p')), io, nullptr);
  if (s.ok()) s = file->Sync(io, nullptr);
  if (file != nullptr) file->Close(io, nullptr).PermitUncheckedError();
  fs->DeleteFile(probe, io, nullptr).PermitUncheckedError();
  return FromRocks(s, "a synced probe write");
}

absl::StatusOr<std::vector<StoredRecord>> RocksDbLog::Read(uint32_t partition, uint64_t from_offset,
                                                           size_t max_records) {
  if (closed_.load()) return absl::FailedPreconditionError("event log is closed");
  if (partition >= options_.partition_count) {
    return base::InvalidField("partition", "no partition " + std::to_string(partition) + " in a log of " +
                                               std::to_string(options_.partition_count));
  }
  std::vector<StoredRecord> out;
  if (max_records == 0) return out;
  const std::string upper = PartitionPrefix(partition + 1);
  const rocksdb::Slice upper_slice = AsSlice(upper);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_slice;
  read.readahead_size = 256 << 10;  // sequential scans
  std::shared_lock db_lock(db_mu_);  // the iterator must not outlive a reopen
  if (db_ == nullptr) return absl::UnavailableError("event log: reopening after a failed write; retry");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  // Start at the chunk holding from_offset: the last one starting at or
  // before it, else the first one after it.
  it->SeekForPrev(AsSlice(ChunkKey(partition, from_offset)));
  if (!it->Valid() || !AsView(it->key()).starts_with(PartitionPrefix(partition))) {
    it->Seek(AsSlice(ChunkKey(partition, from_offset)));
  }
  uint64_t expected = 0;  // where the next chunk must start
  bool first_chunk = true;
  for (; it->Valid() && out.size() < max_records; it->Next()) {
    ASSIGN_OR_RETURN(const LogPosition first, DecodeChunkKey(AsView(it->key())));
    if (first.partition != partition || (!first_chunk && first.offset != expected)) {
      return absl::DataLossError("event log: chunk at " + std::to_string(first.partition) + ":" +
                                 std::to_string(first.offset) + " does not follow offset " + std::to_string(expected));
    }
    ASSIGN_OR_RETURN(expected, DecodeChunk(first, AsView(it->value()), options_.partition_count, from_offset,
                                           max_records, &out));
    first_chunk = false;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "event log: reading partition " + std::to_string(partition)));
  return out;
}

absl::StatusOr<NextOffsets> RocksDbLog::EndOffsets() {
  if (closed_.load()) return absl::FailedPreconditionError("event log is closed");
  std::lock_guard lock(mu_);
  if (options_.mode == RocksDbLogMode::kSecondary) {
    RETURN_IF_ERROR(FromRocks(db_->TryCatchUpWithPrimary(), "event log: catching up with the writer"));
    ASSIGN_OR_RETURN(NextOffsets caught_up, RecoverEndOffsets(db_.get(), options_.partition_count));
    for (uint32_t p = 0; p < options_.partition_count; ++p) {
      if (caught_up[p] < end_offsets_[p]) {
        return absl::DataLossError("event log: end offset of partition " + std::to_string(p) + " went back from " +
                                   std::to_string(end_offsets_[p]) + " to " + std::to_string(caught_up[p]));
      }
    }
    end_offsets_ = std::move(caught_up);
  }
  return end_offsets_;
}

std::unique_ptr<LogTail> RocksDbLog::Tail(NextOffsets start_offsets, TailOptions options) {
  return std::make_unique<PollingTail>(this, &signal_, std::move(start_offsets), options);
}

}  // namespace eventlog
