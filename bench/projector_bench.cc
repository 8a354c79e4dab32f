// projector_bench: rebuild throughput of the projector. Folds a pre-filled
// log into fresh read models and reports events applied per second.
//
//   build/bench/seed_log --data-dir /tmp/seed --events 10000000 --skus 100000
//   build/bench/projector_bench --log-dir /tmp/seed/log --views-dir /tmp/views
//   # the Kafka backend (development broker; it holds ~5 MiB per partition):
//   build/bench/projector_bench --log-dir /tmp/seed/log --views-dir /tmp/views
//       --backend kafka --kafka-brokers HOST:PORT --kafka-events 250000
//
// Tuning flags exist so the RocksDB choices can be measured against the
// defaults they replace (see bench/README.md).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "CLI/CLI.hpp"
#include "eventlog/kafka_log.h"
#include "eventlog/rocksdb_log.h"
#include "projector/projector.h"

namespace {

uint64_t DirBytes(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) bytes += entry.file_size(ec);
  }
  return bytes;
}

// Copies the first `events` records of every partition's share into Kafka.
absl::StatusOr<uint64_t> CopyToKafka(eventlog::EventLog& from, eventlog::EventLog& to, uint64_t events) {
  uint64_t copied = 0;
  uint32_t partitions = from.partition_count();
  uint64_t per_partition = events / partitions;
  for (uint32_t p = 0; p < partitions; ++p) {
    uint64_t offset = 0;
    uint64_t done = 0;
    while (done < per_partition) {
      auto records = from.Read(p, offset, std::min<uint64_t>(1000, per_partition - done));
      if (!records.ok()) return records.status();
      if (records->empty()) break;
      std::vector<eventlog::LogRecord> batch;
      for (auto& r : *records) batch.push_back({std::move(r.key), std::move(r.payload)});
      offset = records->back().position.offset + 1;
      auto appended = to.Append(batch);
      if (!appended.ok()) return appended.status();
      done += batch.size();
    }
    copied += done;
  }
  return copied;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"projector_bench: fold a pre-filled log into fresh read models"};
  std::string log_dir, views_dir, backend = "embedded", brokers, topic = "projector.bench";
  uint32_t partitions = 8;
  uint64_t kafka_events = 250'000;
  projector::ProjectorOptions options;
  size_t write_buffer_mb = options.write_buffer_bytes >> 20;
  app.add_option("--log-dir", log_dir, "Embedded log directory (seed_log's <data-dir>/log)")->required();
  app.add_option("--views-dir", views_dir, "Read models directory; emptied first")->required();
  app.add_option("--partitions", partitions)->capture_default_str();
  app.add_option("--backend", backend, "embedded, or kafka (copies --kafka-events first, untimed)")
      ->check(CLI::IsMember({"embedded", "kafka"}))->capture_default_str();
  app.add_option("--kafka-brokers", brokers);
  app.add_option("--kafka-topic", topic)->capture_default_str();
  app.add_option("--kafka-events", kafka_events)->capture_default_str();
  app.add_option("--batch-events", options.batch_events_max)->capture_default_str();
  app.add_option("--no-wal-min", options.catch_up_no_wal_events_min,
                 "Write without the WAL while this many events behind (0: always WAL)")
      ->capture_default_str();
  app.add_option("--write-buffer-mb", write_buffer_mb)->capture_default_str();
  app.add_option("--cache-entries", options.cache_entries_max)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  options.write_buffer_bytes = write_buffer_mb << 20;

  auto embedded = eventlog::RocksDbLog::Open({.path = log_dir, .partition_count = partitions});
  if (!embedded.ok()) {
    std::fprintf(stderr, "log: %s\n", embedded.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<eventlog::EventLog> kafka;
  eventlog::EventLog* log = embedded->get();
  if (backend == "kafka") {
    eventlog::KafkaLogOptions o;
    o.bootstrap_servers = brokers;
    o.topic = topic;
    o.partition_count = partitions;
    auto opened = eventlog::KafkaLog::Open(o);
    if (!opened.ok()) {
      std::fprintf(stderr, "kafka: %s\n", opened.status().ToString().c_str());
      return 1;
    }
    kafka = std::move(*opened);
    auto copied = CopyToKafka(**embedded, *kafka, kafka_events);
    if (!copied.ok()) {
      std::fprintf(stderr, "copy: %s\n", copied.status().ToString().c_str());
      return 1;
    }
    std::fprintf(stderr, "copied %llu events to kafka\n", static_cast<unsigned long long>(*copied));
    log = kafka.get();
  }
  auto ends = log->EndOffsets();
  if (!ends.ok()) return 1;

  std::filesystem::remove_all(views_dir);
  options.path = views_dir;
  auto start = std::chrono::steady_clock::now();
  auto projector = projector::Projector::Start(log, options);
  if (!projector.ok()) {
    std::fprintf(stderr, "projector: %s\n", projector.status().ToString().c_str());
    return 1;
  }
  absl::Status done = (*projector)->WaitCaughtUp(std::chrono::steady_clock::now() + std::chrono::hours(1));
  (*projector)->Stop();  // includes the final atomic flush
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!done.ok()) {
    std::fprintf(stderr, "projector: %s\n", done.ToString().c_str());
    return 1;
  }
  projector::ProjectorStats stats = (*projector)->stats();
  std::printf("backend=%s events=%llu seconds=%.2f events_per_s=%.0f batches=%llu anomalies=%llu views_mb=%.0f\n",
              backend.c_str(), static_cast<unsigned long long>(stats.events_applied), seconds,
              static_cast<double>(stats.events_applied) / seconds,
              static_cast<unsigned long long>(stats.batches_applied),
              static_cast<unsigned long long>(stats.anomalies), static_cast<double>(DirBytes(views_dir)) / 1e6);
  return 0;
}
