// Test support: generates a decided history (every kind of movement,
// multi-line reservations, commas, quotes, backslashes and UTF-8 in text) with the ledger core,
// appends it to an event log command by command, and records checkpoints:
// the State, time and log positions after chosen commands.
//
// Thread-safety: none; one test at a time.
#ifndef REPLAY_TEST_HISTORY_H_
#define REPLAY_TEST_HISTORY_H_

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/testing/temp_dir.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "eventlog/event_log.h"
#include "eventlog/rocksdb_log.h"
#include "ledger/state.h"
#include "replay/format.h"
#include "replay/rows.h"

namespace replay::testing {

// A fresh directory, removed with the object (base/testing/temp_dir.h).
using TempDir = base::TempDir;

// A fresh embedded log at <dir>/log with `partitions` partitions.
inline std::unique_ptr<eventlog::RocksDbLog> OpenTestLog(const TempDir& dir, uint32_t partitions) {
  eventlog::RocksDbLogOptions options;
  options.path = dir.path() + "/log";
  options.partition_count = partitions;
  auto log = eventlog::RocksDbLog::Open(options);
  INV_CHECK(log.ok()) << log.status();
  return std::move(*log);
}

struct Checkpoint {
  ledger::TimeMs time_ms{};
  base::NextOffsets bounds;  // next offset per partition after the command
  std::string last_positions;    // "p:o,..." of the last record of every partition so far
  ledger::State state;
};

struct LoggedEvent {
  eventlog::LogPosition position;
  ledger::Event event;
};

class HistoryGenerator {
 public:
  static constexpr ledger::TimeMs kT0 = ledger::AtEpochMs(1'772'323'200'000);  // 2026-03-01T00:00:00Z

  explicit HistoryGenerator(eventlog::EventLog* log) : log_(log), bounds_(base::NextOffsets::Zero(log->partition_count())) {}

  // Runs `commands` random commands after a fixed setup, checkpointing every
  // `checkpoint_every` commands.
  void Generate(int commands, int checkpoint_every, uint64_t seed = 1) {
    std::mt19937_64 rng(seed);
    Run(ledger::RegisterWarehouse{ledger::WarehouseCode("WH-A"), "Berlin, \"main\"", "eu", 1, true});
    Run(ledger::RegisterWarehouse{ledger::WarehouseCode("WH-B"), "Lyon; annex", "eu", 2, true});
    for (int i = 0; i < kSkus; ++i) {
      Run(ledger::CreateItem{Sku(i), Name(i), i % 2 == 0 ? "mugs" : "plates, deep", {{"colour", "blue \"x\""}},
                             5, 20});
    }
    for (int i = 0; i < commands; ++i) {
      RandomCommand(rng);
      if (checkpoint_every > 0 && (i + 1) % checkpoint_every == 0) MarkCheckpoint();
    }
  }

  const std::vector<testing::Checkpoint>& checkpoints() const { return checkpoints_; }
  const std::vector<LoggedEvent>& events() const { return events_; }
  const ledger::State& state() const { return state_; }
  ledger::TimeMs now_ms() const { return now_ms_; }

  // Records a checkpoint after the last command.
  void MarkCheckpoint() {
    std::string last;
    for (uint32_t p = 0; p < bounds_.size(); ++p) {
      if (bounds_[p] > 0) last += (last.empty() ? "" : ",") + std::to_string(p) + ":" + std::to_string(bounds_[p] - 1);
    }
    checkpoints_.push_back({now_ms_, bounds_, last, state_});
  }

  // Decides and appends one command; returns whether it was accepted.
  bool Run(ledger::CommandBody body) {
    now_ms_ += std::chrono::seconds{1};
    ledger::Command command{{ledger::CommandId("c-" + std::to_string(++seq_)), now_ms_, "clerk, \"7\"", ""},
                            std::move(body)};
    ledger::Decision decision = ledger::DecideAndApply(state_, command);
    if (decision.events.empty()) return false;
    std::vector<eventlog::LogRecord> records;
    for (const ledger::Event& e : decision.events) records.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
    absl::StatusOr<std::vector<eventlog::LogPosition>> positions = log_->Append(records);
    INV_CHECK(positions.ok()) << positions.status();
    for (size_t i = 0; i < positions->size(); ++i) {
      const eventlog::LogPosition& p = (*positions)[i];
      bounds_.Advance(p);
      events_.push_back({p, decision.events[i]});
    }
    return true;
  }

  static ledger::Sku Sku(int i) { return ledger::Sku("SKU-" + std::to_string(i)); }

 private:
  static constexpr int kSkus = 12;

  static std::string Name(int i) {
    switch (i % 4) {
      case 0: return "Mug, blue";
      case 1: return "Plate \"deep\"";
      case 2: return "Bowl, small \\ wide";
      default: return "Tasse \xc3\xa0 caf\xc3\xa9";
    }
  }

  void RandomCommand(std::mt19937_64& rng) {
    const ledger::Sku sku = Sku(static_cast<int>(rng() % kSkus));
    const ledger::WarehouseCode wh(rng() % 2 == 0 ? "WH-A" : "WH-B");
    const ledger::WarehouseCode other(wh.value() == "WH-A" ? "WH-B" : "WH-A");
    switch (rng() % 10) {
      case 0:
      case 1:
        Run(ledger::ReceiveStock{sku, wh, static_cast<ledger::Quantity>(1 + rng() % 30), "PO-" + std::to_string(seq_)});
        break;
      case 2:
        Run(ledger::AdjustStock{sku, wh, -1, ledger::AdjustmentReason::kDamage, "broken, \"dropped\""});
        break;
      case 3:
        Run(ledger::CountStock{sku, wh, static_cast<ledger::Quantity>(rng() % 40)});
        break;
      case 4: {
        ledger::TransferId id("T-" + std::to_string(seq_));
        if (Run(ledger::ShipTransfer{id, sku, wh, other, 2})) pending_transfers_.push_back(id);
        break;
      }
      case 5:
        if (!pending_transfers_.empty()) {
          Run(ledger::ReceiveTransfer{pending_transfers_.front()});
          pending_transfers_.erase(pending_transfers_.begin());
        }
        break;
      case 6:
      case 7: {
        ledger::Reserve r;
        r.reservation_id = ledger::ReservationId("R-" + std::to_string(seq_));
        r.order_id = ledger::OrderId("O-" + std::to_string(seq_));
        r.lines.push_back({sku, static_cast<ledger::Quantity>(1 + rng() % 3), ledger::WarehouseCode()});
        r.lines.push_back({Sku(static_cast<int>(rng() % kSkus)), 1, ledger::WarehouseCode()});
        r.ttl_ms = std::chrono::seconds{30};
        r.split = ledger::SplitPolicy::kAllowSplit;
        if (Run(std::move(r))) open_.push_back(ledger::ReservationId("R-" + std::to_string(seq_)));
        break;
      }
      case 8:
        if (!open_.empty()) {
          const size_t i = rng() % open_.size();
          const ledger::ReservationId id = open_[i];
          open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(i));
          switch (rng() % 3) {
            case 0: Run(ledger::CommitReservation{id}); break;
            case 1: Run(ledger::ReleaseReservation{id, ledger::ReleaseReason::kPaymentFailed}); break;
            default: Run(ledger::ExpireReservation{id}); break;
          }
        }
        break;
      default:
        if (rng() % 4 == 0) {
          Run(ledger::UpdateItem{sku, std::nullopt, std::nullopt, std::nullopt, 8, std::nullopt});
        } else if (rng() % 8 == 0) {
          Run(ledger::DiscontinueItem{sku});
        } else if (rng() % 6 == 0) {
          // Sales blocks come and go, at one warehouse or everywhere.
          const ledger::WarehouseCode scope = rng() % 3 == 0 ? ledger::WarehouseCode() : wh;
          if (!Run(ledger::BlockSales{sku, scope, "recall, \"lot 7\""})) Run(ledger::UnblockSales{sku, scope});
        } else {
          Run(ledger::ReceiveStock{sku, wh, 5, "ASN,5"});
        }
    }
  }

  eventlog::EventLog* log_;
  ledger::State state_;
  base::NextOffsets bounds_;
  std::vector<testing::Checkpoint> checkpoints_;
  std::vector<LoggedEvent> events_;
  std::vector<ledger::TransferId> pending_transfers_;
  std::vector<ledger::ReservationId> open_;
  ledger::TimeMs now_ms_ = kT0;
  uint64_t seq_ = 0;
};

// Levels, open reservations and sales blocks of a state, rendered as CSV: two
// states that render the same hold the same stock.
inline std::string RenderStock(const ledger::State& state) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  {
    RowWriter levels(out, TableFormat::kCsv, LevelColumns());
    WriteLevels(state, {}, levels);
    {
      RowWriter open(out, TableFormat::kCsv, OpenReservationColumns());
      WriteOpenReservations(state, {}, open);
    }
    std::fputs("\n", out);  // as-of --format csv: a blank line before the sales blocks
    RowWriter blocks(out, TableFormat::kCsv, SalesBlockColumns());
    WriteSalesBlocks(state, {}, blocks);
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

}  // namespace replay::testing

#endif  // REPLAY_TEST_HISTORY_H_
