// Child of projector_crash_test: projects an embedded log into views and
// runs until killed.
//   projector_crash_child LOG_DIR VIEWS_DIR BATCH_EVENTS NO_WAL_MIN
// Prints "started" once the projector runs.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "eventlog/rocksdb_log.h"
#include "projector/projector.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("projector_crash_child"));  // stdout is this program's output
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s LOG_DIR VIEWS_DIR BATCH_EVENTS NO_WAL_MIN\n", argv[0]);
    return 2;
  }
  auto log = eventlog::RocksDbLog::Open({.path = argv[1], .partition_count = 4});
  if (!log.ok()) {
    std::fprintf(stderr, "log: %s\n", std::string(log.status().message()).c_str());
    return 1;
  }
  projector::ProjectorOptions options;
  options.path = argv[2];
  options.batch_events_max = std::strtoul(argv[3], nullptr, 10);
  options.catch_up_no_wal_events_min = std::strtoull(argv[4], nullptr, 10);
  auto projector = projector::Projector::Start(log->get(), options);
  if (!projector.ok()) {
    std::fprintf(stderr, "projector: %s\n", std::string(projector.status().message()).c_str());
    return 1;
  }
  std::printf("started\n");
  std::fflush(stdout);
  while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
}
