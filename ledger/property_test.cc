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
  std::size_t expected_held = 0;     // adjustments and counts accepted with a fresh expected_on_hand
  std::size_t expected_stale = 0;    // refused kOnHandChanged
  std::size_t partial_commits = 0;   // CommitReservation with lines accepted
  std::size_t partial_refused = 0;   // ... refused for a line (more than held, overlapping)
};

struct Totals {
  Quantity on_hand = 0;
  Quantity reserved = 0;
};
Totals TotalsOf(const State& state) {
  Totals t;
  for (const ItemState& item : state.items()) {
    for (const LevelEntry& e : item.levels) {
      t.on_hand += e.level.on_hand;
      t.reserved += e.level.reserved;
    }
  }
  return t;
}

// Stock conservation of an accepted commit: on hand falls by exactly the
// units shipped (the lines' quantities, or all that was held for a whole
// commit) and reserved by all the reservation held; the released rest is
// available again. Nothing else moves.
::testing::AssertionResult CommitConserves(const State& before, const State& after, const CommitReservation& c) {
  const ReservationState* r = before.reservation(c.reservation_id);
  if (r == nullptr) return ::testing::AssertionFailure() << "committed an unknown reservation";
  Quantity held = 0;
  for (const ReservationAllocation& a : r->allocations) held += a.quantity;
  Quantity shipped = c.lines.empty() ? held : 0;
  for (const CommitLine& line : c.lines) shipped += line.quantity;
  const Totals tb = TotalsOf(before);
  const Totals ta = TotalsOf(after);
  if (tb.on_hand - ta.on_hand != shipped || tb.reserved - ta.reserved != held) {
    return ::testing::AssertionFailure() << c.reservation_id << ": on hand fell " << tb.on_hand - ta.on_hand
                                         << " (shipped " << shipped << "), reserved fell "
                                         << tb.reserved - ta.reserved << " (held " << held << ")";
  }
  Quantity left = 0;
  for (const ReservationAllocation& a : after.reservation(c.reservation_id)->allocations) left += a.committed();
  if (left != shipped) {
    return ::testing::AssertionFailure() << c.reservation_id << " records " << left << " committed, shipped "
                                         << shipped;
  }
  return ::testing::AssertionSuccess();
}

// An adjustment's or count's expected on hand, if it carries one.
std::optional<Quantity> ExpectedOnHandOf(const CommandBody& body) {
  if (const auto* a = std::get_if<AdjustStock>(&body)) return a->expected_on_hand;
  if (const auto* c = std::get_if<CountStock>(&body)) return c->expected_on_hand;
  return std::nullopt;
}

// Optimistic concurrency: a command with an expectation is refused
// kOnHandChanged exactly when on hand differed, naming the figure, and one
// accepted had the figure it expected.
::testing::AssertionResult ExpectationKept(const State& before, const Command& command, const Decision& d,
                                           RunStats& stats) {
  const std::optional<Quantity> expected = ExpectedOnHandOf(command.body);
  if (!expected || d.duplicate) return ::testing::AssertionSuccess();
  const auto& [sku, warehouse] = std::visit(
      [](const auto& c) -> std::pair<Sku, WarehouseCode> {
        if constexpr (requires { c.warehouse; c.sku; }) return {c.sku, c.warehouse};
        return {};
      },
      command.body);
  const Quantity on_hand = before.Level(sku, warehouse).on_hand;
  const bool stale = d.rejection && d.rejection->reason == RejectionReason::kOnHandChanged;
  if (stale) {
    ++stats.expected_stale;
    if (*expected == on_hand || d.rejection->on_hand != on_hand) {
      return ::testing::AssertionFailure() << "refused as stale: expected " << *expected << ", on hand " << on_hand;
    }
  } else if (d.accepted()) {
    ++stats.expected_held;
    if (*expected != on_hand) {
      return ::testing::AssertionFailure() << "accepted expecting " << *expected << " with on hand " << on_hand;
    }
  }
  return ::testing::AssertionSuccess();
}

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
    ASSERT_TRUE(ExpectationKept(before, command, d, stats)) << "at step " << step;
    if (d.duplicate) {
      ++stats.duplicates;
      ASSERT_TRUE(live == before) << "a duplicate changed the state at step " << step;
    } else if (d.accepted()) {
      ++stats.accepted;
      ASSERT_FALSE(d.events.empty());
      ASSERT_TRUE(NoneBlocked(before, d)) << "at step " << step;
      if (std::holds_alternative<BlockSales>(command.body)) ++stats.blocks;
      if (std::holds_alternative<ExtendReservation>(command.body)) ++stats.extended;
      if (const auto* c = std::get_if<CommitReservation>(&command.body)) {
        ASSERT_TRUE(CommitConserves(before, live, *c)) << "at step " << step;
        if (!c->lines.empty()) ++stats.partial_commits;
      }
      if (const auto* e = std::get_if<ExpireReservation>(&command.body); e && e->when == ExpireWhen::kNow) {
        ++stats.expired_now;
      }
    } else {
      ++stats.rejected;
      if (d.rejection->reason == RejectionReason::kSalesBlocked) ++stats.refused_blocked;
      if (d.rejection->field.rfind("lines[", 0) == 0 && std::holds_alternative<CommitReservation>(command.body)) {
        ++stats.partial_refused;
      }
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
  EXPECT_GT(stats.expected_held, 100u);
  EXPECT_GT(stats.expected_stale, 100u);
  EXPECT_GT(stats.partial_commits, 100u);
  EXPECT_GT(stats.partial_refused, 20u);
}

}  // namespace
}  // namespace ledger
