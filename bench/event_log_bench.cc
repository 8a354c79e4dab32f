// Event log throughput: synced appends in batches of 1, 10, 100 and 1000
// events (~100-byte payloads), and sequential reads, for the embedded RocksDB
// log and the Kafka log against librdkafka's in-process mock cluster.
//
// Targets for the embedded log: >= 500k events/s appended in synced batches
// of 1000, >= 1M events/s read. The Kafka figures measure our client path
// over loopback to an in-memory mock, not a real broker.
//
//   event_log_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "eventlog/kafka_log.h"
#include "eventlog/testing/mock_kafka_cluster.h"
#include "eventlog/rocksdb_log.h"

namespace {

constexpr uint32_t kPartitions = 8;
constexpr size_t kPayloadBytes = 100;
constexpr size_t kReadEvents = 200'000;     // events in the read benchmarks' logs
constexpr size_t kKafkaReadEvents = 40'000;  // the mock keeps ~5 MB per partition

std::vector<eventlog::LogRecord> MakeBatch(size_t size, size_t salt) {
  std::vector<eventlog::LogRecord> batch;
  batch.reserve(size);
  for (size_t i = 0; i < size; ++i) {
    std::string payload(kPayloadBytes, 'e');
    const std::string tag = std::to_string(salt) + "/" + std::to_string(i);
    payload.replace(0, tag.size(), tag);
    batch.push_back({"sku-" + std::to_string((salt * 7919 + i) % 10000), std::move(payload)});
  }
  return batch;
}

// A RocksDB log in a fresh temporary directory, removed at exit.
class TempRocksDbLog {
 public:
  TempRocksDbLog() {
    std::string dir = (std::filesystem::temp_directory_path() / "event_log_bench.XXXXXX").string();
    INV_CHECK(mkdtemp(dir.data()) != nullptr);
    dir_ = dir;
    eventlog::RocksDbLogOptions options;
    options.path = dir_ + "/log";
    options.partition_count = kPartitions;
    absl::StatusOr<std::unique_ptr<eventlog::RocksDbLog>> log = eventlog::RocksDbLog::Open(options);
    INV_CHECK(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  ~TempRocksDbLog() {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  eventlog::EventLog* get() { return log_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<eventlog::RocksDbLog> log_;
};

// librdkafka 2.0.2's mock brokers do not set TCP_NODELAY on accepted
// sockets, so a response written while the previous one is unacknowledged
// waits for the client's delayed ACK (40 ms on Linux): every transaction that
// touches more than one partition stalls. A real broker sets TCP_NODELAY. The
// mock lives in this process, so set it on every TCP socket we hold; the
// client connections are long-lived, so once after connecting suffices.
void SetNoDelayOnAllTcpSockets() {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  while (dirent* entry = readdir(fds)) {
    const int fd = std::atoi(entry->d_name);
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_INET) continue;
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  }
  closedir(fds);
}

// The mock cluster and a Kafka log on a topic of its own.
class MockKafkaLog {
 public:
  explicit MockKafkaLog(const std::string& topic) {
    cluster_.CreateTopic(topic, kPartitions);
    eventlog::KafkaLogOptions options;
    options.bootstrap_servers = cluster_.bootstraps();
    options.topic = topic;
    options.partition_count = kPartitions;
    options.transactional_id = "bench-" + topic;
    absl::StatusOr<std::unique_ptr<eventlog::KafkaLog>> log = eventlog::KafkaLog::Open(options);
    INV_CHECK(log.ok()) << log.status();
    log_ = std::move(*log);
    // Touch every partition so that all connections exist, then fix them.
    std::vector<eventlog::LogRecord> warmup;
    for (int i = 0; i < 64; ++i) warmup.push_back({"warmup-" + std::to_string(i), "w"});
    INV_CHECK(log_->Append(warmup).ok());
    INV_CHECK(log_->Read(0, 0, 1).ok());
    SetNoDelayOnAllTcpSockets();
  }
  ~MockKafkaLog() { log_.reset(); }  // the log before its cluster
  eventlog::EventLog* get() { return log_.get(); }

 private:
  eventlog::MockKafkaCluster cluster_;
  std::unique_ptr<eventlog::KafkaLog> log_;
};

eventlog::EventLog* RocksAppendLog() {
  static TempRocksDbLog log;
  return log.get();
}
eventlog::EventLog* KafkaAppendLog() {
  static MockKafkaLog log("bench.append");
  return log.get();
}

void Fill(eventlog::EventLog* log, size_t events) {
  for (size_t done = 0; done < events; done += 1000) {
    absl::StatusOr<std::vector<eventlog::LogPosition>> positions = log->Append(MakeBatch(1000, done));
    INV_CHECK(positions.ok()) << positions.status();
  }
}

eventlog::EventLog* RocksReadLog() {
  static TempRocksDbLog log;
  static const bool filled = (Fill(log.get(), kReadEvents), true);
  (void)filled;
  return log.get();
}
eventlog::EventLog* KafkaReadLog() {
  static MockKafkaLog log("bench.read");
  static const bool filled = (Fill(log.get(), kKafkaReadEvents), true);
  (void)filled;
  return log.get();
}

void RunAppend(benchmark::State& state, eventlog::EventLog* log) {
  const size_t batch_size = static_cast<size_t>(state.range(0));
  // A few distinct batches, built before timing.
  std::vector<std::vector<eventlog::LogRecord>> batches;
  for (size_t i = 0; i < 8; ++i) batches.push_back(MakeBatch(batch_size, i + 100 * static_cast<size_t>(state.thread_index())));
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<eventlog::LogPosition>> positions = log->Append(batches[i++ % batches.size()]);
    if (!positions.ok()) {
      state.SkipWithError(std::string(positions.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(positions->data());
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch_size), benchmark::Counter::kIsRate);
}

// One iteration reads the whole log, partition by partition, 4096 at a time.
void RunRead(benchmark::State& state, eventlog::EventLog* log) {
  size_t events = 0;
  for (auto _ : state) {
    for (uint32_t p = 0; p < kPartitions; ++p) {
      uint64_t from = 0;
      while (true) {
        absl::StatusOr<std::vector<eventlog::StoredRecord>> records = log->Read(p, from, 4096);
        if (!records.ok()) {
          state.SkipWithError(std::string(records.status().message()).c_str());
          return;
        }
        if (records->empty()) break;
        events += records->size();
        from = records->back().position.offset + 1;
      }
    }
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

void BM_RocksDbAppend(benchmark::State& state) { RunAppend(state, RocksAppendLog()); }
void BM_RocksDbRead(benchmark::State& state) { RunRead(state, RocksReadLog()); }
void BM_KafkaMockAppend(benchmark::State& state) { RunAppend(state, KafkaAppendLog()); }
void BM_KafkaMockRead(benchmark::State& state) { RunRead(state, KafkaReadLog()); }

BENCHMARK(BM_RocksDbAppend)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->UseRealTime();
// Group commit: concurrent appenders of small batches share synced writes.
BENCHMARK(BM_RocksDbAppend)->Arg(10)->Threads(8)->UseRealTime();
BENCHMARK(BM_RocksDbAppend)->Arg(1000)->Threads(4)->UseRealTime();
BENCHMARK(BM_RocksDbRead)->UseRealTime();
BENCHMARK(BM_KafkaMockAppend)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->UseRealTime();
BENCHMARK(BM_KafkaMockRead)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
