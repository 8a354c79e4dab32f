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

namespace ledger {
namespace {

constexpr int kSkus = 40;
constexpr int kHotSkus = 3;
constexpr int kWarehouses = 5;

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  Command Next(const State& state, TimeMs now_ms) {
    Command command;
    command.meta.now_ms = now_ms;
    command.meta.actor = "prop";
    // Retry an earlier command verbatim (same id, same body): must be a no-op.
    if (!history_.empty() && Chance(8)) {
      command = history_[Pick(history_.size())];
      command.meta.now_ms = now_ms;
      return command;
    }
    command.meta.command_id = CommandId(absl::StrCat("c", ++next_id_));
    command.body = Body(state, now_ms);
    if (Chance(3)) command.meta.command_id = CommandId("");  // invalid: rejected, nothing applied
    history_.push_back(command);
    return command;
  }

 private:
  bool Chance(int percent) { return std::uniform_int_distribution<int>(0, 99)(rng_) < percent; }
  std::size_t Pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  Quantity Qty(Quantity max) { return std::uniform_int_distribution<Quantity>(1, max)(rng_); }

  Sku AnySku() {
    int i = Chance(50) ? static_cast<int>(Pick(kHotSkus)) : static_cast<int>(Pick(kSkus));
    return Sku(absl::StrCat("SKU-", i));
  }
  WarehouseCode AnyWarehouse() { return WarehouseCode(absl::StrCat("WH-", Pick(kWarehouses))); }

  ReservationId KnownReservation(const State& state) {
    if (reservations_.empty() || Chance(5)) return ReservationId(absl::StrCat("R-unknown-", Pick(100)));
    const std::string& id = reservations_[Pick(reservations_.size())];
    (void)state;
    return ReservationId(id);
  }

  CommandBody Body(const State& state, TimeMs now_ms) {
    int roll = std::uniform_int_distribution<int>(0, 99)(rng_);
    if (roll < 4) return RegisterWarehouse{AnyWarehouse(), "W", Chance(50) ? "eu" : "us",
                                           static_cast<std::int32_t>(Pick(5)), !Chance(10)};
    if (roll < 8) return CreateItem{AnySku(), "Item", Chance(50) ? "a" : "b", {}, Qty(20), Qty(50)};
    if (roll < 9) return DiscontinueItem{AnySku()};
    if (roll < 10) return UpdateWarehouse{AnyWarehouse(), std::nullopt, std::nullopt, std::nullopt, !Chance(30)};
    if (roll < 22) return ReceiveStock{AnySku(), AnyWarehouse(), Qty(40), "PO"};
    if (roll < 27) {
      static constexpr AdjustmentReason kReasons[] = {AdjustmentReason::kDamage, AdjustmentReason::kLoss,
                                                      AdjustmentReason::kFound, AdjustmentReason::kCorrection,
                                                      AdjustmentReason::kReturn};
      AdjustmentReason reason = kReasons[Pick(5)];
      Quantity delta = Qty(10);
      if (reason == AdjustmentReason::kDamage || reason == AdjustmentReason::kLoss ||
          (reason == AdjustmentReason::kCorrection && Chance(50))) {
        delta = -delta;
      }
      return AdjustStock{AnySku(), AnyWarehouse(), delta, reason, ""};
    }
    if (roll < 30) return CountStock{AnySku(), AnyWarehouse(), Qty(60) - 1};
    if (roll < 34) {
      TransferId id(absl::StrCat("T-", transfers_.size()));
      transfers_.push_back(id.value());
      return ShipTransfer{id, AnySku(), AnyWarehouse(), AnyWarehouse(), Qty(15)};
    }
    if (roll < 37 && !transfers_.empty()) return ReceiveTransfer{TransferId(transfers_[Pick(transfers_.size())])};
    if (roll < 70) return AnyReserve(now_ms);
    if (roll < 82) return CommitReservation{KnownReservation(state)};
    if (roll < 92) return ReleaseReservation{KnownReservation(state), ReleaseReason::kCancelled};
    return ExpireReservation{KnownReservation(state)};
  }

  Reserve AnyReserve(TimeMs) {
    Reserve r;
    r.reservation_id = ReservationId(absl::StrCat("R-", reservations_.size()));
    reservations_.push_back(r.reservation_id.value());
    r.order_id = OrderId(absl::StrCat("O-", reservations_.size()));
    std::size_t lines = 1 + Pick(Chance(70) ? 1 : 4);
    for (std::size_t i = 0; i < lines; ++i) {
      ReserveLine line{AnySku(), Qty(Chance(10) ? 200 : 6), WarehouseCode()};
      if (Chance(40)) line.warehouse = AnyWarehouse();
      r.lines.push_back(line);
    }
    r.ttl_ms = static_cast<TimeMs>(1'000 + Pick(120'000));
    r.split = Chance(30) ? SplitPolicy::kAllowSplit : SplitPolicy::kSingleWarehouse;
    r.preferred_region = Chance(50) ? "eu" : "";
    return r;
  }

  std::mt19937_64 rng_;
  std::uint64_t next_id_ = 0;
  std::vector<Command> history_;
  std::vector<std::string> reservations_;
  std::vector<std::string> transfers_;
};

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
};

void RunSeed(std::uint64_t seed, int steps, RunStats& stats) {
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (replay with LEDGER_PROPERTY_SEED=", seed, ")"));
  LedgerOptions options;
  options.remembered_commands_max = 500;  // small, so forgetting happens too
  State live(options);
  Generator generator(seed);
  std::vector<Event> log;
  TimeMs now = 1'700'000'000'000;
  for (int step = 0; step < steps; ++step) {
    now += 50 + static_cast<TimeMs>(step % 7) * 100;
    Command command = generator.Next(live, now);
    State before = live;
    Decision d = DecideAndApply(live, command);
    if (d.duplicate) {
      ++stats.duplicates;
      ASSERT_TRUE(live == before) << "a duplicate changed the state at step " << step;
    } else if (d.accepted()) {
      ++stats.accepted;
      ASSERT_FALSE(d.events.empty());
    } else {
      ++stats.rejected;
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
}

}  // namespace
}  // namespace ledger
