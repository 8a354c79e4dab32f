// For start_audit_test.py: appends ledger/testing/forged_events.h's history
// (ending in a forged event that leaves SKU-1 at WH with on_hand -3) to the
// embedded RocksDB log of a data directory, bypassing Decide, as a corrupt
// or tampered log would hold it.
//
// Usage: forge_oversell_log DATA_DIR
#include <cstdio>
#include <filesystem>
#include <vector>

#include "eventlog/open_log.h"
#include "ledger/codec.h"
#include "ledger/testing/forged_events.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("forge_oversell_log"));  // stdout is this program's output
  if (argc != 2) {
    std::fprintf(stderr, "usage: forge_oversell_log DATA_DIR\n");
    return 2;
  }
  eventlog::LogConfig config;
  config.data_dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);  // as inventoryd does
  auto log = eventlog::OpenLog(config);
  if (!log.ok()) {
    std::fprintf(stderr, "opening the log in %s: %s\n", argv[1], log.status().ToString().c_str());
    return 1;
  }
  std::vector<eventlog::LogRecord> records;
  for (const ledger::Event& e : ledger::test_support::OversoldHistory()) {
    records.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
  }
  auto appended = (*log)->Append(records);
  absl::Status closed = (*log)->Close();
  if (!appended.ok() || !closed.ok()) {
    std::fprintf(stderr, "appending: %s %s\n", appended.status().ToString().c_str(), closed.ToString().c_str());
    return 1;
  }
  std::printf("appended %zu records\n", records.size());
  return 0;
}
