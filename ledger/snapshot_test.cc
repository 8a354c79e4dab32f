// Tests for ledger snapshots: round trip of a rich state, identical behaviour
// after a reload (forgetting included), damage detection (every flipped byte,
// every truncation), and format versions (the snapshot store's files:
// command-api/snapshot_store_test.cc).
//
// The large-state timing test builds SNAPSHOT_TEST_SKUS SKUs x 3 warehouses
// (default 100,000); run it with 1000000 to measure the restart target:
//   SNAPSHOT_TEST_SKUS=1000000 ledger_core_test --gtest_filter='SnapshotLarge*'
#include "ledger/snapshot.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/evolve.h"
#include "ledger/testing/command_driver.h"
#include "proto/snapshot.pb.h"

using namespace std::chrono_literals;

// Commands are written with C++20 designated initializers, leaving the other
// members at their defaults on purpose; GCC's -Wextra would flag every one.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ledger {
namespace {

constexpr TimeMs kStart = test_support::CommandDriver::kStartMs;

using Driver = test_support::CommandDriver;

Reserve MakeReserve(const std::string& id, std::vector<ReserveLine> lines,
                    SplitPolicy split = SplitPolicy::kSingleWarehouse, DurationMs ttl_ms = 15min) {
  return Reserve{.reservation_id = ReservationId(id), .order_id = OrderId("O-" + id), .lines = std::move(lines),
                 .ttl_ms = ttl_ms, .split = split};
}

ReserveLine Line(const std::string& sku, Quantity quantity, const std::string& warehouse = "") {
  return ReserveLine{.sku = Sku(sku), .quantity = quantity, .warehouse = WarehouseCode(warehouse)};
}

// Items with attributes, an updated and a discontinued item, an inactive
// warehouse, receipts, adjustments, counts, a received and an in-flight
// transfer, and active, committed, released, expired, multi-line and split
// (multi-allocation) reservations.
void BuildRichState(Driver& d, State& s) {
  d.Must(s, RegisterWarehouse{.warehouse = WarehouseCode("W1"), .name = "Berlin", .region = "eu", .priority = 1});
  d.Must(s, RegisterWarehouse{.warehouse = WarehouseCode("W2"), .name = "Boston", .region = "us", .priority = 2});
  d.Must(s, RegisterWarehouse{.warehouse = WarehouseCode("W3"), .name = "Lyon", .region = "eu", .priority = 3});
  for (const char* sku : {"A", "B", "C", "D", "E", "F"}) {
    d.Must(s, CreateItem{.sku = Sku(sku), .name = absl::StrCat("item ", sku), .category = "tools",
                         .attributes = {{"color", "red"}, {"size", sku}}, .reorder_point = 5, .reorder_quantity = 50});
  }
  d.Must(s, UpdateItem{.sku = Sku("B"), .name = "renamed B", .attributes = Attributes{{"weight", "2kg"}}});
  d.Must(s, DiscontinueItem{.sku = Sku("F")});
  d.Must(s, ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 50});
  d.Must(s, ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .quantity = 30});
  d.Must(s, ReceiveStock{.sku = Sku("B"), .warehouse = WarehouseCode("W1"), .quantity = 10});
  d.Must(s, ReceiveStock{.sku = Sku("C"), .warehouse = WarehouseCode("W2"), .quantity = 100});
  d.Must(s, ReceiveStock{.sku = Sku("D"), .warehouse = WarehouseCode("W3"), .quantity = 5});
  d.Must(s, ReceiveStock{.sku = Sku("E"), .warehouse = WarehouseCode("W1"), .quantity = 40});
  d.Must(s, AdjustStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .delta = -2,
                        .reason = AdjustmentReason::kDamage});
  d.Must(s, CountStock{.sku = Sku("C"), .warehouse = WarehouseCode("W2"), .counted = 90});
  d.Must(s, ShipTransfer{.transfer_id = TransferId("T1"), .sku = Sku("C"), .from = WarehouseCode("W2"),
                         .to = WarehouseCode("W1"), .quantity = 20});
  d.Must(s, ReceiveTransfer{.transfer_id = TransferId("T1")});
  d.Must(s, ShipTransfer{.transfer_id = TransferId("T2"), .sku = Sku("E"), .from = WarehouseCode("W1"),
                         .to = WarehouseCode("W2"), .quantity = 5});
  d.Must(s, MakeReserve("R1", {Line("A", 10, "W1")}));
  d.Must(s, MakeReserve("R2", {Line("B", 3)}));
  d.Must(s, CommitReservation{.reservation_id = ReservationId("R2")});
  d.Must(s, MakeReserve("R3", {Line("C", 4)}));
  d.Must(s, ReleaseReservation{.reservation_id = ReservationId("R3")});
  d.Must(s, MakeReserve("R4", {Line("A", 60)}, SplitPolicy::kAllowSplit));  // 38 left at W1, 30 at W2: split
  d.Must(s, MakeReserve("R5", {Line("A", 1), Line("C", 2)}));
  d.Must(s, CommitReservation{.reservation_id = ReservationId("R5")});
  d.Must(s, MakeReserve("R6", {Line("D", 2)}, SplitPolicy::kSingleWarehouse, kReservationTtlMinMs));
  d.Must(s, ExpireReservation{.reservation_id = ReservationId("R6")});
  d.Must(s, MakeReserve("R7", {Line("E", 7), Line("C", 1, "W1")}));
  d.Must(s, UpdateWarehouse{.warehouse = WarehouseCode("W3"), .active = false});
  d.Must(s, BlockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .reason = "audit"});
  d.Must(s, BlockSales{.sku = Sku("A"), .reason = "recall"});
  d.Must(s, BlockSales{.sku = Sku("C"), .warehouse = WarehouseCode("W1"), .reason = "shelf"});
  d.Must(s, BlockSales{.sku = Sku("B"), .reason = "lifted"});
  d.Must(s, UnblockSales{.sku = Sku("B")});
  d.Must(s, MakeReserve("R8", {Line("E", 3, "W1")}));
  d.Must(s, CommitReservation{.reservation_id = ReservationId("R8"), .lines = {{.request_line = 0, .quantity = 1}}});
}

void ExpectRich(const State& s) {
  ASSERT_EQ(s.reservations().size(), 8u);
  ASSERT_EQ(s.reservation(ReservationId("R8"))->allocations.size(), 1u);
  EXPECT_EQ(s.reservation(ReservationId("R8"))->allocations[0].released, 2);
  EXPECT_EQ(s.reservation(ReservationId("R1"))->status(), ReservationStatus::kActive);
  EXPECT_EQ(s.reservation(ReservationId("R2"))->status(), ReservationStatus::kCommitted);
  EXPECT_EQ(s.reservation(ReservationId("R3"))->status(), ReservationStatus::kReleased);
  EXPECT_GE(s.reservation(ReservationId("R4"))->allocations.size(), 2u);
  EXPECT_EQ(s.reservation(ReservationId("R6"))->status(), ReservationStatus::kExpired);
  EXPECT_EQ(s.reservation(ReservationId("R7"))->allocations.size(), 2u);
  EXPECT_TRUE(s.transfer(TransferId("T1"))->received);
  EXPECT_FALSE(s.transfer(TransferId("T2"))->received);
  EXPECT_TRUE(s.item(Sku("F"))->status == ItemStatus::kDiscontinued);
  EXPECT_FALSE(s.warehouse(WarehouseCode("W3"))->active);
  EXPECT_GT(s.remembered_commands(), 30u);
  ASSERT_EQ(s.item(Sku("A"))->sales_blocks.size(), 2u);
  EXPECT_EQ(s.item(Sku("A"))->sales_blocks[0].reason, "recall");
  EXPECT_EQ(s.item(Sku("A"))->sales_blocks[1].warehouse, WarehouseCode("W2"));
  EXPECT_EQ(s.item(Sku("C"))->sales_blocks.size(), 1u);
  EXPECT_TRUE(s.item(Sku("B"))->sales_blocks.empty());
}

std::string MustEncode(const State& s, std::span<const std::uint64_t> offsets) {
  absl::StatusOr<std::string> bytes = EncodeSnapshot(s, offsets);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

const base::NextOffsets kOffsets = {5, 0, 17, 1ULL << 40};

TEST(SnapshotTest, RichStateRoundTrips) {
  Driver d;
  State s;
  BuildRichState(d, s);
  ExpectRich(s);
  absl::StatusOr<Snapshot> back = DecodeSnapshot(MustEncode(s, kOffsets), s.options());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->state == s);
  EXPECT_EQ(back->next_offsets, kOffsets);
  ExpectRich(back->state);
  // Interning order is kept, so stored indexes mean the same thing.
  for (std::size_t i = 0; i < s.items().size(); ++i) EXPECT_EQ(back->state.items()[i].sku, s.items()[i].sku);
  EXPECT_EQ(back->state.NextExpiry(), s.NextExpiry());
  EXPECT_EQ(back->state.ExpiredBy(kStart + kStart.time_since_epoch(), 100),
            s.ExpiredBy(kStart + kStart.time_since_epoch(), 100));
}

TEST(SnapshotTest, EmptyStateRoundTrips) {
  State s;
  absl::StatusOr<Snapshot> back = DecodeSnapshot(MustEncode(s, {}), {});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->state == s);
  EXPECT_TRUE(back->next_offsets.empty());
}

TEST(SnapshotTest, LoadedStateTakesTheGivenOptions) {
  Driver d;
  State s;
  BuildRichState(d, s);
  LedgerOptions options{.remembered_commands_max = 7};
  absl::StatusOr<Snapshot> back = DecodeSnapshot(MustEncode(s, kOffsets), options);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->state.options().remembered_commands_max, 7u);
}

// Applies the same commands to both states and expects the same decisions and
// equal states after every step.
void ContinueBoth(Driver& d, State& a, State& b, const std::vector<CommandBody>& bodies) {
  for (const CommandBody& body : bodies) {
    Command command = d.Next(body);
    Decision da = DecideAndApply(a, command);
    Decision db = DecideAndApply(b, command);
    ASSERT_EQ(da.accepted(), db.accepted());
    ASSERT_EQ(da.duplicate, db.duplicate);
    ASSERT_TRUE(da.events == db.events);
    ASSERT_TRUE(a == b) << "states diverge after command at " << EpochMs(command.meta.now_ms);
    ASSERT_EQ(a.ExpiredBy(command.meta.now_ms, 100), b.ExpiredBy(command.meta.now_ms, 100));
  }
}

TEST(SnapshotTest, ContinuingAfterReloadIsIdentical) {
  // Small windows, so the continuation forgets commands and resolved
  // reservations remembered before the snapshot: that only matches if the
  // forgetting queues were restored (operator== does not look at them).
  LedgerOptions options{.remembered_commands_max = 6,
                        .remembered_commands_age_max_ms = 60'000ms,
                        .resolved_kept_max = 3,
                        .resolved_kept_age_max_ms = 120'000ms};
  Driver d;
  State original(options);
  BuildRichState(d, original);
  ASSERT_EQ(original.remembered_commands(), 6u);
  absl::StatusOr<Snapshot> back = DecodeSnapshot(MustEncode(original, kOffsets), options);
  ASSERT_TRUE(back.ok()) << back.status();
  State& reloaded = back->state;
  ASSERT_TRUE(reloaded == original);
  const std::size_t reservations_before = original.reservations().size();

  std::vector<CommandBody> more = {
      ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 5},
      MakeReserve("R8", {Line("A", 2)}),
      CommitReservation{.reservation_id = ReservationId("R8")},
      ReceiveTransfer{.transfer_id = TransferId("T2")},
      CommitReservation{.reservation_id = ReservationId("R1")},
      MakeReserve("R9", {Line("C", 3)}, SplitPolicy::kSingleWarehouse, kReservationTtlMinMs),
      ExpireReservation{.reservation_id = ReservationId("R9")},
      ReleaseReservation{.reservation_id = ReservationId("R4"), .reason = ReleaseReason::kPaymentFailed},
      MakeReserve("R2", {Line("B", 1)}),  // R2 was forgotten: the id is free again
      ReleaseReservation{.reservation_id = ReservationId("R7")},
      ShipTransfer{.transfer_id = TransferId("T1"), .sku = Sku("C"), .from = WarehouseCode("W1"),
                   .to = WarehouseCode("W2"), .quantity = 1},  // T1 forgotten too
  };
  ContinueBoth(d, original, reloaded, more);
  // Time passes: the age limits forget the rest.
  d.Advance(200s);
  ContinueBoth(d, original, reloaded, {AdjustStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .delta = 1}});
  EXPECT_LT(original.reservations().size(), reservations_before);
  EXPECT_EQ(original.remembered_commands(), 1u);
  EXPECT_EQ(original.transfer(TransferId("T2")), nullptr);
}

TEST(SnapshotTest, FlippedByteAnywhereIsDataLoss) {
  Driver d;
  State s;
  BuildRichState(d, s);
  const std::string bytes = MustEncode(s, kOffsets);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int mask : {0x01, 0x80, 0xff}) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(static_cast<unsigned char>(damaged[i]) ^ mask);
      absl::StatusOr<Snapshot> back = DecodeSnapshot(damaged, {});
      ASSERT_EQ(back.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << i << " of " << bytes.size() << " ^ " << mask << ": " << back.status();
      ASSERT_FALSE(back.status().message().empty());
    }
  }
}

TEST(SnapshotTest, TruncatedOrExtendedIsDataLoss) {
  Driver d;
  State s;
  BuildRichState(d, s);
  const std::string bytes = MustEncode(s, kOffsets);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<Snapshot> back = DecodeSnapshot(std::string_view(bytes).substr(0, n), {});
    ASSERT_EQ(back.status().code(), absl::StatusCode::kDataLoss) << n << " bytes: " << back.status();
  }
  EXPECT_NE(DecodeSnapshot(bytes.substr(0, 100), {}).status().message().find("truncated"), std::string::npos);
  absl::StatusOr<Snapshot> longer = DecodeSnapshot(bytes + "x", {});
  EXPECT_EQ(longer.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(longer.status().message().find("trailing"), std::string::npos) << longer.status();
}

std::string BodyOf(const std::string& file) { return file.substr(32); }

TEST(SnapshotTest, NewerVersionIsFailedPrecondition) {
  Driver d;
  State s;
  BuildRichState(d, s);
  const std::string body = BodyOf(MustEncode(s, kOffsets));
  EXPECT_TRUE(DecodeSnapshot(FrameSnapshot(body), {}).ok());
  absl::StatusOr<Snapshot> newer = DecodeSnapshot(FrameSnapshot(body, kSnapshotFormatVersion + 1), {});
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition) << newer.status();
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos) << newer.status();
  EXPECT_EQ(DecodeSnapshot(FrameSnapshot(body, 0), {}).status().code(), absl::StatusCode::kDataLoss);
}

// The rich state as a file of an older format `version`: its body without
// what that version lacked (`strip` removes it).
absl::StatusOr<Snapshot> DecodeAsOlder(std::uint32_t version,
                                       const std::function<void(inventory::internal::v1::Snapshot&)>& strip) {
  Driver d;
  State s;
  BuildRichState(d, s);
  inventory::internal::v1::Snapshot body;
  EXPECT_TRUE(body.ParseFromString(BodyOf(MustEncode(s, kOffsets))));
  strip(body);
  return DecodeSnapshot(FrameSnapshot(body.SerializeAsString(), version), {});
}

// Version 1 had no sales blocks: its files still load, with none.
TEST(SnapshotTest, VersionOneWithoutSalesBlocksStillLoads) {
  absl::StatusOr<Snapshot> old = DecodeAsOlder(1, [](inventory::internal::v1::Snapshot& body) {
    EXPECT_GT(body.sales_blocks().item_size(), 0);
    body.clear_sales_blocks();
  });
  ASSERT_TRUE(old.ok()) << old.status();
  for (const ItemState& item : old->state.items()) EXPECT_TRUE(item.sales_blocks.empty()) << item.sku;
}

// Version 2 had no released units: none were released.
TEST(SnapshotTest, VersionTwoWithoutReleasedUnitsStillLoads) {
  absl::StatusOr<Snapshot> old = DecodeAsOlder(2, [](inventory::internal::v1::Snapshot& body) {
    EXPECT_GT(body.reservations().allocation_released_size(), 0);
    body.mutable_reservations()->clear_allocation_released();
  });
  ASSERT_TRUE(old.ok()) << old.status();
  for (const auto& [id, r] : old->state.reservations()) {
    for (const ReservationAllocation& a : r.allocations) EXPECT_EQ(a.released, 0) << id;
  }
}

// A checksummed body whose content is wrong: the reader's checks after the
// checksum (pairing the writer's invariants) must refuse it.
TEST(SnapshotTest, ValidChecksumWithBadContentIsDataLoss) {
  Driver d;
  State s;
  BuildRichState(d, s);
  inventory::internal::v1::Snapshot good;
  ASSERT_TRUE(good.ParseFromString(BodyOf(MustEncode(s, kOffsets))));
  auto expect_refused = [](const inventory::internal::v1::Snapshot& bad, const std::string& want) {
    absl::StatusOr<Snapshot> back = DecodeSnapshot(FrameSnapshot(bad.SerializeAsString()), {});
    EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss) << want;
    EXPECT_NE(back.status().message().find(want), std::string::npos) << back.status();
  };
  auto bad = good;
  bad.mutable_items()->set_level_warehouse(0, 99);
  expect_refused(bad, "warehouse #99");
  bad = good;
  bad.mutable_reservations()->set_allocation_item(0, 1000);
  expect_refused(bad, "item #1000");
  bad = good;
  bad.mutable_reservations()->mutable_allocation_released()->RemoveLast();
  expect_refused(bad, "allocation_released");
  int active_row = 0;  // an active allocation: only a committed one may have released units
  while (good.reservations().allocation_status(active_row) != inventory::internal::v1::RESERVATION_STATUS_ACTIVE) {
    ++active_row;
  }
  bad = good;
  bad.mutable_reservations()->set_allocation_released(active_row, 1);
  expect_refused(bad, "releases 1 of");
  bad = good;
  bad.mutable_reservations()->set_allocation_released(0, -1);
  expect_refused(bad, "releases -1 of");
  bad = good;
  bad.mutable_items()->mutable_level_count()->RemoveLast();
  expect_refused(bad, "level_count");
  bad = good;
  bad.mutable_items()->set_level_reserved(0, bad.items().level_on_hand(0) + 1);
  expect_refused(bad, "invariant");
  bad = good;
  bad.mutable_commands()->mutable_id()->mutable_data()->push_back('x');
  expect_refused(bad, "commands.id");
  bad = good;
  bad.add_warehouses()->set_code("W1");
  expect_refused(bad, "interned twice");
  bad = good;
  bad.mutable_resolved()->set_kind(0, static_cast<inventory::internal::v1::ResolvedKind>(7));
  expect_refused(bad, "resolved kind");
  bad = good;
  (*bad.mutable_commands()->mutable_queue_id()->mutable_data())[0] ^= 1;
  expect_refused(bad, "command queue");
  bad = good;
  bad.mutable_sales_blocks()->set_item(0, 1000);
  expect_refused(bad, "outside the item table");
  bad = good;
  bad.mutable_sales_blocks()->add_blocked_at_ms(0);
  expect_refused(bad, "sales_blocks.blocked_at_ms");
  bad = good;
  bad.mutable_sales_blocks()->set_item(2, bad.sales_blocks().item(0));  // A: "", W2, then W1
  expect_refused(bad, "out of order");
}

// ---------------------------------------------------------------------------
// A large state: SNAPSHOT_TEST_SKUS SKUs x 3 warehouses, every event with a
// command id (so the command window is full), built by folding events.

Event MakeEvent(std::uint64_t seq, const Sku& sku, EventPayload payload) {
  Event e;
  e.envelope.event_id = {seq, seq};
  e.envelope.schema_version = kSchemaVersion;
  e.envelope.occurred_at_ms = kStart + DurationMs{static_cast<std::int64_t>(seq / 1000)};
  e.envelope.command_id = CommandId(absl::StrCat("cmd-", seq));
  e.envelope.command_fingerprint = seq * 0x9e3779b97f4a7c15ULL;
  e.envelope.sku = sku;
  e.envelope.command_event_count = 1;
  e.payload = std::move(payload);
  return e;
}

TEST(SnapshotLargeTest, EncodesAndDecodesQuickly) {
  std::size_t skus = 100'000;
  if (const char* env = std::getenv("SNAPSHOT_TEST_SKUS")) skus = std::strtoull(env, nullptr, 10);
  State s;
  std::uint64_t seq = 0;
  std::vector<WarehouseCode> warehouses = {WarehouseCode("WH-0"), WarehouseCode("WH-1"), WarehouseCode("WH-2")};
  for (const WarehouseCode& w : warehouses) {
    ASSERT_TRUE(Evolve(s, MakeEvent(++seq, Sku(), WarehouseRegistered{w, "Warehouse", "eu", 1, true})).ok());
  }
  for (std::size_t i = 0; i < skus; ++i) {
    Sku sku(absl::StrCat("SKU-", 10'000'000 + i));
    ASSERT_TRUE(Evolve(s, MakeEvent(++seq, sku, ItemCreated{"Item name", "general", {}, 10, 100})).ok());
    for (const WarehouseCode& w : warehouses) {
      ASSERT_TRUE(Evolve(s, MakeEvent(++seq, sku, StockReceived{w, 1000 + static_cast<Quantity>(i % 977), ""})).ok());
    }
  }
  base::NextOffsets offsets(std::vector<std::uint64_t>(8, seq));
  auto t0 = std::chrono::steady_clock::now();
  std::string bytes = MustEncode(s, offsets);
  auto t1 = std::chrono::steady_clock::now();
  absl::StatusOr<Snapshot> back = DecodeSnapshot(bytes, s.options());
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(back.ok()) << back.status();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::cout << "[ snapshot ] " << skus << " SKUs x 3 warehouses, " << s.remembered_commands()
            << " remembered commands: " << bytes.size() << " bytes, encode " << ms(t1 - t0) << " ms, decode "
            << ms(t2 - t1) << " ms\n";
  EXPECT_TRUE(back->state == s);
}

}  // namespace
}  // namespace ledger
