// seed_log: fills an embedded (RocksDB) event log with a realistic history,
// decided by the ledger core exactly as the writer would, for restart and
// replay benchmarks.
//
//   build/bench/seed_log --data-dir /tmp/d --events 10000000 --skus 1000000 --snapshot-at 9000000
//
// History: 3 warehouses, --skus items each received at every warehouse, then
// reservations of 1-3 units that are committed (60%), released (25%) or left
// active. --snapshot-at N saves a snapshot in <data-dir>/snapshots once N
// events exist (as inventoryd would with --snapshot-every-events), so a
// restart replays only the tail after it.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "eventlog/rocksdb_log.h"
#include "command-api/snapshot_store.h"

namespace {

struct Seeder {
  ledger::State state;
  std::unique_ptr<eventlog::RocksDbLog> log;
  std::vector<eventlog::LogRecord> pending;
  base::NextOffsets next_offsets;
  std::uint64_t seq = 0;
  ledger::TimeMs now = ledger::AtEpochMs(1'700'000'000'000);

  void Run(ledger::CommandBody body) {
    now += ledger::DurationMs{1};
    ledger::Command c{{ledger::CommandId("seed-" + std::to_string(++seq)), now, "seed", ""}, std::move(body)};
    ledger::Decision d = ledger::DecideAndApply(state, c);
    for (const ledger::Event& e : d.events) pending.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
    if (pending.size() >= 8'000) Flush();
  }

  void Flush() {
    if (pending.empty()) return;
    auto positions = log->Append(pending);
    if (!positions.ok()) {
      std::fprintf(stderr, "append: %s\n", positions.status().ToString().c_str());
      std::exit(1);
    }
    for (const eventlog::LogPosition& p : *positions) {
      next_offsets[p.partition] = std::max(next_offsets[p.partition], p.offset + 1);
    }
    pending.clear();
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  std::uint64_t events = 1'000'000;
  std::uint64_t skus = 100'000;
  std::uint64_t snapshot_at = 0;
  std::uint32_t partitions = 8;
  CLI::App app{"seed_log: fill an embedded event log with a decided history"};
  app.add_option("--data-dir", data_dir, "inventoryd data dir to create")->required();
  app.add_option("--events", events)->capture_default_str();
  app.add_option("--skus", skus)->capture_default_str();
  app.add_option("--snapshot-at", snapshot_at, "save a snapshot once this many events exist (0: none)");
  app.add_option("--partitions", partitions)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  Seeder s;
  std::filesystem::create_directories(data_dir);
  eventlog::RocksDbLogOptions options;
  options.path = (std::filesystem::path(data_dir) / "log").string();
  options.partition_count = partitions;
  auto log = eventlog::RocksDbLog::Open(options);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    return 1;
  }
  s.log = std::move(*log);
  s.next_offsets = base::NextOffsets::Zero(partitions);
  command_api::SnapshotStore snapshots(std::filesystem::path(data_dir) / "snapshots", {});
  auto start = std::chrono::steady_clock::now();

  const char* kWarehouses[] = {"WH-A", "WH-B", "WH-C"};
  for (int w = 0; w < 3; ++w) {
    s.Run(ledger::RegisterWarehouse{ledger::WarehouseCode(kWarehouses[w]), "Warehouse", "eu", w, true});
  }
  for (std::uint64_t i = 0; i < skus && s.state.events_applied() < events; ++i) {
    ledger::Sku sku("SKU-" + std::to_string(i));
    s.Run(ledger::CreateItem{sku, "Item", "general", {}, 10, 100});
    for (const char* w : kWarehouses) s.Run(ledger::ReceiveStock{sku, ledger::WarehouseCode(w), 1'000'000, "PO"});
  }
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> pick(0, skus - 1);
  bool snapshotted = false;
  while (s.state.events_applied() < events) {
    ledger::Reserve r;
    r.reservation_id = ledger::ReservationId("R-" + std::to_string(s.seq));
    r.order_id = ledger::OrderId("O-" + std::to_string(s.seq));
    r.lines.push_back({ledger::Sku("SKU-" + std::to_string(pick(rng))), static_cast<ledger::Quantity>(1 + rng() % 3),
                       ledger::WarehouseCode()});
    ledger::ReservationId id = r.reservation_id;
    s.Run(std::move(r));
    std::uint64_t roll = rng() % 100;
    if (roll < 60) {
      s.Run(ledger::CommitReservation{id});
    } else if (roll < 85) {
      s.Run(ledger::ReleaseReservation{id, ledger::ReleaseReason::kCancelled});
    }
    if (snapshot_at > 0 && !snapshotted && s.state.events_applied() >= snapshot_at) {
      s.Flush();
      absl::Status saved = snapshots.Save(s.state, s.next_offsets);
      if (!saved.ok()) std::fprintf(stderr, "snapshot: %s\n", saved.ToString().c_str());
      snapshotted = true;
    }
  }
  s.Flush();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seeded %llu events (%zu reservations in state) in %.1f s\n",
              static_cast<unsigned long long>(s.state.events_applied()), s.state.reservations().size(), seconds);
  return s.log->Close().ok() ? 0 : 1;
}
