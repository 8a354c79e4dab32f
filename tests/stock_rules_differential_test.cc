// The integration publisher against the projector, over generated histories
// (ledger/testing/history_generator.h plus reorder-point changes, 0 included):
// after every event of a SKU,
//  * the stock state the publisher reads (orders::ViewOf over its own fold)
//    equals the one the projector's read models hold (the low-stock and
//    out-of-stock sets, and the item row for the SKUs on neither list);
//  * the publisher's alerts for the event are exactly the ones the projector's
//    change of state calls for (ledger::AlertsOf);
// and every movement's InventoryUpdate flags equal that state. Either side
// computing the rule its own way fails this test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eventlog/memory_log.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "ledger/stock_rules.h"
#include "ledger/testing/history_generator.h"
#include "orders/public_event.h"
#include "projector/projector.h"

namespace {

namespace v1 = inventory::v1;
using ledger::StockState;
using namespace std::chrono_literals;

std::string TempDir(std::string_view name) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             absl::StrCat("stock_rules_differential_", getpid(), "_", counter++, "_", std::string(name));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// What the read models say of `sku`.
StockState ProjectedState(const projector::Snapshot& s, const std::string& sku) {
  bool low = false, out = false;
  auto find = [&](bool* found) {
    return [&sku, found](const std::string& k) {
      *found = k == sku;
      return !*found;  // stop once found
    };
  };
  EXPECT_TRUE(s.ForEachLowStock(find(&low)).ok());
  EXPECT_TRUE(s.ForEachOutOfStock(find(&out)).ok());
  EXPECT_FALSE(low && out) << sku << " is on both lists";
  if (out) return StockState::kOut;
  if (low) return StockState::kLow;
  absl::StatusOr<std::optional<v1::Item>> item = s.Item(sku);
  EXPECT_TRUE(item.ok()) << item.status();
  const bool active = item.ok() && item->has_value() && (*item)->status() == v1::ITEM_STATUS_ACTIVE;
  return active ? StockState::kInStock : StockState::kUntracked;
}

// The public event types the contract (docs/orders.md) gives each alert.
std::string TypeOf(ledger::StockAlert alert) {
  switch (alert) {
    case ledger::StockAlert::kLowStock: return "inventory.low_stock";
    case ledger::StockAlert::kOutOfStock: return "inventory.out_of_stock";
    case ledger::StockAlert::kBackInStock: return "inventory.back_in_stock";
  }
  return "?";
}

bool IsAlert(const std::string& type) {
  return type == "inventory.low_stock" || type == "inventory.out_of_stock" || type == "inventory.back_in_stock";
}

// What the histories covered, summed over seeds, so the test cannot pass by
// exercising nothing.
struct Coverage {
  std::map<std::string, int> alerts;
  int discontinued_while_flagged = 0;
  int out_with_reorder_point_zero = 0;
  int low_by_reorder_point_change = 0;
  int updates_checked = 0;
};

class Differential {
 public:
  Differential(uint64_t seed, Coverage* coverage) : generator_(seed), rng_(seed), coverage_(coverage) {}

  void Run(int steps) {
    auto log = eventlog::MemoryLog::Open({.partition_count = 4});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    // One event per batch, applied at once: the test waits for each event.
    const std::string path = TempDir("views");
    auto started = projector::Projector::Start(log_.get(), {.path = path, .batch_events_max = 1, .batch_ms = 0ms});
    ASSERT_TRUE(started.ok()) << started.status();
    projector_ = std::move(*started);
    ledger::TimeMs now = ledger::AtEpochMs(1'700'000'000'000);
    for (int step = 0; step < steps && !::testing::Test::HasFatalFailure(); ++step) {
      now += ledger::DurationMs{200};
      Decide(NextCommand(now));
      for (const ledger::ReservationId& id : writer_.ExpiredBy(now, 10)) {
        Decide({{ledger::CommandId(absl::StrCat("expire/", id.value())), now, "timer", ""},
                ledger::ExpireReservation{id}});
      }
    }
    ASSERT_TRUE(projector_->WaitCaughtUp(std::chrono::steady_clock::now() + 10s).ok());
    CheckUpdateFlags();
    projector_.reset();
    std::filesystem::remove_all(path);
  }

 private:
  ledger::Command NextCommand(ledger::TimeMs now) {
    if (std::uniform_int_distribution<int>(0, 99)(rng_) >= 5) return generator_.Next(writer_, now);
    // The generator never changes a reorder point; do, and often to 0.
    ledger::UpdateItem update;
    update.sku = ledger::Sku(absl::StrCat("SKU-", std::uniform_int_distribution<int>(0, 9)(rng_)));
    const int roll = std::uniform_int_distribution<int>(0, 20)(rng_);
    update.reorder_point = roll < 7 ? 0 : roll;
    return {{ledger::CommandId(absl::StrCat("rp-", ++updates_)), now, "test", ""}, update};
  }

  void Decide(const ledger::Command& command) {
    const ledger::Decision d = ledger::DecideAndApply(writer_, command);
    for (const ledger::Event& e : d.events) {
      Check(e);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  void Check(const ledger::Event& e) {
    const std::vector<eventlog::LogRecord> records = {{ledger::PartitionKey(e), ledger::Encode(e)}};
    absl::StatusOr<std::vector<eventlog::LogPosition>> positions = log_->Append(records);
    ASSERT_TRUE(positions.ok()) << positions.status();
    std::vector<orders::PublicEvent> published;
    ASSERT_TRUE(orders::FoldToPublicEvents(publisher_, e, &published).ok());
    if (e.envelope.sku.empty()) return;  // warehouse events move no SKU
    ASSERT_TRUE(projector_->WaitApplied(*positions, std::chrono::steady_clock::now() + 10s).ok());
    const std::string& sku = e.envelope.sku.value();
    const StockState projected = ProjectedState(*projector_->NewSnapshot(), sku);
    const StockState seen = orders::ViewOf(publisher_, e.envelope.sku, ledger::WarehouseCode()).stock_state;
    const std::string where = absl::StrCat(sku, " after event ", std::string(ledger::KindName(e.payload)), " at ",
                                           (*positions)[0].partition, ":", (*positions)[0].offset);
    EXPECT_EQ(ledger::ToString(seen), ledger::ToString(projected)) << where << ": publisher vs projector";

    StockState& before = projected_[sku];  // kUntracked until the SKU's first event
    std::vector<std::string> expected, got;
    for (ledger::StockAlert a : ledger::AlertsOf(before, projected)) expected.push_back(TypeOf(a));
    for (const orders::PublicEvent& p : published) {
      if (IsAlert(p.type)) got.push_back(p.type);
    }
    EXPECT_EQ(got, expected) << where << ": " << ledger::ToString(before) << " -> " << ledger::ToString(projected);
    Count(e, before, projected, got);
    before = projected;
    update_flags_[{(*positions)[0].partition, (*positions)[0].offset}] = ledger::FlagsOf(projected);
  }

  void Count(const ledger::Event& e, StockState before, StockState after, const std::vector<std::string>& alerts) {
    for (const std::string& a : alerts) ++coverage_->alerts[a];
    const bool flagged = before == StockState::kLow || before == StockState::kOut;
    if (std::holds_alternative<ledger::ItemDiscontinued>(e.payload) && flagged) ++coverage_->discontinued_while_flagged;
    const ledger::ItemState* item = writer_.item(e.envelope.sku);
    if (after == StockState::kOut && item != nullptr && item->reorder_point == 0) {
      ++coverage_->out_with_reorder_point_zero;
    }
    if (std::holds_alternative<ledger::ItemUpdated>(e.payload) && after == StockState::kLow && before != after) {
      ++coverage_->low_by_reorder_point_change;
    }
  }

  // Every movement the projector recorded carries the flags of the state
  // after its event.
  void CheckUpdateFlags() {
    auto snapshot = projector_->NewSnapshot();
    for (uint32_t p = 0; p < log_->partition_count(); ++p) {
      ASSERT_TRUE(snapshot->ForEachUpdateFrom(p, 0, [&](const v1::InventoryUpdate& u) {
        auto it = update_flags_.find({u.position().partition(), u.position().offset()});
        EXPECT_NE(it, update_flags_.end()) << "an update for an event never appended";
        if (it == update_flags_.end()) return false;
        EXPECT_EQ(u.low_stock(), it->second.low) << u.movement().sku() << " at " << p << ":" << u.position().offset();
        EXPECT_EQ(u.out_of_stock(), it->second.out) << u.movement().sku() << " at " << p << ":"
                                                    << u.position().offset();
        ++coverage_->updates_checked;
        return true;
      }).ok());
    }
  }

  ledger::test_support::HistoryGenerator generator_;
  std::mt19937_64 rng_;
  Coverage* coverage_;
  std::unique_ptr<eventlog::MemoryLog> log_;
  std::unique_ptr<projector::Projector> projector_;
  ledger::State writer_;     // the command side
  ledger::State publisher_;  // the publisher's own fold
  std::map<std::string, StockState> projected_;
  std::map<std::pair<uint32_t, uint64_t>, ledger::StockFlags> update_flags_;
  int updates_ = 0;
};

TEST(StockRulesDifferential, PublisherAlertsFollowTheProjectorsFlags) {
  Coverage coverage;
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    // 4000: the generated histories reject most commands early on (items and
    // warehouses not yet created), and at 1500 steps the floors below were
    // met by a few percent only (and a reorder-point change making a SKU low
    // is rare), so any change to the generator's mix (stale
    // expectations, partial commits) could miss them.
    Differential(seed, &coverage).Run(4000);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(coverage.alerts["inventory.low_stock"], 0);
  EXPECT_GT(coverage.alerts["inventory.out_of_stock"], 0);
  EXPECT_GT(coverage.alerts["inventory.back_in_stock"], 0);
  EXPECT_GT(coverage.discontinued_while_flagged, 0);
  EXPECT_GT(coverage.out_with_reorder_point_zero, 0);
  EXPECT_GT(coverage.low_by_reorder_point_change, 0);
  EXPECT_GT(coverage.updates_checked, 500);
}

}  // namespace
