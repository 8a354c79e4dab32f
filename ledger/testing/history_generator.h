// A seeded generator of random but plausible command sequences, for property
// tests of the ledger core and of everything that folds its events
// (projector, audit). Retries earlier commands verbatim, sends invalid ones,
// and aims most stock and reservation traffic at a few hot SKUs.
//
// Test-only. Thread-safety: one thread.
#ifndef LEDGER_TESTING_HISTORY_GENERATOR_H_
#define LEDGER_TESTING_HISTORY_GENERATOR_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/command.h"
#include "ledger/state.h"

namespace ledger::test_support {

inline constexpr int kSkus = 40;
inline constexpr int kHotSkus = 3;
inline constexpr int kWarehouses = 5;

class HistoryGenerator {
 public:
  explicit HistoryGenerator(std::uint64_t seed) : rng_(seed) {}

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

  // One of the last few reservations asked for: likely still active.
  ReservationId RecentReservation() {
    if (reservations_.empty()) return ReservationId("R-unknown-0");
    const std::size_t recent = std::min<std::size_t>(reservations_.size(), 5);
    return ReservationId(reservations_[reservations_.size() - 1 - Pick(recent)]);
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
      Sku sku = AnySku();
      WarehouseCode warehouse = AnyWarehouse();
      std::optional<Quantity> expected = Expectation(state, sku, warehouse);
      return AdjustStock{std::move(sku), std::move(warehouse), delta, reason, "", expected};
    }
    if (roll < 30) {
      Sku sku = AnySku();
      WarehouseCode warehouse = AnyWarehouse();
      std::optional<Quantity> expected = Expectation(state, sku, warehouse);
      return CountStock{std::move(sku), std::move(warehouse), Qty(60) - 1, expected};
    }
    if (roll < 34) {
      TransferId id(absl::StrCat("T-", transfers_.size()));
      transfers_.push_back(id.value());
      return ShipTransfer{id, AnySku(), AnyWarehouse(), AnyWarehouse(), Qty(15)};
    }
    if (roll < 37 && !transfers_.empty()) return ReceiveTransfer{TransferId(transfers_[Pick(transfers_.size())])};
    if (roll < 70) return AnyReserve(now_ms);
    if (roll < 82) return AnyCommit(state);
    if (roll < 91) return ReleaseReservation{KnownReservation(state), ReleaseReason::kCancelled};
    if (roll < 92) return ExtendReservation{RecentReservation(), DurationMs{1'000 + Pick(180'000)}};
    if (roll < 94) return ExpireReservation{KnownReservation(state)};
    if (roll < 95) return ExpireReservation{RecentReservation(), ExpireWhen::kNow};
    if (roll < 96) return ExtendReservation{RecentReservation(), DurationMs{1'000 + Pick(180'000)}};
    // Sales blocks on the hot SKUs, everywhere or at one warehouse, short
    // lived: most unblocks lift a block that stands, some name a scope that
    // is not blocked.
    WarehouseCode scope = Chance(30) ? WarehouseCode() : AnyWarehouse();
    Sku hot(absl::StrCat("SKU-", Pick(kHotSkus)));
    if (roll < 97) return BlockSales{hot, scope, Chance(50) ? "recall" : "price error"};
    const ItemState* item = state.item(hot);
    if (item != nullptr && !item->sales_blocks.empty() && !Chance(20)) {
      scope = item->sales_blocks[Pick(item->sales_blocks.size())].warehouse;
    }
    return UnblockSales{hot, scope};
  }

  // A whole commit more often than not; else a partial shipment of some allocations (by
  // request line or by SKU and warehouse), now and then one naming more
  // units than it holds or overlapping another line.
  CommitReservation AnyCommit(const State& state) {
    if (!Chance(60)) return CommitReservation{KnownReservation(state)};
    CommitReservation c{RecentReservation()};  // likely still active
    const ReservationState* r = state.reservation(c.reservation_id);
    if (r == nullptr) return c;
    for (const ReservationAllocation& a : r->allocations) {
      if (!a.present || Chance(40)) continue;
      CommitLine line;
      if (Chance(50)) {
        line.request_line = a.request_line;
      } else {
        line.sku = state.item(a.item).sku;
        line.warehouse = state.warehouse(a.warehouse).code;
      }
      line.quantity = Qty(a.quantity) + (Chance(15) ? a.quantity : 0);
      c.lines.push_back(std::move(line));
    }
    return c;
  }

  // An adjustment's or count's expected on hand: none mostly, else the
  // figure now (fresh) or one it is not (stale, as after a concurrent change).
  std::optional<Quantity> Expectation(const State& state, const Sku& sku, const WarehouseCode& warehouse) {
    if (!Chance(40)) return std::nullopt;
    const Quantity on_hand = state.Level(sku, warehouse).on_hand;
    if (Chance(50)) return on_hand;
    return on_hand + 1 + static_cast<Quantity>(Pick(3));
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
    r.ttl_ms = DurationMs{1'000 + Pick(120'000)};
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

}  // namespace ledger::test_support

#endif  // LEDGER_TESTING_HISTORY_GENERATOR_H_
