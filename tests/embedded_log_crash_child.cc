// Helper of embedded_log_crash_test: appends batches to a RocksDB log from
// several threads until killed, reporting each acknowledged batch id on
// stdout as 8 raw bytes (one write(2) each, so reports never interleave).
//
// usage: embedded_log_crash_child <dir> <seed>
//
// Every record's payload is "batch=<id> n=<records in batch> i=<index> <pad>",
// so the parent can tell a whole batch from a torn one.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/rocksdb_log.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace {

constexpr int kThreads = 3;
constexpr uint64_t kIdsPerThread = 1'000'000'000;

void AppendForever(eventlog::RocksDbLog* log, int thread, uint64_t seed) {
  std::mt19937_64 rng(seed * 31 + static_cast<uint64_t>(thread));
  for (uint64_t k = 0;; ++k) {
    const uint64_t id = static_cast<uint64_t>(thread) * kIdsPerThread + k;
    const size_t n = 1 + rng() % 16;
    std::vector<eventlog::LogRecord> batch;
    for (size_t i = 0; i < n; ++i) {
      std::string payload = "batch=" + std::to_string(id) + " n=" + std::to_string(n) + " i=" + std::to_string(i) + " ";
      payload.append(rng() % 200, 'p');
      batch.push_back({"sku-" + std::to_string(rng() % 64), std::move(payload)});
    }
    absl::StatusOr<std::vector<eventlog::LogPosition>> positions = log->Append(batch);
    if (!positions.ok()) {
      std::fprintf(stderr, "append failed: %s\n", std::string(positions.status().message()).c_str());
      std::_Exit(2);
    }
    if (write(STDOUT_FILENO, &id, sizeof(id)) != static_cast<ssize_t>(sizeof(id))) std::_Exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("embedded_log_crash_child"));  // stdout is this program's output
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <dir> <seed>\n", argv[0]);
    return 1;
  }
  eventlog::RocksDbLogOptions options;
  options.path = argv[1];
  options.partition_count = 8;
  absl::StatusOr<std::unique_ptr<eventlog::RocksDbLog>> log = eventlog::RocksDbLog::Open(options);
  if (!log.ok()) {
    std::fprintf(stderr, "open failed: %s\n", std::string(log.status().message()).c_str());
    return 1;
  }
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(AppendForever, log->get(), t, seed);
  for (std::thread& thread : threads) thread.join();  // never: we run until killed
  return 0;
}
