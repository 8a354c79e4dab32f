// Property test: seeded random command sequences through the ledger core.
// After every step every invariant holds; at the end, folding the emitted
// events from scratch (through the protobuf codec) reproduces the state.
//
// A failure prints its seed; replay one seed with
//   LEDGER_PROPERTY_SEED=<seed> ledger_core_test --gtest_filter='LedgerProperty*'
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "ledger/stock_rules.h"
#include "ledger/testing/history_generator.h"

using namespace std::chrono_literals;

namespace ledger {
namespace {

using test_support::HistoryGenerator;

// Every invariant of BRIEF.md that a state can show.
::testing::AssertionResult InvariantsHold(const State& state) {
  absl::flat_hash_map<std::pair<ItemIndex, WarehouseIndex>, Quantity> reserved_by_reservations;
  for (const auto& [id, r] : state.reservations()) {
    for (const ReservationAllocation& a : r.allocations) {
      if (a.present && a.status == ReservationStatus::kActive) reserved_by_reservations[{a.item, a.warehouse}] += a.quantity;
    }
  }
  for (ItemIndex i = 0; i < state.items().size(); ++i) {
    for (const LevelEntry& e : state.item(i).levels) {
      const StockLevel& l = e.level;
      if (l.on_hand < 0 || l.reserved < 0 || l.incoming < 0 || l.reserved > l.on_hand || l.on_hand > kStockMax) {
        return ::testing::AssertionFailure() << state.item(i).sku << "@" << e.warehouse << " on_hand=" << l.on_hand
                                             << " reserved=" << l.reserved << " incoming=" << l.incoming;
      }
      Quantity expected = 0;
      auto it = reserved_by_reservations.find(std::make_pair(i, e.warehouse));
      if (it != reserved_by_reservations.end()) expected = it->second;
      if (l.reserved != expected) {
        return ::testing::AssertionFailure() << state.item(i).sku << "@" << e.warehouse << " reserved=" << l.reserved
                                             << " but active reservations hold " << expected;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

struct RunStats {
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  std::size_t duplicates = 0;
  std::size_t expired = 0;
  std::size_t blocks = 0;            // BlockSales accepted
  std::size_t refused_blocked = 0;   // reservations refused by a sales block
  std::size_t extended = 0;          // ExtendReservation accepted
  std::size_t expired_now = 0;       // an operator's ExpireReservation accepted
};

// No allocation of an accepted reservation takes from a (SKU, warehouse)
// that a sales block covered when it was decided (ledger/stock_rules.h).
::testing::AssertionResult NoneBlocked(const State& before, const Decision& d) {
  for (const Event& e : d.events) {
    const auto* line = std::get_if<ReservationLineReserved>(&e.payload);
    if (line == nullptr) continue;
    const ItemState* item = before.item(e.envelope.sku);
    if (item != nullptr && SalesBlockOf(*item, line->warehouse) != nullptr) {
      return ::testing::AssertionFailure() << e.envelope.sku << "@" << line->warehouse << " reserved while blocked";
    }
  }
  return ::testing::AssertionSuccess();
}

void RunSeed(std::uint64_t seed, int steps, RunStats& stats) {
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (replay with LEDGER_PROPERTY_SEED=", seed, ")"));
  LedgerOptions options;
  options.remembered_commands_max = 500;  // small, so forgetting happens too
  State live(options);
  HistoryGenerator generator(seed);
  std::vector<Event> log;
  TimeMs now = AtEpochMs(1'700'000'000'000);
  for (int step = 0; step < steps; ++step) {
    now += 50ms + DurationMs{static_cast<std::int64_t>(step % 7) * 100};
    Command command = generator.Next(live, now);
    State before = live;
    Decision d = DecideAndApply(live, command);
    if (d.duplicate) {
      ++stats.duplicates;
      ASSERT_TRUE(live == before) << "a duplicate changed the state at step " << step;
    } else if (d.accepted()) {
      ++stats.accepted;
      ASSERT_FALSE(d.events.empty());
      ASSERT_TRUE(NoneBlocked(before, d)) << "at step " << step;
      if (std::holds_alternative<BlockSales>(command.body)) ++stats.blocks;
      if (std::holds_alternative<ExtendReservation>(command.body)) ++stats.extended;
      if (const auto* e = std::get_if<ExpireReservation>(&command.body); e && e->when == ExpireWhen::kNow) {
        ++stats.expired_now;
      }
    } else {
      ++stats.rejected;
      if (d.rejection->reason == RejectionReason::kSalesBlocked) ++stats.refused_blocked;
      ASSERT_TRUE(d.events.empty());
      ASSERT_TRUE(live == before) << "a rejection changed the state at step " << step;
    }
    log.insert(log.end(), d.events.begin(), d.events.end());
    // The expiry timer's job: expire whatever is due.
    for (const ReservationId& id : live.ExpiredBy(now, 10)) {
      Command expire{{CommandId(absl::StrCat("expire/", id.value())), now, "timer", ""}, ExpireReservation{id}};
      Decision e = DecideAndApply(live, expire);
      ASSERT_TRUE(e.accepted()) << e.rejection->message;
      ++stats.expired;
      log.insert(log.end(), e.events.begin(), e.events.end());
    }
    ASSERT_TRUE(InvariantsHold(live)) << "after step " << step;
  }
  State replayed(options);
  for (const Event& event : log) {
    absl::StatusOr<Event> decoded = Decode(Encode(event));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_EQ(*decoded, event);
    absl::Status applied = Evolve(replayed, *decoded);
    ASSERT_TRUE(applied.ok()) << applied;
  }
  ASSERT_TRUE(replayed == live) << "folding the log from scratch does not reproduce the state";
}

TEST(LedgerPropertyTest, RandomHistoriesKeepInvariantsAndReplayExactly) {
  std::vector<std::uint64_t> seeds;
  if (const char* env = std::getenv("LEDGER_PROPERTY_SEED")) {
    seeds.push_back(std::strtoull(env, nullptr, 10));
  } else {
    for (std::uint64_t s = 1; s <= 12; ++s) seeds.push_back(s * 7919);
  }
  RunStats stats;
  for (std::uint64_t seed : seeds) {
    RunSeed(seed, 4000, stats);
    if (HasFatalFailure()) return;
  }
  // The generator must exercise every path, or the property proves little.
  EXPECT_GT(stats.accepted, 1000u);
  EXPECT_GT(stats.rejected, 500u);
  EXPECT_GT(stats.duplicates, 100u);
  EXPECT_GT(stats.expired, 10u);
  EXPECT_GT(stats.blocks, 50u);
  EXPECT_GT(stats.refused_blocked, 20u);
  EXPECT_GT(stats.extended, 20u);
  EXPECT_GT(stats.expired_now, 20u);
}

}  // namespace
}  // namespace ledger
