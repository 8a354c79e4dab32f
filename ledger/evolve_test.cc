// Unit tests for Evolve: refusal of invariant-breaking events (leaving the
// state exactly as it was), tolerance of cross-partition interleavings,
// bounded memory (forgetting command ids and resolved entities), and the
// expiry index.
#include "ledger/evolve.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

using namespace std::chrono_literals;

// Commands and events are written with C++20 designated initializers, leaving
// the other members at their defaults on purpose; GCC's -Wextra would flag
// every one.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ledger {
namespace {

constexpr TimeMs kStart = AtEpochMs(1'700'000'000'000);

class EvolveTest : public ::testing::Test {
 protected:
  // An event as the log would hold it, keyed by `sku` (empty: warehouse event).
  Event Ev(const std::string& sku, EventPayload payload, const std::string& command_id = "") {
    Event e;
    ++seq_;
    e.envelope.event_id = EventId{0xfeed, seq_};
    e.envelope.schema_version = kSchemaVersion;
    e.envelope.occurred_at_ms = now_;
    e.envelope.command_id = CommandId(command_id.empty() ? "ev-" + std::to_string(seq_) : command_id);
    e.envelope.sku = Sku(sku);
    e.envelope.command_event_count = 1;
    e.payload = std::move(payload);
    return e;
  }

  void Fold(const Event& e) {
    absl::Status s = Evolve(state_, e);
    ASSERT_TRUE(s.ok()) << KindName(e.payload) << ": " << s;
  }

  // Expects FAILED_PRECONDITION and an unchanged state.
  void ExpectRefused(const Event& e) {
    State before = state_;
    std::uint64_t applied = state_.events_applied();
    absl::Status s = Evolve(state_, e);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << KindName(e.payload) << ": " << s;
    EXPECT_NE(s.message().find("invariant"), std::string_view::npos) << s;
    EXPECT_TRUE(state_ == before) << "a refused " << KindName(e.payload) << " changed the state";
    EXPECT_EQ(state_.events_applied(), applied);
  }

  // Folds: item A and B, warehouses W1 and W2, 10 of A at W1.
  void Basic() {
    Fold(Ev("A", ItemCreated{.name = "a"}));
    Fold(Ev("B", ItemCreated{.name = "b"}));
    Fold(Ev("", WarehouseRegistered{.warehouse = WarehouseCode("W1"), .name = "w1", .priority = 1}));
    Fold(Ev("", WarehouseRegistered{.warehouse = WarehouseCode("W2"), .name = "w2", .priority = 2}));
    Fold(Ev("A", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = 10}));
  }

  static ReservationLineReserved Line(const std::string& id, const std::string& wh, Quantity quantity,
                                      std::uint32_t index = 0, std::uint32_t count = 1, TimeMs expires = {}) {
    return ReservationLineReserved{.reservation_id = ReservationId(id),
                                   .order_id = OrderId("O-" + id),
                                   .warehouse = WarehouseCode(wh),
                                   .quantity = quantity,
                                   .expires_at_ms = expires == TimeMs{} ? kStart + 60'000ms : expires,
                                   .allocation_index = index,
                                   .allocation_count = count,
                                   .request_line = index};
  }

  StockLevel Level(const std::string& sku, const std::string& wh) const {
    return state_.Level(Sku(sku), WarehouseCode(wh));
  }

  // Decide-side helpers, for the forgetting tests.
  Decision Run(const std::string& id, CommandBody body) {
    Command c;
    c.meta.command_id = CommandId(id);
    c.meta.now_ms = now_;
    c.body = std::move(body);
    return DecideAndApply(state_, c);
  }
  void RunOk(const std::string& id, CommandBody body) {
    Decision d = Run(id, std::move(body));
    ASSERT_TRUE(d.accepted()) << d.rejection->message;
    ASSERT_FALSE(d.duplicate);
  }
  void SetUpByCommands() {
    RunOk("setup-1", CreateItem{.sku = Sku("A"), .name = "a"});
    RunOk("setup-2", RegisterWarehouse{.warehouse = WarehouseCode("W1")});
    RunOk("setup-3", ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 100});
  }
  static ReceiveStock Receive1() {
    return ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 1};
  }
  static Reserve Res(const std::string& id, Quantity quantity = 1, DurationMs ttl = 60s) {
    return Reserve{.reservation_id = ReservationId(id),
                   .lines = {ReserveLine{.sku = Sku("A"), .quantity = quantity}},
                   .ttl_ms = ttl};
  }

  State state_;
  TimeMs now_ = kStart;
  std::uint64_t seq_ = 0;
};

// ---------------------------------------------------------------- refusals

TEST_F(EvolveTest, RefusesReservingMoreThanAvailable) {
  Basic();
  ExpectRefused(Ev("A", Line("R1", "W1", 11)));
  Fold(Ev("A", Line("R1", "W1", 6)));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{10, 6, 0}));
  ExpectRefused(Ev("A", Line("R2", "W1", 5)));
  // Nothing at W2 and nothing of B anywhere.
  ExpectRefused(Ev("A", Line("R3", "W2", 1)));
  ExpectRefused(Ev("B", Line("R4", "W1", 1)));
  Fold(Ev("A", Line("R2", "W1", 4)));
  EXPECT_EQ(Level("A", "W1").available(), 0);
}

TEST_F(EvolveTest, RefusesReservationLineOutOfRange) {
  Basic();
  ExpectRefused(Ev("A", Line("R1", "W1", 0)));
  ExpectRefused(Ev("A", Line("R1", "W1", -1)));
  ExpectRefused(Ev("A", Line("R1", "W1", 1, 0, 0)));   // allocation_count 0
  ExpectRefused(Ev("A", Line("R1", "W1", 1, 2, 2)));   // index past count
  ExpectRefused(Ev("A", Line("R1", "W1", 1, 0, static_cast<std::uint32_t>(kReservationAllocationsMax + 1))));
}

TEST_F(EvolveTest, RefusesTheSameAllocationTwiceOrAnotherShape) {
  Basic();
  Fold(Ev("A", Line("R1", "W1", 2, 0, 2)));
  ExpectRefused(Ev("A", Line("R1", "W1", 2, 0, 2)));  // allocation 0 again
  ExpectRefused(Ev("A", Line("R1", "W1", 2, 1, 3)));  // another allocation_count
  Fold(Ev("A", Line("R1", "W1", 2, 1, 2)));
  EXPECT_EQ(Level("A", "W1").reserved, 4);
}

TEST_F(EvolveTest, RefusesCommittingTwice) {
  Basic();
  Fold(Ev("A", Line("R1", "W1", 3)));
  ReservationCommitted commit{.reservation_id = ReservationId("R1"), .warehouse = WarehouseCode("W1"),
                              .quantity = 3, .allocation_index = 0};
  Fold(Ev("A", commit));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{7, 0, 0}));
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kCommitted);
  ExpectRefused(Ev("A", commit));
  ExpectRefused(Ev("A", ReservationReleased{.reservation_id = ReservationId("R1"),
                                            .warehouse = WarehouseCode("W1"), .quantity = 3}));
  ExpectRefused(Ev("A", ReservationExpired{.reservation_id = ReservationId("R1"),
                                           .warehouse = WarehouseCode("W1"), .quantity = 3}));
}

TEST_F(EvolveTest, RefusesResolvingAnUnknownReservation) {
  Basic();
  ExpectRefused(Ev("A", ReservationCommitted{.reservation_id = ReservationId("R9"),
                                             .warehouse = WarehouseCode("W1"), .quantity = 1}));
  ExpectRefused(Ev("A", ReservationReleased{.reservation_id = ReservationId("R9"),
                                            .warehouse = WarehouseCode("W1"), .quantity = 1}));
  ExpectRefused(Ev("A", ReservationExpired{.reservation_id = ReservationId("R9"),
                                           .warehouse = WarehouseCode("W1"), .quantity = 1}));
  // An allocation index the reservation does not have.
  Fold(Ev("A", Line("R1", "W1", 1)));
  ExpectRefused(Ev("A", ReservationCommitted{.reservation_id = ReservationId("R1"),
                                             .warehouse = WarehouseCode("W1"), .quantity = 1,
                                             .allocation_index = 1}));
}

TEST_F(EvolveTest, RefusesResolutionThatDisagreesWithItsReservation) {
  Basic();
  Fold(Ev("A", StockReceived{.warehouse = WarehouseCode("W2"), .quantity = 10}));
  Fold(Ev("A", Line("R1", "W1", 3)));
  auto commit = [](Quantity q, const char* wh) {
    return ReservationCommitted{.reservation_id = ReservationId("R1"), .warehouse = WarehouseCode(wh),
                                .quantity = q};
  };
  ExpectRefused(Ev("A", commit(2, "W1")));  // quantity
  ExpectRefused(Ev("A", commit(3, "W2")));  // warehouse
  ExpectRefused(Ev("A", commit(3, "W7")));  // unknown warehouse
  ExpectRefused(Ev("B", commit(3, "W1")));  // sku
  Fold(Ev("A", commit(3, "W1")));
}

TEST_F(EvolveTest, PartialCommitMovesBothFiguresAndMustAddUpToTheAllocation) {
  Basic();
  Fold(Ev("A", Line("R1", "W1", 4)));
  auto commit = [](Quantity q, Quantity released) {
    return ReservationCommitted{.reservation_id = ReservationId("R1"), .warehouse = WarehouseCode("W1"),
                                .quantity = q, .released_quantity = released};
  };
  ExpectRefused(Ev("A", commit(1, 2)));   // 3 of 4
  ExpectRefused(Ev("A", commit(2, 3)));   // 5 of 4
  ExpectRefused(Ev("A", commit(5, -1)));  // adds up, but releases a negative
  ExpectRefused(Ev("A", commit(-1, 5)));
  Fold(Ev("A", commit(1, 3)));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{9, 0, 0}));
  const ReservationAllocation& a = state_.reservation(ReservationId("R1"))->allocations[0];
  EXPECT_EQ(a.status, ReservationStatus::kCommitted);
  EXPECT_EQ(a.released, 3);
  EXPECT_EQ(a.committed(), 1);
  ExpectRefused(Ev("A", commit(1, 3)));  // resolved once
}

TEST_F(EvolveTest, RefusesResolvingAnIncompleteAllocation) {
  Basic();
  Fold(Ev("A", Line("R1", "W1", 3, 1, 2)));  // allocation 0 not folded yet
  ExpectRefused(Ev("A", ReservationReleased{.reservation_id = ReservationId("R1"),
                                            .warehouse = WarehouseCode("W1"), .quantity = 3,
                                            .allocation_index = 0}));
}

TEST_F(EvolveTest, RefusesCreatingAnItemTwice) {
  Basic();
  ExpectRefused(Ev("A", ItemCreated{.name = "again"}));
  EXPECT_EQ(state_.item(Sku("A"))->name, "a");
}

TEST_F(EvolveTest, RefusesUpdatesOfUnknownItemsAndWarehouses) {
  Basic();
  ExpectRefused(Ev("Z", ItemUpdated{.name = "z"}));
  ExpectRefused(Ev("Z", ItemDiscontinued{}));
  ExpectRefused(Ev("", WarehouseUpdated{.warehouse = WarehouseCode("W9"), .name = "x"}));
  ExpectRefused(Ev("", WarehouseRegistered{.warehouse = WarehouseCode("W1"), .name = "again"}));
  EXPECT_EQ(state_.warehouse(WarehouseCode("W1"))->name, "w1");
}

TEST_F(EvolveTest, RefusesReceivedQuantityOutOfRange) {
  Basic();
  ExpectRefused(Ev("A", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = 0}));
  ExpectRefused(Ev("A", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = -5}));
  ExpectRefused(Ev("A", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = kMovementQuantityMax + 1}));
  // Into a fresh (sku, warehouse) too: nothing may be interned by a refused event.
  ExpectRefused(Ev("NEW", StockReceived{.warehouse = WarehouseCode("NEWWH"), .quantity = 0}));
  EXPECT_EQ(state_.item(Sku("NEW")), nullptr);
  EXPECT_EQ(state_.warehouse(WarehouseCode("NEWWH")), nullptr);
}

TEST_F(EvolveTest, RefusesOnHandPastStockMax) {
  Basic();
  Fold(Ev("A", StockCounted{.warehouse = WarehouseCode("W1"), .counted = kStockMax, .delta = kStockMax - 10}));
  EXPECT_EQ(Level("A", "W1").on_hand, kStockMax);
  ExpectRefused(Ev("A", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = 1}));
  ExpectRefused(Ev("A", StockAdjusted{.warehouse = WarehouseCode("W1"), .delta = 1}));
}

TEST_F(EvolveTest, RefusesAdjustmentsBelowZeroOrBelowReservedOrZero) {
  Basic();
  ExpectRefused(Ev("A", StockAdjusted{.warehouse = WarehouseCode("W1"), .delta = -11}));
  ExpectRefused(Ev("A", StockAdjusted{.warehouse = WarehouseCode("W1"), .delta = 0}));
  ExpectRefused(Ev("A", StockAdjusted{.warehouse = WarehouseCode("W1"), .delta = kMovementQuantityMax + 1}));
  Fold(Ev("A", Line("R1", "W1", 4)));
  ExpectRefused(Ev("A", StockAdjusted{.warehouse = WarehouseCode("W1"), .delta = -7}));
  Fold(Ev("A", StockAdjusted{.warehouse = WarehouseCode("W1"), .delta = -6}));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{4, 4, 0}));
}

TEST_F(EvolveTest, RefusesCountWhoseDeltaDisagrees) {
  Basic();
  ExpectRefused(Ev("A", StockCounted{.warehouse = WarehouseCode("W1"), .counted = 7, .delta = -2}));
  ExpectRefused(Ev("A", StockCounted{.warehouse = WarehouseCode("W1"), .counted = 7, .delta = 7}));
  Fold(Ev("A", StockCounted{.warehouse = WarehouseCode("W1"), .counted = 7, .delta = -3}));
  EXPECT_EQ(Level("A", "W1").on_hand, 7);
  // A count below reserved is refused even when its delta agrees.
  Fold(Ev("A", Line("R1", "W1", 5)));
  ExpectRefused(Ev("A", StockCounted{.warehouse = WarehouseCode("W1"), .counted = 4, .delta = -3}));
}

TEST_F(EvolveTest, RefusesReceivingAnUnknownTransfer) {
  Basic();
  ExpectRefused(Ev("A", TransferReceived{.transfer_id = TransferId("T9"), .from = WarehouseCode("W1"),
                                         .to = WarehouseCode("W2"), .quantity = 1}));
}

TEST_F(EvolveTest, TransferShipAndReceiveAndTheirRefusals) {
  Basic();
  TransferShipped ship{.transfer_id = TransferId("T1"), .from = WarehouseCode("W1"), .to = WarehouseCode("W2"),
                       .quantity = 4};
  ExpectRefused(Ev("A", TransferShipped{.transfer_id = TransferId("T1"), .from = WarehouseCode("W1"),
                                        .to = WarehouseCode("W1"), .quantity = 4}));
  ExpectRefused(Ev("A", TransferShipped{.transfer_id = TransferId("T1"), .from = WarehouseCode("W1"),
                                        .to = WarehouseCode("W2"), .quantity = 0}));
  ExpectRefused(Ev("A", TransferShipped{.transfer_id = TransferId("T1"), .from = WarehouseCode("W1"),
                                        .to = WarehouseCode("W2"), .quantity = 11}));
  Fold(Ev("A", Line("R1", "W1", 7)));
  ExpectRefused(Ev("A", ship));  // would take reserved stock
  Fold(Ev("A", ReservationReleased{.reservation_id = ReservationId("R1"), .warehouse = WarehouseCode("W1"),
                                   .quantity = 7}));
  Fold(Ev("A", ship));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{6, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{0, 0, 4}));
  ExpectRefused(Ev("A", ship));  // shipped twice

  TransferReceived receipt{.transfer_id = TransferId("T1"), .from = WarehouseCode("W1"), .to = WarehouseCode("W2"),
                           .quantity = 4};
  TransferReceived wrong_quantity = receipt;
  wrong_quantity.quantity = 3;
  ExpectRefused(Ev("A", wrong_quantity));
  ExpectRefused(Ev("B", receipt));  // another sku
  Fold(Ev("A", receipt));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{4, 0, 0}));
  EXPECT_TRUE(state_.transfer(TransferId("T1"))->received);
  ExpectRefused(Ev("A", receipt));  // received twice
}

TEST_F(EvolveTest, RefusesTransferReceivedAtAnotherWarehouse) {
  Basic();
  Fold(Ev("", WarehouseRegistered{.warehouse = WarehouseCode("W3"), .name = "w3"}));
  Fold(Ev("A", TransferShipped{.transfer_id = TransferId("T1"), .from = WarehouseCode("W1"),
                               .to = WarehouseCode("W2"), .quantity = 4}));
  Fold(Ev("A", TransferShipped{.transfer_id = TransferId("T2"), .from = WarehouseCode("W1"),
                               .to = WarehouseCode("W3"), .quantity = 4}));
  // T1 went to W2; a receipt of it at W3 contradicts the transfer.
  ExpectRefused(Ev("A", TransferReceived{.transfer_id = TransferId("T1"), .from = WarehouseCode("W1"),
                                         .to = WarehouseCode("W3"), .quantity = 4}));
}

TEST_F(EvolveTest, AcceptedEventsAreCountedAndRaiseTheHighWaterMark) {
  Basic();
  EXPECT_EQ(state_.events_applied(), 5u);
  now_ = kStart + 500ms;
  Fold(Ev("A", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = 1}));
  EXPECT_EQ(state_.time_high_water_ms(), kStart + 500ms);
  now_ = kStart + 100ms;  // an older event (another partition) does not lower it
  Fold(Ev("A", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = 1}));
  EXPECT_EQ(state_.time_high_water_ms(), kStart + 500ms);
  EXPECT_EQ(state_.events_applied(), 7u);
}

TEST_F(EvolveTest, RemembersTheCommandOfEachEventOnce) {
  Basic();
  Event first = Ev("A", Line("R1", "W1", 1, 0, 2), "cmd-x");
  Event second = Ev("A", Line("R1", "W1", 1, 1, 2), "cmd-x");
  first.envelope.command_fingerprint = second.envelope.command_fingerprint = 1234;
  first.envelope.command_event_count = second.envelope.command_event_count = 2;
  second.envelope.command_event_index = 1;
  std::size_t before = state_.remembered_commands();
  Fold(first);
  Fold(second);
  EXPECT_EQ(state_.remembered_commands(), before + 1);
  const CommandRecord* rec = state_.command(CommandId("cmd-x"));
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(*rec, (CommandRecord{1234, kStart, 2}));
}

// ---------------------------------------------------------------- cross-partition

TEST_F(EvolveTest, StockBeforeWarehouseRegistrationIsAccepted) {
  Fold(Ev("A", ItemCreated{.name = "a"}));
  Fold(Ev("A", StockReceived{.warehouse = WarehouseCode("LATE"), .quantity = 5}));
  EXPECT_EQ(Level("A", "LATE").on_hand, 5);
  const WarehouseState* w = state_.warehouse(WarehouseCode("LATE"));
  ASSERT_NE(w, nullptr);
  EXPECT_FALSE(w->registered);

  // Until registered, decide treats it as unknown and allocation ignores it.
  Command c;
  c.meta.command_id = CommandId("c1");
  c.meta.now_ms = now_;
  c.body = Reserve{.reservation_id = ReservationId("R1"), .lines = {ReserveLine{.sku = Sku("A"), .quantity = 1}}};
  Decision d = Decide(state_, c);
  ASSERT_TRUE(d.rejection.has_value());
  EXPECT_EQ(d.rejection->reason, RejectionReason::kInsufficientStock);
  c.body = ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("LATE"), .quantity = 1};
  d = Decide(state_, c);
  ASSERT_TRUE(d.rejection.has_value());
  EXPECT_EQ(d.rejection->reason, RejectionReason::kUnknownWarehouse);

  Fold(Ev("", WarehouseRegistered{.warehouse = WarehouseCode("LATE"), .name = "late", .region = "eu"}));
  w = state_.warehouse(WarehouseCode("LATE"));
  EXPECT_TRUE(w->registered);
  EXPECT_EQ(w->region, "eu");
  EXPECT_EQ(Level("A", "LATE").on_hand, 5);
  c.body = Reserve{.reservation_id = ReservationId("R1"), .lines = {ReserveLine{.sku = Sku("A"), .quantity = 1}}};
  EXPECT_TRUE(Decide(state_, c).accepted());
}

TEST_F(EvolveTest, StockBeforeItemCreationIsAccepted) {
  Fold(Ev("", WarehouseRegistered{.warehouse = WarehouseCode("W1")}));
  Fold(Ev("A", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = 5}));
  const ItemState* item = state_.item(Sku("A"));
  ASSERT_NE(item, nullptr);
  EXPECT_FALSE(item->created);
  Fold(Ev("A", ItemCreated{.name = "late"}));
  item = state_.item(Sku("A"));
  EXPECT_TRUE(item->created);
  EXPECT_EQ(item->name, "late");
  EXPECT_EQ(Level("A", "W1").on_hand, 5);
}

TEST_F(EvolveTest, ReservationAllocationOneBeforeZeroIsAccepted) {
  Basic();
  Fold(Ev("B", StockReceived{.warehouse = WarehouseCode("W2"), .quantity = 3}));
  // Allocation 1 (B's partition) arrives first.
  Fold(Ev("B", Line("R1", "W2", 2, 1, 2, kStart + 9000ms)));
  const ReservationState* r = state_.reservation(ReservationId("R1"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->allocations.size(), 2u);
  EXPECT_FALSE(r->complete());
  EXPECT_FALSE(r->allocations[0].present);
  EXPECT_TRUE(r->allocations[1].present);
  EXPECT_EQ(r->status(), ReservationStatus::kActive);
  EXPECT_EQ(r->expires_at_ms, kStart + 9000ms);
  EXPECT_EQ(r->order_id, OrderId("O-R1"));
  EXPECT_EQ(Level("B", "W2").reserved, 2);

  // Not resolvable until complete.
  Command commit;
  commit.meta.command_id = CommandId("commit");
  commit.meta.now_ms = now_;
  commit.body = CommitReservation{.reservation_id = ReservationId("R1")};
  Decision early = Decide(state_, commit);
  EXPECT_FALSE(early.accepted());
  EXPECT_TRUE(early.events.empty());

  Fold(Ev("A", Line("R1", "W1", 4, 0, 2, kStart + 9000ms)));
  r = state_.reservation(ReservationId("R1"));
  EXPECT_TRUE(r->complete());
  EXPECT_EQ(r->status(), ReservationStatus::kActive);
  EXPECT_EQ(Level("A", "W1").reserved, 4);
  EXPECT_EQ(state_.NextExpiry(), std::optional<TimeMs>(kStart + 9000ms));

  Decision d = DecideAndApply(state_, commit);
  ASSERT_TRUE(d.accepted());
  EXPECT_EQ(d.events.size(), 2u);
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kCommitted);
  EXPECT_EQ(Level("A", "W1"), (StockLevel{6, 0, 0}));
  EXPECT_EQ(Level("B", "W2"), (StockLevel{1, 0, 0}));
}

TEST_F(EvolveTest, ReplayingDecidedEventsReproducesTheState) {
  SetUpByCommands();
  RunOk("r1", Res("R1", 5));
  RunOk("c1", CommitReservation{.reservation_id = ReservationId("R1")});
  RunOk("r2", Res("R2", 7));
  // Rebuild from the events a fresh decide produces on a second state.
  State replica;
  State shadow;
  std::vector<Command> commands;
  auto add = [&](const std::string& id, CommandBody body) {
    Command c;
    c.meta.command_id = CommandId(id);
    c.meta.now_ms = now_;
    c.body = std::move(body);
    commands.push_back(std::move(c));
  };
  add("setup-1", CreateItem{.sku = Sku("A"), .name = "a"});
  add("setup-2", RegisterWarehouse{.warehouse = WarehouseCode("W1")});
  add("setup-3", ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 100});
  add("r1", Res("R1", 5));
  add("c1", CommitReservation{.reservation_id = ReservationId("R1")});
  add("r2", Res("R2", 7));
  for (const Command& c : commands) {
    Decision d = DecideAndApply(shadow, c);
    ASSERT_TRUE(d.accepted());
    for (const Event& e : d.events) ASSERT_TRUE(Evolve(replica, e).ok());
  }
  EXPECT_TRUE(replica == state_);
  EXPECT_TRUE(shadow == state_);
}

// ---------------------------------------------------------------- forgetting

TEST_F(EvolveTest, ForgetsOldestCommandIdsPastTheCount) {
  state_ = State(LedgerOptions{.remembered_commands_max = 3});
  SetUpByCommands();
  RunOk("k1", Receive1());
  RunOk("k2", Receive1());
  RunOk("k3", Receive1());
  EXPECT_EQ(state_.remembered_commands(), 3u);
  EXPECT_EQ(state_.command(CommandId("setup-3")), nullptr);
  EXPECT_NE(state_.command(CommandId("k1")), nullptr);
  RunOk("k4", Receive1());
  EXPECT_EQ(state_.remembered_commands(), 3u);
  EXPECT_EQ(state_.command(CommandId("k1")), nullptr);
  EXPECT_NE(state_.command(CommandId("k2")), nullptr);
  EXPECT_NE(state_.command(CommandId("k4")), nullptr);
  EXPECT_EQ(Level("A", "W1").on_hand, 104);

  // A remembered id is a duplicate...
  Decision dup = Run("k4", Receive1());
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(Level("A", "W1").on_hand, 104);
  // ...a forgotten one is decided afresh.
  Decision again = Run("k1", Receive1());
  EXPECT_TRUE(again.accepted());
  EXPECT_FALSE(again.duplicate);
  EXPECT_EQ(again.events.size(), 1u);
  EXPECT_EQ(Level("A", "W1").on_hand, 105);
}

TEST_F(EvolveTest, ForgetsCommandIdsPastTheAge) {
  state_ = State(LedgerOptions{.remembered_commands_age_max_ms = 1000ms});
  SetUpByCommands();
  RunOk("old", Receive1());
  now_ += 1000ms;
  RunOk("mid", Receive1());
  EXPECT_NE(state_.command(CommandId("old")), nullptr) << "exactly the age is still remembered";
  now_ += 1ms;
  RunOk("new", Receive1());
  EXPECT_EQ(state_.command(CommandId("old")), nullptr);
  EXPECT_NE(state_.command(CommandId("mid")), nullptr);
  EXPECT_NE(state_.command(CommandId("new")), nullptr);
  Decision retry = Run("old", Receive1());
  EXPECT_FALSE(retry.duplicate);
  EXPECT_EQ(retry.events.size(), 1u);
}

TEST_F(EvolveTest, DropsResolvedReservationsPastTheCount) {
  state_ = State(LedgerOptions{.resolved_kept_max = 1});
  SetUpByCommands();
  RunOk("r1", Res("R1"));
  RunOk("r2", Res("R2"));
  RunOk("r3", Res("R3"));
  RunOk("c1", CommitReservation{.reservation_id = ReservationId("R1")});
  EXPECT_NE(state_.reservation(ReservationId("R1")), nullptr);
  RunOk("c2", ReleaseReservation{.reservation_id = ReservationId("R2")});
  EXPECT_EQ(state_.reservation(ReservationId("R1")), nullptr);
  ASSERT_NE(state_.reservation(ReservationId("R2")), nullptr);
  EXPECT_EQ(state_.reservation(ReservationId("R2"))->status(), ReservationStatus::kReleased);
  // Active reservations are never dropped.
  ASSERT_NE(state_.reservation(ReservationId("R3")), nullptr);
  EXPECT_EQ(state_.reservation(ReservationId("R3"))->status(), ReservationStatus::kActive);

  Decision d = Run("c3", CommitReservation{.reservation_id = ReservationId("R1")});
  ASSERT_TRUE(d.rejection.has_value());
  EXPECT_EQ(d.rejection->reason, RejectionReason::kUnknownReservation);
  // The forgotten id may be used again.
  RunOk("r1-again", Res("R1"));
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kActive);
  // Stock figures are unaffected by forgetting: 100 - 1 committed, R3 and new R1 reserved.
  EXPECT_EQ(Level("A", "W1"), (StockLevel{99, 2, 0}));
}

TEST_F(EvolveTest, DropsResolvedReservationsAndTransfersPastTheAge) {
  state_ = State(LedgerOptions{.resolved_kept_age_max_ms = 1000ms});
  SetUpByCommands();
  RunOk("w2", RegisterWarehouse{.warehouse = WarehouseCode("W2")});
  RunOk("r1", Res("R1"));
  RunOk("r2", Res("R2", 1, 2'000s));
  RunOk("t1", ShipTransfer{.transfer_id = TransferId("T1"), .sku = Sku("A"), .from = WarehouseCode("W1"),
                           .to = WarehouseCode("W2"), .quantity = 3});
  RunOk("t2", ShipTransfer{.transfer_id = TransferId("T2"), .sku = Sku("A"), .from = WarehouseCode("W1"),
                           .to = WarehouseCode("W2"), .quantity = 3});
  RunOk("c1", CommitReservation{.reservation_id = ReservationId("R1")});
  RunOk("rt1", ReceiveTransfer{.transfer_id = TransferId("T1")});
  now_ += 1000ms;
  RunOk("k1", Receive1());
  EXPECT_NE(state_.reservation(ReservationId("R1")), nullptr);
  EXPECT_NE(state_.transfer(TransferId("T1")), nullptr);
  now_ += 1ms;
  RunOk("k2", Receive1());
  EXPECT_EQ(state_.reservation(ReservationId("R1")), nullptr);
  EXPECT_EQ(state_.transfer(TransferId("T1")), nullptr);
  // Active reservations and transfers in flight stay, however old.
  EXPECT_NE(state_.reservation(ReservationId("R2")), nullptr);
  ASSERT_NE(state_.transfer(TransferId("T2")), nullptr);
  EXPECT_FALSE(state_.transfer(TransferId("T2"))->received);

  Decision d = Run("rt1-again", ReceiveTransfer{.transfer_id = TransferId("T1")});
  ASSERT_TRUE(d.rejection.has_value());
  EXPECT_EQ(d.rejection->reason, RejectionReason::kUnknownTransfer);
  EXPECT_EQ(Level("A", "W2"), (StockLevel{3, 0, 3}));
}

TEST_F(EvolveTest, ForgettingFollowsEventTimeNotArrival) {
  state_ = State(LedgerOptions{.remembered_commands_age_max_ms = 1000ms});
  SetUpByCommands();
  now_ += 5000ms;
  RunOk("late", Receive1());
  // Every set-up command is now older than the age, by event time.
  EXPECT_EQ(state_.command(CommandId("setup-1")), nullptr);
  EXPECT_NE(state_.command(CommandId("late")), nullptr);
  // An event stamped earlier (another partition) does not bring time back.
  now_ = kStart;
  RunOk("early", Receive1());
  EXPECT_EQ(state_.time_high_water_ms(), kStart + 5000ms);
  // Ids leave in the order they were remembered: "early" queues behind "late"
  // and is forgotten with it, once the high-water mark passes late's age.
  now_ = kStart + 6000ms;
  RunOk("later", Receive1());
  EXPECT_NE(state_.command(CommandId("late")), nullptr);
  EXPECT_NE(state_.command(CommandId("early")), nullptr);
  now_ = kStart + 6001ms;
  RunOk("latest", Receive1());
  EXPECT_EQ(state_.command(CommandId("late")), nullptr);
  EXPECT_EQ(state_.command(CommandId("early")), nullptr);
  EXPECT_NE(state_.command(CommandId("later")), nullptr);
  EXPECT_EQ(state_.remembered_commands(), 2u);
}

// ---------------------------------------------------------------- expiry index

TEST_F(EvolveTest, ExpiredByAndNextExpiry) {
  SetUpByCommands();
  EXPECT_FALSE(state_.NextExpiry().has_value());
  EXPECT_TRUE(state_.ExpiredBy(kStart + 1'000'000'000ms, 10).empty());
  RunOk("r1", Res("R-5", 1, 5s));
  RunOk("r2", Res("R-3", 1, 3s));
  RunOk("r3", Res("R-4b", 1, 4s));
  RunOk("r4", Res("R-4a", 1, 4s));
  EXPECT_EQ(state_.NextExpiry(), std::optional<TimeMs>(kStart + 3000ms));

  EXPECT_TRUE(state_.ExpiredBy(kStart + 2999ms, 10).empty());
  EXPECT_EQ(state_.ExpiredBy(kStart + 3000ms, 10), std::vector<ReservationId>{ReservationId("R-3")});
  // Oldest first; equal expiries by id.
  EXPECT_EQ(state_.ExpiredBy(kStart + 10'000ms, 10),
            (std::vector<ReservationId>{ReservationId("R-3"), ReservationId("R-4a"), ReservationId("R-4b"),
                                        ReservationId("R-5")}));
  EXPECT_EQ(state_.ExpiredBy(kStart + 10'000ms, 2),
            (std::vector<ReservationId>{ReservationId("R-3"), ReservationId("R-4a")}));
  EXPECT_TRUE(state_.ExpiredBy(kStart + 10'000ms, 0).empty());

  // Resolved reservations leave the index, whichever way they resolve.
  RunOk("c", CommitReservation{.reservation_id = ReservationId("R-3")});
  EXPECT_EQ(state_.NextExpiry(), std::optional<TimeMs>(kStart + 4000ms));
  now_ = kStart + 4000ms;
  RunOk("e", ExpireReservation{.reservation_id = ReservationId("R-4a")});
  RunOk("x", ReleaseReservation{.reservation_id = ReservationId("R-4b")});
  EXPECT_EQ(state_.ExpiredBy(kStart + 10'000ms, 10), std::vector<ReservationId>{ReservationId("R-5")});
  EXPECT_EQ(state_.NextExpiry(), std::optional<TimeMs>(kStart + 5000ms));
  RunOk("y", ReleaseReservation{.reservation_id = ReservationId("R-5")});
  EXPECT_FALSE(state_.NextExpiry().has_value());
  EXPECT_TRUE(state_.ExpiredBy(kStart + 10'000ms, 10).empty());
}

TEST_F(EvolveTest, RefusedEventLeavesTheExpiryIndexAlone) {
  Basic();
  Fold(Ev("A", Line("R1", "W1", 10, 0, 1, kStart + 100ms)));
  ExpectRefused(Ev("A", Line("R2", "W1", 1, 0, 1, kStart + 50ms)));
  EXPECT_EQ(state_.NextExpiry(), std::optional<TimeMs>(kStart + 100ms));
  EXPECT_EQ(state_.ExpiredBy(kStart + 100ms, 10), std::vector<ReservationId>{ReservationId("R1")});
}

}  // namespace
}  // namespace ledger

namespace ledger {
namespace {

TEST_F(EvolveTest, SalesBlocksKeepWarehouseOrderAndRefuseRepeatsAndStrangers) {
  Basic();
  Event blocked_w2 = Ev("A", SalesBlocked{.warehouse = WarehouseCode("W2"), .reason = "audit"});
  blocked_w2.envelope.actor = "ops";
  Fold(blocked_w2);
  Fold(Ev("A", SalesBlocked{.warehouse = WarehouseCode(), .reason = "recall"}));
  Fold(Ev("A", SalesBlocked{.warehouse = WarehouseCode("W1"), .reason = "shelf"}));
  const ItemState* a = state_.item(Sku("A"));
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->sales_blocks.size(), 3u);
  EXPECT_EQ(a->sales_blocks[0].warehouse, WarehouseCode(""));
  EXPECT_EQ(a->sales_blocks[1].warehouse, WarehouseCode("W1"));
  EXPECT_EQ(a->sales_blocks[2], (SalesBlock{WarehouseCode("W2"), "audit", kStart, "ops"}));
  EXPECT_EQ(state_.Level(Sku("A"), WarehouseCode("W1")), (StockLevel{10, 0, 0})) << "a block moves no level";

  ExpectRefused(Ev("A", SalesBlocked{.warehouse = WarehouseCode("W1"), .reason = "again"}));
  ExpectRefused(Ev("A", SalesBlocked{.warehouse = WarehouseCode("W3"), .reason = ""}));
  ExpectRefused(Ev("nope", SalesBlocked{.reason = "x"}));
  Fold(Ev("A", SalesUnblocked{.warehouse = WarehouseCode("W1")}));
  ASSERT_EQ(state_.item(Sku("A"))->sales_blocks.size(), 2u);
  ExpectRefused(Ev("A", SalesUnblocked{.warehouse = WarehouseCode("W1")}));
  ExpectRefused(Ev("B", SalesUnblocked{}));
  ExpectRefused(Ev("nope", SalesUnblocked{}));
}

}  // namespace
}  // namespace ledger

namespace ledger {
namespace {

TEST_F(EvolveTest, ExtensionMovesTheExpiryIndexAndRefusesWhatDisagrees) {
  Basic();
  Fold(Ev("A", Line("R", "W1", 2)));
  const TimeMs first = kStart + 60'000ms;
  ASSERT_EQ(state_.NextExpiry(), std::optional<TimeMs>(first));
  ExpectRefused(Ev("A", ReservationExtended{ReservationId("R"), WarehouseCode("W1"), 0, first - 1ms}));
  ExpectRefused(Ev("A", ReservationExtended{ReservationId("R"), WarehouseCode("W2"), 0, first + 5ms}));
  ExpectRefused(Ev("A", ReservationExtended{ReservationId("R"), WarehouseCode("W1"), 1, first + 5ms}));
  ExpectRefused(Ev("A", ReservationExtended{ReservationId("nope"), WarehouseCode("W1"), 0, first + 5ms}));
  ExpectRefused(Ev("B", ReservationExtended{ReservationId("R"), WarehouseCode("W1"), 0, first + 5ms}));
  Fold(Ev("A", ReservationExtended{ReservationId("R"), WarehouseCode("W1"), 0, first + 5'000ms}));
  EXPECT_EQ(state_.reservation(ReservationId("R"))->expires_at_ms, first + 5'000ms);
  EXPECT_EQ(state_.NextExpiry(), std::optional<TimeMs>(first + 5'000ms));
  EXPECT_TRUE(state_.ExpiredBy(first + 4'999ms, 10).empty());
  Fold(Ev("A", ReservationReleased{ReservationId("R"), WarehouseCode("W1"), 2, 0, ReleaseReason::kCancelled}));
  ExpectRefused(Ev("A", ReservationExtended{ReservationId("R"), WarehouseCode("W1"), 0, first + 9'000ms}));
}

// Partitions folded out of order: one allocation's extension before the
// other allocation's Reserved event (which carries the original expiry).
TEST_F(EvolveTest, ExtensionOfOnePartitionBeforeAnotherPartitionsReservation) {
  Basic();
  Fold(Ev("B", StockReceived{.warehouse = WarehouseCode("W1"), .quantity = 4}));
  Fold(Ev("A", Line("R", "W1", 2, 0, 2)));
  Fold(Ev("A", ReservationExtended{ReservationId("R"), WarehouseCode("W1"), 0, kStart + 90'000ms}));
  Fold(Ev("B", Line("R", "W1", 1, 1, 2)));
  Fold(Ev("B", ReservationExtended{ReservationId("R"), WarehouseCode("W1"), 1, kStart + 90'000ms}));
  const ReservationState* r = state_.reservation(ReservationId("R"));
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->complete());
  EXPECT_EQ(r->expires_at_ms, kStart + 90'000ms);
  // A Reserved event claiming a later expiry than its reservation's is still refused.
  Fold(Ev("A", Line("S", "W1", 1, 0, 2, kStart + 1'000ms)));
  ExpectRefused(Ev("B", Line("S", "W1", 1, 1, 2, kStart + 2'000ms)));
}

}  // namespace
}  // namespace ledger
