#include "bench/ledger_data.h"

#include <filesystem>
#include <map>
#include <type_traits>
#include <variant>

#include "absl/strings/str_cat.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "eventlog/rocksdb_log.h"

namespace bench {
namespace {

absl::StatusOr<std::unique_ptr<eventlog::RocksDbLog>> OpenLog(const std::string& data_dir) {
  eventlog::RocksDbLogOptions options;
  options.path = (std::filesystem::path(data_dir) / "log").string();
  options.partition_count = kLedgerPartitions;
  return eventlog::RocksDbLog::Open(options);
}

}  // namespace

absl::StatusOr<std::vector<LastPosition>> SeedStock(const std::string& data_dir, int skus, std::int64_t on_hand,
                                                    const std::string& warehouse) {
  std::filesystem::create_directories(data_dir);
  absl::StatusOr<std::unique_ptr<eventlog::RocksDbLog>> log = OpenLog(data_dir);
  if (!log.ok()) return log.status();
  ledger::State state;
  std::vector<eventlog::LogRecord> pending;
  std::uint64_t seq = 0;
  ledger::TimeMs now = ledger::AtEpochMs(1'700'000'000'000);
  auto run = [&](ledger::CommandBody body) -> absl::Status {
    ledger::Command c{{ledger::CommandId(absl::StrCat("seed-", ++seq)), ++now, "bench", ""}, std::move(body)};
    ledger::Decision d = ledger::DecideAndApply(state, c);
    if (d.rejection.has_value()) return absl::InternalError(absl::StrCat("seed command ", seq, " rejected"));
    for (const ledger::Event& e : d.events) pending.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
    if (pending.size() < 8'000) return absl::OkStatus();
    absl::StatusOr<std::vector<eventlog::LogPosition>> appended = (*log)->Append(pending);
    pending.clear();
    return appended.status();
  };
  ledger::WarehouseCode wh(warehouse);
  absl::Status s = run(ledger::RegisterWarehouse{wh, "Main", "eu", 1, true});
  for (int i = 0; s.ok() && i < skus; ++i) {
    ledger::Sku sku(absl::StrCat("SKU-", i));
    s = run(ledger::CreateItem{sku, "Item", "general", {}, 0, 0});
    if (s.ok()) s = run(ledger::ReceiveStock{sku, wh, on_hand, "bench"});
  }
  if (s.ok() && !pending.empty()) s = (*log)->Append(pending).status();
  std::vector<LastPosition> last;
  if (s.ok()) {
    absl::StatusOr<base::NextOffsets> end = (*log)->EndOffsets();
    if (!end.ok()) s = end.status();
    for (std::uint32_t p = 0; s.ok() && p < end->size(); ++p) {
      if ((*end)[p] > 0) last.push_back({p, (*end)[p] - 1});
    }
  }
  absl::Status closed = (*log)->Close();
  if (!s.ok()) return s;
  if (!closed.ok()) return closed;
  return last;
}

absl::StatusOr<std::vector<Level>> FoldLevels(const std::string& data_dir) {
  absl::StatusOr<std::unique_ptr<eventlog::RocksDbLog>> log = OpenLog(data_dir);
  if (!log.ok()) return log.status();
  absl::StatusOr<base::NextOffsets> end = (*log)->EndOffsets();
  if (!end.ok()) return end.status();
  std::map<std::string, Level> levels;
  for (std::uint32_t p = 0; p < end->size(); ++p) {
    std::uint64_t offset = 0;
    while (offset < (*end)[p]) {
      absl::StatusOr<std::vector<eventlog::StoredRecord>> records = (*log)->Read(p, offset, 4096);
      if (!records.ok()) return records.status();
      if (records->empty()) break;
      for (const eventlog::StoredRecord& r : *records) {
        offset = r.position.offset + 1;
        absl::StatusOr<ledger::Event> event = ledger::Decode(r.payload);
        if (!event.ok()) return event.status();
        std::visit(
            [&](const auto& e) {
              using T = std::decay_t<decltype(e)>;
              auto level = [&](const ledger::WarehouseCode& wh) -> Level& {
                std::string key = absl::StrCat(event->envelope.sku.value(), "/", wh.value());
                Level& l = levels[key];
                l.key = key;
                return l;
              };
              if constexpr (std::is_same_v<T, ledger::StockReceived>) {
                level(e.warehouse).on_hand += e.quantity;
              } else if constexpr (std::is_same_v<T, ledger::StockAdjusted> || std::is_same_v<T, ledger::StockCounted>) {
                level(e.warehouse).on_hand += e.delta;
              } else if constexpr (std::is_same_v<T, ledger::ReservationLineReserved>) {
                level(e.warehouse).reserved += e.quantity;
              } else if constexpr (std::is_same_v<T, ledger::ReservationCommitted>) {
                Level& l = level(e.warehouse);
                l.on_hand -= e.quantity;
                l.reserved -= e.quantity + e.released_quantity;  // a partial commit releases the rest
              } else if constexpr (std::is_same_v<T, ledger::ReservationReleased> ||
                                   std::is_same_v<T, ledger::ReservationExpired>) {
                level(e.warehouse).reserved -= e.quantity;
              }
            },
            event->payload);
      }
    }
  }
  absl::Status closed = (*log)->Close();
  if (!closed.ok()) return closed;
  std::vector<Level> out;
  out.reserve(levels.size());
  for (auto& [key, level] : levels) out.push_back(std::move(level));
  return out;
}

}  // namespace bench
