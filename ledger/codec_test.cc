#include "ledger/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

#include "ledger/decide.h"

namespace ledger {
namespace {

Envelope SampleEnvelope(std::string sku) {
  Envelope env;
  env.event_id = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  env.schema_version = kSchemaVersion;
  env.occurred_at_ms = AtEpochMs(1'700'000'000'123);
  env.command_id = CommandId("cmd-42");
  env.actor = "alice";
  env.correlation_id = "order-7";
  env.sku = Sku(std::move(sku));
  env.command_fingerprint = 0xdeadbeefcafef00dULL;
  env.command_event_index = 1;
  env.command_event_count = 3;
  return env;
}

// One sample of every payload type, with every field set to a non-default.
std::vector<EventPayload> EveryPayload() {
  Attributes attrs{{"color", "red"}, {"size", "XL"}};
  return {
      ItemCreated{"Widget", "tools", attrs, 5, 50},
      ItemUpdated{std::string("Widget 2"), std::nullopt, attrs, std::nullopt, Quantity{7}},
      ItemUpdated{std::nullopt, std::string(""), Attributes{}, Quantity{0}, std::nullopt},
      ItemDiscontinued{},
      WarehouseRegistered{WarehouseCode("WH-1"), "Main", "eu-west", 3, true},
      WarehouseUpdated{WarehouseCode("WH-1"), "Main B", "eu-north", 9, false},
      StockReceived{WarehouseCode("WH-1"), 100, "PO-1"},
      StockAdjusted{WarehouseCode("WH-1"), -4, AdjustmentReason::kDamage, "broken pallet"},
      StockAdjusted{WarehouseCode("WH-1"), 2, AdjustmentReason::kReturn, "RMA-9"},
      StockCounted{WarehouseCode("WH-1"), 90, -6},
      TransferShipped{TransferId("T-1"), WarehouseCode("WH-1"), WarehouseCode("WH-2"), 10},
      TransferReceived{TransferId("T-1"), WarehouseCode("WH-1"), WarehouseCode("WH-2"), 10},
      ReservationLineReserved{ReservationId("R-1"), OrderId("O-1"), WarehouseCode("WH-2"), 3,
                              AtEpochMs(1'700'000'900'000), 1, 2, 1},
      ReservationCommitted{ReservationId("R-1"), WarehouseCode("WH-2"), 3, 1},
      ReservationCommitted{ReservationId("R-1"), WarehouseCode("WH-2"), 2, 1, 4},  // partial
      ReservationCommitted{ReservationId("R-1"), WarehouseCode("WH-2"), 0, 1, 6},  // released whole
      ReservationReleased{ReservationId("R-1"), WarehouseCode("WH-2"), 3, 1, ReleaseReason::kPaymentFailed},
      ReservationExpired{ReservationId("R-1"), WarehouseCode("WH-2"), 3, 1},
      SalesBlocked{WarehouseCode("WH-2"), "recall 7"},
      SalesBlocked{WarehouseCode(), "everywhere"},
      SalesUnblocked{WarehouseCode("WH-2")},
      ReservationExtended{ReservationId("R-1"), WarehouseCode("WH-2"), 1, AtEpochMs(1'700'000'990'000)},
  };
}

TEST(CodecTest, EveryEventTypeRoundTrips) {
  std::vector<EventPayload> payloads = EveryPayload();
  std::vector<bool> seen(std::variant_size_v<EventPayload>, false);
  for (const EventPayload& payload : payloads) {
    Event event{SampleEnvelope("SKU-1"), payload};
    std::string bytes = Encode(event);
    absl::StatusOr<Event> decoded = Decode(bytes);
    ASSERT_TRUE(decoded.ok()) << KindName(payload) << ": " << decoded.status();
    EXPECT_EQ(*decoded, event) << KindName(payload);
    seen[payload.index()] = true;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << "no sample for payload index " << i;
}

TEST(CodecTest, EventIdIsSixteenBigEndianBytes) {
  Event event{SampleEnvelope("SKU-1"), ItemDiscontinued{}};
  inventory::v1::Event proto = ToProto(event);
  ASSERT_EQ(proto.event_id().size(), 16u);
  EXPECT_EQ(static_cast<unsigned char>(proto.event_id()[0]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(proto.event_id()[15]), 0x10);
  EXPECT_EQ(event.envelope.event_id.ToHex(), "0123456789abcdeffedcba9876543210");
}

TEST(CodecTest, GarbageIsDataLoss) {
  absl::StatusOr<Event> decoded = Decode(std::string("\xff\xff\xff\xff garbage", 12));
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
}

TEST(CodecTest, MissingPayloadIsDataLoss) {
  inventory::v1::Event proto = ToProto(Event{SampleEnvelope("SKU-1"), ItemDiscontinued{}});
  proto.clear_payload();
  absl::StatusOr<Event> decoded = Decode(proto.SerializeAsString());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("no payload"), std::string::npos);
}

TEST(CodecTest, ShortEventIdIsDataLoss) {
  inventory::v1::Event proto = ToProto(Event{SampleEnvelope("SKU-1"), ItemDiscontinued{}});
  proto.set_event_id("short");
  EXPECT_EQ(Decode(proto.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(CodecTest, UnknownEnumIsDataLoss) {
  inventory::v1::Event proto =
      ToProto(Event{SampleEnvelope("SKU-1"), StockAdjusted{WarehouseCode("W"), 1, AdjustmentReason::kFound, ""}});
  proto.mutable_stock_adjusted()->set_reason(static_cast<inventory::v1::AdjustmentReason>(99));
  EXPECT_EQ(Decode(proto.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(CodecTest, NewerSchemaIsRefusedNotMisread) {
  inventory::v1::Event proto = ToProto(Event{SampleEnvelope("SKU-1"), ItemDiscontinued{}});
  proto.set_schema_version(kSchemaVersion + 1);
  absl::StatusOr<Event> decoded = Decode(proto.SerializeAsString());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CodecTest, IndexOutsideCountIsDataLoss) {
  Envelope env = SampleEnvelope("SKU-1");
  env.command_event_index = 3;
  env.command_event_count = 3;
  EXPECT_EQ(Decode(Encode(Event{env, ItemDiscontinued{}})).status().code(), absl::StatusCode::kDataLoss);
}

TEST(CodecTest, CommitQuantitiesOutsideTheirBoundsAreDataLoss) {
  for (auto [quantity, released] : {std::pair<Quantity, Quantity>{-1, 0}, {0, -1}, {kStockMax + 1, 0},
                                    {0, kStockMax + 1}, {INT64_MAX, INT64_MAX}}) {
    inventory::v1::Event proto =
        ToProto(Event{SampleEnvelope("SKU-1"), ReservationCommitted{ReservationId("R-1"), WarehouseCode("WH-2"), 1}});
    proto.mutable_reservation_committed()->set_quantity(quantity);
    proto.mutable_reservation_committed()->set_released_quantity(released);
    absl::StatusOr<Event> decoded = Decode(proto.SerializeAsString());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << quantity << " / " << released;
  }
}

// A commit written before partial commits existed has no released_quantity
// and decodes as a whole commit.
TEST(CodecTest, CommitWithoutReleasedQuantityIsAWholeCommit) {
  Event event{SampleEnvelope("SKU-1"), ReservationCommitted{ReservationId("R-1"), WarehouseCode("WH-2"), 3, 1, 2}};
  inventory::v1::Event proto = ToProto(event);
  proto.mutable_reservation_committed()->clear_released_quantity();
  std::get<ReservationCommitted>(event.payload).released_quantity = 0;
  absl::StatusOr<Event> decoded = Decode(proto.SerializeAsString());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::get<ReservationCommitted>(decoded->payload).released_quantity, 0);
  EXPECT_EQ(*decoded, event);
}

TEST(CodecTest, PartitionKeyIsSkuOrWarehouse) {
  EXPECT_EQ(PartitionKey(Event{SampleEnvelope("SKU-9"), ItemDiscontinued{}}), "SKU-9");
  EXPECT_EQ(PartitionKey(Event{SampleEnvelope(""), WarehouseRegistered{WarehouseCode("WH-3"), "", "", 0, true}}),
            "warehouse/WH-3");
}

}  // namespace
}  // namespace ledger
