// One contract, every backend: the tests below run against the in-memory log,
// the RocksDB log (in a temporary directory) and the Kafka log (against a
// librdkafka mock cluster started in this process, on loopback).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "base/check.h"
#include "base/testing/temp_dir.h"
#include "eventlog/event_log.h"
#include "eventlog/kafka_log.h"
#include "eventlog/memory_log.h"
#include "eventlog/rocksdb_log.h"
#include "eventlog/testing/mock_kafka_cluster.h"

namespace eventlog {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kPartitions = 4;
constexpr size_t kRecordBytesMax = 1 << 20;

enum class BackendKind { kMemory, kRocksDb, kKafka };

std::string KindName(BackendKind kind) {
  switch (kind) {
    case BackendKind::kMemory: return "Memory";
    case BackendKind::kRocksDb: return "RocksDb";
    case BackendKind::kKafka: return "KafkaMock";
  }
  return "Unknown";
}

// Opens (and reopens) one log of one backend.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual absl::StatusOr<std::unique_ptr<EventLog>> Open(uint32_t partition_count) = 0;
};

class MemoryBackend final : public Backend {
 public:
  absl::StatusOr<std::unique_ptr<EventLog>> Open(uint32_t partition_count) override {
    MemoryLogOptions options;
    options.partition_count = partition_count;
    options.record_bytes_max = kRecordBytesMax;
    absl::StatusOr<std::unique_ptr<MemoryLog>> log = MemoryLog::Open(options, storage_);
    if (!log.ok()) return log.status();
    storage_ = (*log)->storage();
    return std::unique_ptr<EventLog>(std::move(*log));
  }

 private:
  std::shared_ptr<MemoryLogStorage> storage_;
};

class RocksDbBackend final : public Backend {
 public:
  absl::StatusOr<std::unique_ptr<EventLog>> Open(uint32_t partition_count) override {
    RocksDbLogOptions options;
    options.path = dir_.path() + "/log";
    options.partition_count = partition_count;
    options.record_bytes_max = kRecordBytesMax;
    absl::StatusOr<std::unique_ptr<RocksDbLog>> log = RocksDbLog::Open(options);
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(std::move(*log));
  }

 private:
  base::TempDir dir_{"event_log_test"};
};

// One mock cluster for the whole test binary (destroying one can take a
// second); every test gets a topic of its own.
MockKafkaCluster& SharedCluster() {
  static MockKafkaCluster cluster;
  return cluster;
}

class KafkaMockBackend final : public Backend {
 public:
  KafkaMockBackend() {
    static int topics = 0;
    topic_ = "inventory.events." + std::to_string(++topics);
    EXPECT_EQ(rd_kafka_mock_topic_create(SharedCluster().get(), topic_.c_str(), static_cast<int>(kPartitions), 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  absl::StatusOr<std::unique_ptr<EventLog>> Open(uint32_t partition_count) override {
    KafkaLogOptions options;
    options.bootstrap_servers = rd_kafka_mock_cluster_bootstraps(SharedCluster().get());
    options.topic = topic_;
    options.partition_count = partition_count;
    options.record_bytes_max = kRecordBytesMax;
    options.request_timeout_ms = std::chrono::milliseconds(5000);
    absl::StatusOr<std::unique_ptr<KafkaLog>> log = KafkaLog::Open(options);
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(std::move(*log));
  }

 private:
  std::string topic_;
};

std::unique_ptr<Backend> MakeBackend(BackendKind kind) {
  switch (kind) {
    case BackendKind::kMemory: return std::make_unique<MemoryBackend>();
    case BackendKind::kRocksDb: return std::make_unique<RocksDbBackend>();
    case BackendKind::kKafka: return std::make_unique<KafkaMockBackend>();
  }
  return nullptr;
}

// Keys spread over every partition: sku-0, sku-1, ...
std::string Sku(int i) { return "sku-" + std::to_string(i); }

// A key that lands in `partition`.
std::string SkuIn(uint32_t partition, int nth = 0) {
  for (int i = 0;; ++i) {
    if (PartitionFor(Sku(i), kPartitions) == partition && nth-- == 0) return Sku(i);
  }
}

class EventLogConformanceTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    backend_ = MakeBackend(GetParam());
    absl::StatusOr<std::unique_ptr<EventLog>> log = backend_->Open(kPartitions);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  void TearDown() override {
    if (log_ != nullptr) {
      EXPECT_TRUE(log_->Close().ok());
    }
    log_.reset();
    backend_.reset();
  }

  void Reopen() {
    ASSERT_TRUE(log_->Close().ok());
    log_.reset();
    absl::StatusOr<std::unique_ptr<EventLog>> log = backend_->Open(kPartitions);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  // Every record of every partition, partition by partition.
  std::vector<StoredRecord> ReadAll() {
    std::vector<StoredRecord> all;
    for (uint32_t p = 0; p < kPartitions; ++p) {
      uint64_t from = 0;
      while (true) {
        absl::StatusOr<std::vector<StoredRecord>> records = log_->Read(p, from, 7);
        EXPECT_TRUE(records.ok()) << records.status();
        if (!records.ok() || records->empty()) break;
        from = records->back().position.offset + 1;
        all.insert(all.end(), records->begin(), records->end());
      }
    }
    return all;
  }

  std::vector<LogPosition> MustAppend(std::vector<LogRecord> records) {
    absl::StatusOr<std::vector<LogPosition>> positions = log_->Append(records);
    EXPECT_TRUE(positions.ok()) << positions.status();
    return positions.ok() ? *positions : std::vector<LogPosition>();
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<EventLog> log_;
};

TEST(PartitionForTest, IsStableFnv1a) {
  // Pinned values: changing the hash would move every SKU to another partition.
  EXPECT_EQ(PartitionFor("", 1000), 14695981039346656037ULL % 1000);
  EXPECT_EQ(PartitionFor("a", 1u << 31), 0xaf63dc4c8601ec8cULL % (1u << 31));
  EXPECT_EQ(PartitionFor("sku-1", 1), 0u);
  std::set<uint32_t> seen;
  for (int i = 0; i < 100; ++i) seen.insert(PartitionFor(Sku(i), kPartitions));
  EXPECT_EQ(seen.size(), kPartitions);
}

TEST_P(EventLogConformanceTest, AppendRoutesByKeyAndReadsBack) {
  std::vector<LogRecord> batch;
  for (int i = 0; i < 12; ++i) batch.push_back({Sku(i), "payload-" + std::to_string(i)});
  std::vector<LogPosition> positions = MustAppend(batch);
  ASSERT_EQ(positions.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(positions[i].partition, PartitionFor(batch[i].key, kPartitions));
  }
  std::vector<StoredRecord> all = ReadAll();
  ASSERT_EQ(all.size(), batch.size());
  for (const StoredRecord& record : all) {
    auto it = std::find(positions.begin(), positions.end(), record.position);
    ASSERT_NE(it, positions.end()) << record.position;
    const size_t i = static_cast<size_t>(it - positions.begin());
    EXPECT_EQ(record.key, batch[i].key);
    EXPECT_EQ(record.payload, batch[i].payload);
  }
}

TEST_P(EventLogConformanceTest, MultiPartitionBatchKeepsInputOrderWithinEachPartition) {
  std::vector<LogRecord> batch;
  for (int round = 0; round < 3; ++round) {
    for (uint32_t p = 0; p < kPartitions; ++p) batch.push_back({SkuIn(p, round), "r" + std::to_string(round)});
  }
  std::vector<LogPosition> first = MustAppend(batch);
  std::vector<LogPosition> second = MustAppend(batch);
  ASSERT_EQ(first.size(), batch.size());
  ASSERT_EQ(second.size(), batch.size());
  std::map<uint32_t, uint64_t> last;
  for (const std::vector<LogPosition>* positions : {&first, &second}) {
    for (const LogPosition& position : *positions) {
      if (last.contains(position.partition)) {
        EXPECT_GT(position.offset, last[position.partition]) << position;
      }
      last[position.partition] = position.offset;
    }
  }
  for (uint32_t p = 0; p < kPartitions; ++p) {
    absl::StatusOr<std::vector<StoredRecord>> records = log_->Read(p, 0, 100);
    ASSERT_TRUE(records.ok()) << records.status();
    ASSERT_EQ(records->size(), 6u);
    for (size_t i = 0; i < records->size(); ++i) {
      EXPECT_EQ((*records)[i].payload, "r" + std::to_string(i % 3));
      if (i > 0) {
        EXPECT_GT((*records)[i].position.offset, (*records)[i - 1].position.offset);
      }
    }
  }
}

TEST_P(EventLogConformanceTest, ReadsFromArbitraryPositions) {
  const std::string key = SkuIn(1);
  std::vector<LogPosition> positions;
  for (int i = 0; i < 20; ++i) {
    std::vector<LogPosition> one = MustAppend({{key, std::to_string(i)}});
    ASSERT_EQ(one.size(), 1u);
    positions.push_back(one[0]);
  }
  for (size_t i = 0; i < positions.size(); ++i) {
    absl::StatusOr<std::vector<StoredRecord>> records = log_->Read(1, positions[i].offset, 3);
    ASSERT_TRUE(records.ok()) << records.status();
    ASSERT_EQ(records->size(), std::min<size_t>(3, positions.size() - i));
    for (size_t j = 0; j < records->size(); ++j) {
      EXPECT_EQ((*records)[j].position, positions[i + j]);
      EXPECT_EQ((*records)[j].payload, std::to_string(i + j));
    }
    // One past a record's offset continues with the next record, gaps or not.
    absl::StatusOr<std::vector<StoredRecord>> after = log_->Read(1, positions[i].offset + 1, 1);
    ASSERT_TRUE(after.ok()) << after.status();
    if (i + 1 < positions.size()) {
      ASSERT_EQ(after->size(), 1u);
      EXPECT_EQ(after->front().position, positions[i + 1]);
    } else {
      EXPECT_TRUE(after->empty());
    }
  }
  absl::StatusOr<NextOffsets> end = log_->EndOffsets();
  ASSERT_TRUE(end.ok()) << end.status();
  ASSERT_EQ(end->size(), kPartitions);
  EXPECT_GT((*end)[1], positions.back().offset);
  EXPECT_EQ((*end)[0], 0u);
  absl::StatusOr<std::vector<StoredRecord>> at_end = log_->Read(1, (*end)[1], 10);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->empty());
  absl::StatusOr<std::vector<StoredRecord>> none = log_->Read(1, 0, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(log_->Read(kPartitions, 0, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(EventLogConformanceTest, TailWakesOnAppendAndHonoursItsBound) {
  absl::StatusOr<NextOffsets> start = log_->EndOffsets();
  ASSERT_TRUE(start.ok()) << start.status();
  TailOptions options;
  options.buffer_records_max = 3;
  options.poll_interval_ms = std::chrono::milliseconds(60000);  // only an append may wake it
  std::unique_ptr<LogTail> tail = log_->Tail(*start, options);

  absl::StatusOr<std::vector<StoredRecord>> idle = tail->Next(std::chrono::milliseconds(20));
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_TRUE(idle->empty());

  std::thread writer([&] { MustAppend({{Sku(7), "woken"}}); });
  const auto before = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<StoredRecord>> woken = tail->Next(std::chrono::milliseconds(20000));
  const auto waited = std::chrono::steady_clock::now() - before;
  writer.join();
  ASSERT_TRUE(woken.ok()) << woken.status();
  ASSERT_EQ(woken->size(), 1u);
  EXPECT_EQ(woken->front().payload, "woken");
  EXPECT_LT(waited, std::chrono::seconds(10));

  std::vector<LogRecord> ten;
  for (int i = 0; i < 10; ++i) ten.push_back({Sku(i), "t" + std::to_string(i)});
  MustAppend(ten);
  size_t received = 0;
  while (received < ten.size()) {
    absl::StatusOr<std::vector<StoredRecord>> next = tail->Next(std::chrono::milliseconds(5000));
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_FALSE(next->empty()) << "tail stalled after " << received;
    EXPECT_LE(next->size(), options.buffer_records_max);
    received += next->size();
  }
  EXPECT_EQ(received, ten.size());
  absl::StatusOr<NextOffsets> end = log_->EndOffsets();
  ASSERT_TRUE(end.ok());
  NextOffsets tail_at = tail->next_offsets();
  for (uint32_t p = 0; p < kPartitions; ++p) {
    EXPECT_LE(tail_at[p], (*end)[p]);
  }
}

TEST_P(EventLogConformanceTest, ReopenSeesEverything) {
  std::vector<LogRecord> batch;
  for (int i = 0; i < 9; ++i) batch.push_back({Sku(i), "before-" + std::to_string(i)});
  std::vector<LogPosition> before = MustAppend(batch);
  absl::StatusOr<NextOffsets> end_before = log_->EndOffsets();
  ASSERT_TRUE(end_before.ok());
  Reopen();
  std::vector<StoredRecord> all = ReadAll();
  ASSERT_EQ(all.size(), batch.size());
  absl::StatusOr<NextOffsets> end_after = log_->EndOffsets();
  ASSERT_TRUE(end_after.ok());
  for (uint32_t p = 0; p < kPartitions; ++p) {
    EXPECT_GE((*end_after)[p], (*end_before)[p]);
  }
  std::vector<LogPosition> after = MustAppend(batch);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].partition, before[i].partition);
    EXPECT_GT(after[i].offset, before[i].offset);
  }
  EXPECT_EQ(ReadAll().size(), 2 * batch.size());
}

TEST_P(EventLogConformanceTest, PartitionCountMismatchIsRefused) {
  MustAppend({{Sku(1), "x"}});
  ASSERT_TRUE(log_->Close().ok());
  log_.reset();
  absl::StatusOr<std::unique_ptr<EventLog>> other = backend_->Open(kPartitions * 2);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition) << other.status();
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("partitions"));
  // The log is untouched and still opens with its own count.
  absl::StatusOr<std::unique_ptr<EventLog>> same = backend_->Open(kPartitions);
  ASSERT_TRUE(same.ok()) << same.status();
  log_ = std::move(*same);
  EXPECT_EQ(ReadAll().size(), 1u);
}

TEST_P(EventLogConformanceTest, OversizeRecordIsRefusedAndNothingAppended) {
  std::vector<LogRecord> batch = {{Sku(1), "small"}, {Sku(2), std::string(kRecordBytesMax, 'x')}};
  absl::StatusOr<std::vector<LogPosition>> refused = log_->Append(batch);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("record_bytes_max"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("records[1]"));
  EXPECT_TRUE(ReadAll().empty());
  absl::StatusOr<NextOffsets> end = log_->EndOffsets();
  ASSERT_TRUE(end.ok());
  for (uint64_t offset : *end) {
    EXPECT_EQ(offset, 0u);
  }

  // Exactly at the limit is fine.
  const std::string key = Sku(2);
  std::vector<LogRecord> at_limit = {{key, std::string(kRecordBytesMax - key.size(), 'y')}};
  ASSERT_EQ(MustAppend(at_limit).size(), 1u);
  std::vector<StoredRecord> all = ReadAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].payload.size(), kRecordBytesMax - key.size());
}

TEST_P(EventLogConformanceTest, EmptyKeyAndOverlongBatchAreRefused) {
  EXPECT_EQ(log_->Append(std::vector<LogRecord>{{"", "x"}}).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<LogRecord> huge(10001, LogRecord{"k", "v"});
  absl::StatusOr<std::vector<LogPosition>> refused = log_->Append(huge);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("batch_records_max"));
  EXPECT_TRUE(ReadAll().empty());
  absl::StatusOr<std::vector<LogPosition>> empty = log_->Append({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_P(EventLogConformanceTest, ConcurrentAppendersGetDistinctIncreasingPositions) {
  constexpr int kThreads = 4;
  constexpr int kAppends = 25;
  std::vector<std::vector<std::vector<LogPosition>>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int a = 0; a < kAppends; ++a) {
        std::vector<LogRecord> batch;
        for (int r = 0; r < 3; ++r) {
          batch.push_back({Sku((t * 7 + a * 3 + r) % 16), std::to_string(t) + "/" + std::to_string(a) + "/" +
                                                              std::to_string(r)});
        }
        absl::StatusOr<std::vector<LogPosition>> positions = log_->Append(batch);
        ASSERT_TRUE(positions.ok()) << positions.status();
        results[t].push_back(*positions);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::map<LogPosition, std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(results[t].size(), static_cast<size_t>(kAppends));
    std::map<uint32_t, uint64_t> last;  // per thread: its own appends come in order
    for (int a = 0; a < kAppends; ++a) {
      for (int r = 0; r < 3; ++r) {
        const LogPosition position = results[t][a][r];
        if (last.contains(position.partition)) {
          EXPECT_GT(position.offset, last[position.partition]);
        }
        last[position.partition] = position.offset;
        const bool inserted =
            expected.emplace(position, std::to_string(t) + "/" + std::to_string(a) + "/" + std::to_string(r)).second;
        EXPECT_TRUE(inserted) << "position handed out twice: " << position;
      }
    }
  }
  std::vector<StoredRecord> all = ReadAll();
  ASSERT_EQ(all.size(), expected.size());
  for (const StoredRecord& record : all) {
    EXPECT_EQ(record.payload, expected[record.position]) << record.position;
  }
}

TEST_P(EventLogConformanceTest, ReadersNeverSeeHalfABatch) {
  if (GetParam() == BackendKind::kKafka) {
    GTEST_SKIP() << "the mock cluster does not enforce read_committed: produced records are visible "
                    "before their transaction commits (docs/event-log.md)";
  }
  // Each batch writes the same id to partition 0 and then partition 3. A
  // reader that scans partition 3 AFTER partition 0 must find every id it saw
  // in partition 0, because a batch becomes visible all at once.
  const std::string key0 = SkuIn(0);
  const std::string key3 = SkuIn(3);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) MustAppend({{key0, std::to_string(i)}, {key3, std::to_string(i)}});
    done = true;
  });
  int scans = 0;
  while (!done.load() || scans == 0) {
    absl::StatusOr<std::vector<StoredRecord>> p0 = log_->Read(0, 0, 1000);
    absl::StatusOr<std::vector<StoredRecord>> p3 = log_->Read(3, 0, 1000);
    ASSERT_TRUE(p0.ok() && p3.ok());
    ASSERT_LE(p0->size(), p3->size()) << "a batch was visible in partition 0 but not in partition 3";
    for (size_t i = 0; i < p0->size(); ++i) {
      EXPECT_EQ((*p0)[i].payload, (*p3)[i].payload);
    }
    ++scans;
  }
  writer.join();
  EXPECT_EQ(ReadAll().size(), 400u);
}

TEST_P(EventLogConformanceTest, ClosedLogRefusesCalls) {
  ASSERT_TRUE(log_->Close().ok());
  EXPECT_TRUE(log_->Close().ok());  // idempotent
  EXPECT_EQ(log_->Append(std::vector<LogRecord>{{"k", "v"}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log_->Read(0, 0, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log_->EndOffsets().status().code(), absl::StatusCode::kFailedPrecondition);
}

// Backend-specific behaviour outside the shared contract.

TEST(MemoryLogTest, OffsetGapsCanBeTurnedOff) {
  MemoryLogOptions options;
  options.partition_count = 1;
  options.offset_gaps = OffsetGaps::kNone;
  absl::StatusOr<std::unique_ptr<MemoryLog>> log = MemoryLog::Open(options);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(std::vector<LogRecord>{{"a", "1"}, {"b", "2"}}).ok());
  absl::StatusOr<std::vector<LogPosition>> next = (*log)->Append(std::vector<LogRecord>{{"c", "3"}});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->front(), (LogPosition{0, 2}));

  options.offset_gaps = OffsetGaps::kAfterEachBatch;
  absl::StatusOr<std::unique_ptr<MemoryLog>> gappy = MemoryLog::Open(options);
  ASSERT_TRUE(gappy.ok());
  ASSERT_TRUE((*gappy)->Append(std::vector<LogRecord>{{"a", "1"}, {"b", "2"}}).ok());
  next = (*gappy)->Append(std::vector<LogRecord>{{"c", "3"}});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->front(), (LogPosition{0, 3}));
}

// The read-only follower inventoryctl uses beside a live writer.
TEST(RocksDbLogTest, SecondaryFollowsALiveWriterAndNeverWrites) {
  const base::TempDir dir("rocksdb-secondary");
  RocksDbLogOptions options;
  options.path = dir.path() + "/log";
  options.partition_count = kPartitions;
  RocksDbLogOptions follower_options = options;
  follower_options.mode = RocksDbLogMode::kSecondary;
  follower_options.partition_count = 0;  // adopt the recorded count
  EXPECT_EQ(RocksDbLog::Open(follower_options).status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<std::unique_ptr<RocksDbLog>> writer = RocksDbLog::Open(options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append(std::vector<LogRecord>{{"a", "1"}}).ok());
  absl::StatusOr<std::unique_ptr<RocksDbLog>> follower = RocksDbLog::Open(follower_options);
  ASSERT_TRUE(follower.ok()) << follower.status() << " (the writer holds the LOCK)";
  EXPECT_EQ((*follower)->partition_count(), kPartitions);
  const uint32_t pa = PartitionFor("a", kPartitions);
  ASSERT_TRUE((*writer)->Append(std::vector<LogRecord>{{"a", "2"}}).ok());
  absl::StatusOr<NextOffsets> end = (*follower)->EndOffsets();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ((*end)[pa], 2u) << "EndOffsets catches up with the writer";
  absl::StatusOr<std::vector<StoredRecord>> read = (*follower)->Read(pa, 0, 10);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].payload, "2");
  absl::Status refused = (*follower)->Append(std::vector<LogRecord>{{"a", "3"}}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("read-only"));

  follower_options.partition_count = kPartitions + 1;
  EXPECT_EQ(RocksDbLog::Open(follower_options).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*follower)->Close().ok());
  ASSERT_TRUE((*writer)->Close().ok());
}

KafkaLogOptions MockOptions(const std::string& topic) {
  KafkaLogOptions options;
  options.bootstrap_servers = rd_kafka_mock_cluster_bootstraps(SharedCluster().get());
  options.topic = topic;
  options.partition_count = kPartitions;
  options.request_timeout_ms = std::chrono::milliseconds(5000);
  return options;
}

TEST(KafkaLogTest, MissingTopicIsRefused) {
  absl::StatusOr<std::unique_ptr<KafkaLog>> log = KafkaLog::Open(MockOptions("no.such.topic"));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("does not exist"));
}

TEST(KafkaLogTest, ReadOnlyRoleReadsButRefusesAppends) {
  ASSERT_EQ(rd_kafka_mock_topic_create(SharedCluster().get(), "read.only", static_cast<int>(kPartitions), 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  absl::StatusOr<std::unique_ptr<KafkaLog>> writer = KafkaLog::Open(MockOptions("read.only"));
  ASSERT_TRUE(writer.ok()) << writer.status();
  KafkaLogOptions reader_options = MockOptions("read.only");
  reader_options.role = KafkaLogRole::kReadOnly;
  absl::StatusOr<std::unique_ptr<KafkaLog>> reader = KafkaLog::Open(reader_options);
  ASSERT_TRUE(reader.ok()) << reader.status();

  absl::StatusOr<std::vector<LogPosition>> written = (*writer)->Append(std::vector<LogRecord>{{SkuIn(2), "hello"}});
  ASSERT_TRUE(written.ok()) << written.status();
  // The writer is not fenced by the reader, and the reader sees its record.
  ASSERT_TRUE((*writer)->Append(std::vector<LogRecord>{{SkuIn(2), "again"}}).ok());
  absl::StatusOr<std::vector<StoredRecord>> read = (*reader)->Read(2, 0, 10);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ(read->front().payload, "hello");
  EXPECT_EQ((*reader)->Append(std::vector<LogRecord>{{"k", "v"}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(KafkaLogTest, BrokerDownIsUnavailable) {
  ASSERT_EQ(rd_kafka_mock_topic_create(SharedCluster().get(), "broker.down", static_cast<int>(kPartitions), 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  KafkaLogOptions options = MockOptions("broker.down");
  options.transactional_id = "broker-down-writer";
  options.request_timeout_ms = std::chrono::milliseconds(1000);
  options.retries_max = 1;
  absl::StatusOr<std::unique_ptr<KafkaLog>> log = KafkaLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(rd_kafka_mock_broker_set_down(SharedCluster().get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  absl::StatusOr<std::vector<LogPosition>> refused = (*log)->Append(std::vector<LogRecord>{{"k", "v"}});
  ASSERT_EQ(rd_kafka_mock_broker_set_up(SharedCluster().get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("kafka log"));
}

// What a real broker answers a writer whose transactional id a newer
// producer took (the mock does not fence by itself; we make it answer as a
// fencing coordinator would). The log must say so, FAILED_PRECONDITION
// naming the cause, and refuse every later append the same way: the
// writer above it (command-api/writer.h) then stops for good.
// Kafka protocol API keys (librdkafka's rdkafka_protocol.h is not installed).
constexpr int16_t kApiProduce = 0;
constexpr int16_t kApiEndTxn = 26;

// `api_key`: the request the broker first refuses; EndTxn (commit or abort)
// is refused too, as a coordinator refuses every request of the old epoch.
void ExpectFencedForGood(const std::string& topic, int16_t api_key) {
  ASSERT_EQ(rd_kafka_mock_topic_create(SharedCluster().get(), topic.c_str(), static_cast<int>(kPartitions), 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  KafkaLogOptions options = MockOptions(topic);
  options.transactional_id = topic + "-writer";
  absl::StatusOr<std::unique_ptr<KafkaLog>> log = KafkaLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->Append(std::vector<LogRecord>{{SkuIn(1), "before"}}).ok());
  rd_kafka_mock_push_request_errors(SharedCluster().get(), api_key, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
  if (api_key != kApiEndTxn) {
    rd_kafka_mock_push_request_errors(SharedCluster().get(), kApiEndTxn, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
  }
  absl::StatusOr<std::vector<LogPosition>> fenced = (*log)->Append(std::vector<LogRecord>{{SkuIn(1), "fenced"}});
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.status().code(), absl::StatusCode::kFailedPrecondition) << fenced.status();
  EXPECT_THAT(std::string(fenced.status().message()), HasSubstr("fenced by another writer")) << fenced.status();
  // The broker would take this one; the producer is finished all the same.
  absl::StatusOr<std::vector<LogPosition>> later = (*log)->Append(std::vector<LogRecord>{{SkuIn(1), "later"}});
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), absl::StatusCode::kFailedPrecondition) << later.status();
  EXPECT_THAT(std::string(later.status().message()), HasSubstr("fenced by another writer")) << later.status();
  // Reads still work: a fenced writer can still be a reader.
  EXPECT_TRUE((*log)->EndOffsets().ok());
}

TEST(KafkaLogTest, FencedAtCommitIsFailedPreconditionForGood) {
  ExpectFencedForGood("fenced.at.commit", kApiEndTxn);
}

TEST(KafkaLogTest, FencedAtProduceIsFailedPreconditionForGood) {
  ExpectFencedForGood("fenced.at.produce", kApiProduce);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, EventLogConformanceTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kRocksDb, BackendKind::kKafka),
                         [](const ::testing::TestParamInfo<BackendKind>& param_info) { return KindName(param_info.param); });

}  // namespace
}  // namespace eventlog
