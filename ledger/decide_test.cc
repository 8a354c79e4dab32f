// Unit tests for Decide (through DecideAndApply): every command, every
// rejection it can produce, the emitted events (payload and envelope) and the
// state after folding them.
#include "ledger/decide.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ledger/evolve.h"
#include "ledger/validate.h"

using namespace std::chrono_literals;

// Commands are written with C++20 designated initializers, leaving the other
// members at their defaults on purpose; GCC's -Wextra would flag every one.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ledger {
namespace {

constexpr TimeMs kStart = AtEpochMs(1'700'000'000'000);

// A ledger under test: a State, a clock and a command-id counter.
class DecideTest : public ::testing::Test {
 protected:
  // A command with a fresh id at the current time.
  Command Make(CommandBody body) {
    Command c;
    c.meta.command_id = CommandId("cmd-" + std::to_string(++next_id_));
    c.meta.now_ms = now_;
    c.body = std::move(body);
    return c;
  }
  Command MakeWithId(const std::string& id, CommandBody body) {
    Command c = Make(std::move(body));
    c.meta.command_id = CommandId(id);
    return c;
  }

  Decision Apply(CommandBody body) { return DecideAndApply(state_, Make(std::move(body))); }
  Decision ApplyWithId(const std::string& id, CommandBody body) {
    return DecideAndApply(state_, MakeWithId(id, std::move(body)));
  }

  // Applies and expects acceptance; returns the events.
  std::vector<Event> Accept(CommandBody body) {
    Decision d = Apply(std::move(body));
    EXPECT_TRUE(d.accepted()) << (d.rejection ? d.rejection->message : "");
    EXPECT_FALSE(d.duplicate);
    EXPECT_FALSE(d.events.empty());
    return d.events;
  }

  // Expects a rejection for `reason` with no events and no state change.
  Rejection Refuse(const Command& command, RejectionReason reason) {
    State before = state_;
    Decision d = DecideAndApply(state_, command);
    EXPECT_TRUE(d.events.empty());
    EXPECT_FALSE(d.duplicate);
    EXPECT_TRUE(state_ == before) << "a rejected command changed the state";
    if (!d.rejection.has_value()) {
      ADD_FAILURE() << "expected rejection " << ToString(reason) << ", command was accepted";
      return Rejection{};
    }
    EXPECT_EQ(d.rejection->reason, reason) << "got " << ToString(d.rejection->reason) << ": "
                                           << d.rejection->message;
    EXPECT_FALSE(d.rejection->message.empty());
    return *d.rejection;
  }
  Rejection Refuse(CommandBody body, RejectionReason reason) { return Refuse(Make(std::move(body)), reason); }

  // Expects `command` (applied before) to be a duplicate: no events, no
  // rejection, no state change.
  void ExpectDuplicate(const Command& command) {
    State before = state_;
    Decision d = DecideAndApply(state_, command);
    EXPECT_TRUE(d.duplicate);
    EXPECT_FALSE(d.rejection.has_value());
    EXPECT_TRUE(d.events.empty());
    EXPECT_TRUE(state_ == before);
  }

  // Expects kInvalidArgument naming `field`.
  void RefuseField(CommandBody body, const std::string& field) {
    Rejection r = Refuse(std::move(body), RejectionReason::kInvalidArgument);
    EXPECT_EQ(r.field, field) << r.message;
    EXPECT_EQ(r.code(), absl::StatusCode::kInvalidArgument);
  }

  // Set-up shorthands.
  void Item(const std::string& sku) {
    Accept(CreateItem{.sku = Sku(sku), .name = "Item " + sku, .category = "cat"});
  }
  void Warehouse(const std::string& code, const std::string& region = "eu", std::int32_t priority = 100) {
    Accept(RegisterWarehouse{.warehouse = WarehouseCode(code), .name = "WH " + code, .region = region,
                             .priority = priority});
  }
  void Receive(const std::string& sku, const std::string& wh, Quantity quantity) {
    Accept(ReceiveStock{.sku = Sku(sku), .warehouse = WarehouseCode(wh), .quantity = quantity});
  }
  void Deactivate(const std::string& wh) {
    Accept(UpdateWarehouse{.warehouse = WarehouseCode(wh), .active = false});
  }
  StockLevel Level(const std::string& sku, const std::string& wh) const {
    return state_.Level(Sku(sku), WarehouseCode(wh));
  }
  static Reserve OneLine(const std::string& id, const std::string& sku, Quantity quantity,
                         const std::string& wh = "") {
    return Reserve{.reservation_id = ReservationId(id),
                   .order_id = OrderId("order-" + id),
                   .lines = {ReserveLine{.sku = Sku(sku), .quantity = quantity, .warehouse = WarehouseCode(wh)}}};
  }

  State state_;
  TimeMs now_ = kStart;
  int next_id_ = 0;
};

// Checks every envelope field decide stamps.
void ExpectEnvelopes(const std::vector<Event>& events, const Command& command) {
  std::set<EventId> ids;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Envelope& env = events[i].envelope;
    EXPECT_EQ(env.command_id, command.meta.command_id);
    EXPECT_EQ(env.occurred_at_ms, command.meta.now_ms);
    EXPECT_EQ(env.schema_version, kSchemaVersion);
    EXPECT_EQ(env.command_event_index, i);
    EXPECT_EQ(env.command_event_count, events.size());
    EXPECT_EQ(env.command_fingerprint, Fingerprint(command.body));
    EXPECT_EQ(env.actor, command.meta.actor);
    EXPECT_EQ(env.correlation_id, command.meta.correlation_id);
    EXPECT_NE(env.event_id, EventId{});
    ids.insert(env.event_id);
  }
  EXPECT_EQ(ids.size(), events.size()) << "event ids must be distinct";
}

template <typename T>
const T& PayloadAs(const Event& e) {
  const T* p = std::get_if<T>(&e.payload);
  if (p == nullptr) {
    ADD_FAILURE() << "unexpected payload kind " << KindName(e.payload);
    static const T kEmpty{};
    return kEmpty;
  }
  return *p;
}

// ---------------------------------------------------------------- meta

TEST_F(DecideTest, MetaWithoutCommandIdIsInvalid) {
  Command c = MakeWithId("", CreateItem{.sku = Sku("A"), .name = "a"});
  Rejection r = Refuse(c, RejectionReason::kInvalidArgument);
  EXPECT_EQ(r.field, "command_id");
  EXPECT_EQ(r.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.ToStatus().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DecideTest, MetaWithMalformedCommandIdIsInvalid) {
  Refuse(MakeWithId("has space", CreateItem{.sku = Sku("A"), .name = "a"}), RejectionReason::kInvalidArgument);
  Rejection r = Refuse(MakeWithId(std::string(kIdLengthMax + 1, 'x'), CreateItem{.sku = Sku("A"), .name = "a"}),
                       RejectionReason::kInvalidArgument);
  EXPECT_EQ(r.field, "command_id");
  // Slashes are allowed in ids, and the maximum length is accepted.
  EXPECT_TRUE(ApplyWithId("tenant/" + std::string(kIdLengthMax - 7, 'y'),
                          CreateItem{.sku = Sku("A"), .name = "a"})
                  .accepted());
}

TEST_F(DecideTest, MetaTimeOutOfRangeIsInvalid) {
  Command c = Make(CreateItem{.sku = Sku("A"), .name = "a"});
  c.meta.now_ms = AtEpochMs(-1);
  EXPECT_EQ(Refuse(c, RejectionReason::kInvalidArgument).field, "now_ms");
  c.meta.now_ms = kTimeMaxMs + 1ms;
  EXPECT_EQ(Refuse(c, RejectionReason::kInvalidArgument).field, "now_ms");
}

TEST_F(DecideTest, MetaActorAndCorrelationMustBeText) {
  Command c = Make(CreateItem{.sku = Sku("A"), .name = "a"});
  c.meta.actor = "bad\nactor";
  EXPECT_EQ(Refuse(c, RejectionReason::kInvalidArgument).field, "actor");
  c.meta.actor = "alice";
  c.meta.correlation_id = std::string(kIdLengthMax + 1, 'c');
  EXPECT_EQ(Refuse(c, RejectionReason::kInvalidArgument).field, "correlation_id");
}

TEST_F(DecideTest, EnvelopeCarriesMetaActorAndCorrelation) {
  Command c = Make(CreateItem{.sku = Sku("A"), .name = "a"});
  c.meta.actor = "alice";
  c.meta.correlation_id = "req-42";
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.actor, "alice");
  EXPECT_EQ(d.events[0].envelope.correlation_id, "req-42");
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
}

TEST_F(DecideTest, DecideIsPureAndDeterministic) {
  Item("A");
  Command c = Make(UpdateItem{.sku = Sku("A"), .name = "renamed"});
  State before = state_;
  Decision d1 = Decide(state_, c);
  Decision d2 = Decide(state_, c);
  EXPECT_TRUE(state_ == before);
  ASSERT_EQ(d1.events.size(), 1u);
  EXPECT_EQ(d1.events, d2.events);
  // Another time gives another event id.
  c.meta.now_ms += 1ms;
  Decision d3 = Decide(state_, c);
  ASSERT_EQ(d3.events.size(), 1u);
  EXPECT_NE(d3.events[0].envelope.event_id, d1.events[0].envelope.event_id);
}

// ---------------------------------------------------------------- CreateItem

TEST_F(DecideTest, CreateItemEmitsItemCreatedAndCreatesTheItem) {
  CreateItem body{.sku = Sku("SKU-1"),
                  .name = "Widget",
                  .category = "tools",
                  .attributes = {{"color", "red"}, {"size", "L"}},
                  .reorder_point = 5,
                  .reorder_quantity = 50};
  Command c = Make(body);
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.sku, Sku("SKU-1"));
  EXPECT_EQ(PartitionKey(d.events[0]), "SKU-1");
  const auto& e = PayloadAs<ItemCreated>(d.events[0]);
  EXPECT_EQ(e.name, "Widget");
  EXPECT_EQ(e.category, "tools");
  EXPECT_EQ(e.attributes, body.attributes);
  EXPECT_EQ(e.reorder_point, 5);
  EXPECT_EQ(e.reorder_quantity, 50);

  const ItemState* item = state_.item(Sku("SKU-1"));
  ASSERT_NE(item, nullptr);
  EXPECT_TRUE(item->created);
  EXPECT_EQ(item->status, ItemStatus::kActive);
  EXPECT_EQ(item->name, "Widget");
  EXPECT_EQ(item->category, "tools");
  EXPECT_EQ(item->attributes, body.attributes);
  EXPECT_EQ(item->reorder_point, 5);
  EXPECT_EQ(item->reorder_quantity, 50);
  EXPECT_TRUE(item->levels.empty());
  ASSERT_NE(state_.command(c.meta.command_id), nullptr);
  EXPECT_EQ(state_.command(c.meta.command_id)->fingerprint, Fingerprint(c.body));
  EXPECT_EQ(state_.command(c.meta.command_id)->event_count, 1u);
}

TEST_F(DecideTest, CreateItemTwiceIsAlreadyExists) {
  Item("A");
  Rejection r = Refuse(CreateItem{.sku = Sku("A"), .name = "again"}, RejectionReason::kAlreadyExists);
  EXPECT_EQ(r.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.ToStatus().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(DecideTest, CreateItemInvalidFields) {
  RefuseField(CreateItem{.sku = Sku(""), .name = "a"}, "sku");
  RefuseField(CreateItem{.sku = Sku(std::string(kSkuLengthMax + 1, 'A')), .name = "a"}, "sku");
  RefuseField(CreateItem{.sku = Sku("A/B"), .name = "a"}, "sku");
  RefuseField(CreateItem{.sku = Sku("A"), .name = ""}, "name");
  RefuseField(CreateItem{.sku = Sku("A"), .name = std::string(kNameLengthMax + 1, 'n')}, "name");
  RefuseField(CreateItem{.sku = Sku("A"), .name = "a", .category = "tab\there"}, "category");
  RefuseField(CreateItem{.sku = Sku("A"), .name = "a", .attributes = {{"k", "v"}, {"k", "w"}}}, "attributes[1].key");
  RefuseField(CreateItem{.sku = Sku("A"), .name = "a", .attributes = {{"bad key", "v"}}}, "attributes[0].key");
  RefuseField(CreateItem{.sku = Sku("A"), .name = "a", .attributes = {{"k", "v\x01"}}}, "attributes[0].value");
  Attributes many;
  for (std::size_t i = 0; i <= kAttributesMax; ++i) many.push_back({"k" + std::to_string(i), "v"});
  RefuseField(CreateItem{.sku = Sku("A"), .name = "a", .attributes = many}, "attributes");
  RefuseField(CreateItem{.sku = Sku("A"), .name = "a", .reorder_point = -1}, "reorder_point");
  RefuseField(CreateItem{.sku = Sku("A"), .name = "a", .reorder_quantity = kStockMax + 1}, "reorder_quantity");
  // The boundaries themselves are fine.
  Accept(CreateItem{.sku = Sku(std::string(kSkuLengthMax, 'A')),
                    .name = std::string(kNameLengthMax, 'n'),
                    .reorder_point = kStockMax,
                    .reorder_quantity = 0});
}

TEST_F(DecideTest, InvalidFieldStatusNamesTheField) {
  Rejection r = Refuse(CreateItem{.sku = Sku("A"), .name = "a", .reorder_point = -1},
                       RejectionReason::kInvalidArgument);
  absl::Status s = r.ToStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("reorder_point"), std::string_view::npos) << s;
}

// ---------------------------------------------------------------- UpdateItem

TEST_F(DecideTest, UpdateItemChangesOnlyGivenFields) {
  Accept(CreateItem{.sku = Sku("A"), .name = "old", .category = "c1", .attributes = {{"k", "v"}},
                    .reorder_point = 1, .reorder_quantity = 2});
  Command c = Make(UpdateItem{.sku = Sku("A"), .name = "new", .reorder_quantity = 20});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  const auto& e = PayloadAs<ItemUpdated>(d.events[0]);
  EXPECT_EQ(e.name, std::optional<std::string>("new"));
  EXPECT_FALSE(e.category.has_value());
  EXPECT_FALSE(e.attributes.has_value());
  EXPECT_FALSE(e.reorder_point.has_value());
  EXPECT_EQ(e.reorder_quantity, std::optional<Quantity>(20));

  const ItemState* item = state_.item(Sku("A"));
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->name, "new");
  EXPECT_EQ(item->category, "c1");
  EXPECT_EQ(item->attributes, (Attributes{{"k", "v"}}));
  EXPECT_EQ(item->reorder_point, 1);
  EXPECT_EQ(item->reorder_quantity, 20);

  Accept(UpdateItem{.sku = Sku("A"), .category = "", .attributes = Attributes{}});
  EXPECT_EQ(state_.item(Sku("A"))->category, "");
  EXPECT_TRUE(state_.item(Sku("A"))->attributes.empty());
  EXPECT_EQ(state_.item(Sku("A"))->name, "new");
}

TEST_F(DecideTest, UpdateItemRejections) {
  Item("A");
  RefuseField(UpdateItem{.sku = Sku("A")}, "update");
  RefuseField(UpdateItem{.sku = Sku(""), .name = "x"}, "sku");
  RefuseField(UpdateItem{.sku = Sku("A"), .name = ""}, "name");
  RefuseField(UpdateItem{.sku = Sku("A"), .reorder_point = -5}, "reorder_point");
  RefuseField(UpdateItem{.sku = Sku("A"), .reorder_quantity = kStockMax + 1}, "reorder_quantity");
  RefuseField(UpdateItem{.sku = Sku("A"), .attributes = Attributes{{"k", "1"}, {"k", "2"}}}, "attributes[1].key");
  Rejection r = Refuse(UpdateItem{.sku = Sku("NOPE"), .name = "x"}, RejectionReason::kUnknownItem);
  EXPECT_EQ(r.code(), absl::StatusCode::kNotFound);
}

TEST_F(DecideTest, UpdateItemIsAllowedOnDiscontinuedItem) {
  Item("A");
  Accept(DiscontinueItem{.sku = Sku("A")});
  Accept(UpdateItem{.sku = Sku("A"), .name = "archived"});
  EXPECT_EQ(state_.item(Sku("A"))->name, "archived");
  EXPECT_EQ(state_.item(Sku("A"))->status, ItemStatus::kDiscontinued);
}

// ---------------------------------------------------------------- DiscontinueItem

TEST_F(DecideTest, DiscontinueItemMarksItDiscontinued) {
  Item("A");
  Command c = Make(DiscontinueItem{.sku = Sku("A")});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_TRUE(std::holds_alternative<ItemDiscontinued>(d.events[0].payload));
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
  EXPECT_EQ(state_.item(Sku("A"))->status, ItemStatus::kDiscontinued);
  EXPECT_TRUE(state_.item(Sku("A"))->created);
}

TEST_F(DecideTest, DiscontinueItemRejections) {
  RefuseField(DiscontinueItem{.sku = Sku("")}, "sku");
  Rejection unknown = Refuse(DiscontinueItem{.sku = Sku("A")}, RejectionReason::kUnknownItem);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  Item("A");
  Accept(DiscontinueItem{.sku = Sku("A")});
  Rejection again = Refuse(DiscontinueItem{.sku = Sku("A")}, RejectionReason::kItemDiscontinued);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------- RegisterWarehouse

TEST_F(DecideTest, RegisterWarehouseEmitsWarehouseEventKeyedByWarehouse) {
  Command c = Make(RegisterWarehouse{.warehouse = WarehouseCode("W1"), .name = "Main", .region = "eu-west",
                                     .priority = 7, .active = true});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_TRUE(d.events[0].envelope.sku.empty());
  EXPECT_EQ(PartitionKey(d.events[0]), "warehouse/W1");
  EXPECT_EQ(PayloadAs<WarehouseRegistered>(d.events[0]),
            (WarehouseRegistered{WarehouseCode("W1"), "Main", "eu-west", 7, true}));
  const WarehouseState* w = state_.warehouse(WarehouseCode("W1"));
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->registered);
  EXPECT_EQ(w->name, "Main");
  EXPECT_EQ(w->region, "eu-west");
  EXPECT_EQ(w->priority, 7);
  EXPECT_TRUE(w->active);
}

TEST_F(DecideTest, RegisterWarehouseInactive) {
  Accept(RegisterWarehouse{.warehouse = WarehouseCode("W1"), .name = "n", .active = false});
  EXPECT_FALSE(state_.warehouse(WarehouseCode("W1"))->active);
}

TEST_F(DecideTest, RegisterWarehouseRejections) {
  RefuseField(RegisterWarehouse{.warehouse = WarehouseCode("")}, "warehouse");
  RefuseField(RegisterWarehouse{.warehouse = WarehouseCode(std::string(kWarehouseCodeLengthMax + 1, 'W'))},
              "warehouse");
  RefuseField(RegisterWarehouse{.warehouse = WarehouseCode("W 1")}, "warehouse");
  RefuseField(RegisterWarehouse{.warehouse = WarehouseCode("W1"), .name = std::string(kNameLengthMax + 1, 'n')},
              "name");
  RefuseField(RegisterWarehouse{.warehouse = WarehouseCode("W1"), .region = "r\n"}, "region");
  RefuseField(RegisterWarehouse{.warehouse = WarehouseCode("W1"), .priority = -1}, "priority");
  RefuseField(RegisterWarehouse{.warehouse = WarehouseCode("W1"), .priority = kWarehousePriorityMax + 1},
              "priority");
  Accept(RegisterWarehouse{.warehouse = WarehouseCode("W1"), .priority = kWarehousePriorityMax});
  Rejection r = Refuse(RegisterWarehouse{.warehouse = WarehouseCode("W1")}, RejectionReason::kAlreadyExists);
  EXPECT_EQ(r.code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(DecideTest, RegisterWarehouseBeyondMaximumIsLimitExceeded) {
  for (std::size_t i = 0; i < kWarehousesMax; ++i) {
    ASSERT_TRUE(Apply(RegisterWarehouse{.warehouse = WarehouseCode("W" + std::to_string(i))}).accepted());
  }
  EXPECT_EQ(state_.warehouses().size(), kWarehousesMax);
  Rejection r = Refuse(RegisterWarehouse{.warehouse = WarehouseCode("ONE-TOO-MANY")},
                       RejectionReason::kLimitExceeded);
  EXPECT_EQ(r.code(), absl::StatusCode::kOutOfRange);
  // Re-registering an existing one is still "already exists", not the limit.
  Refuse(RegisterWarehouse{.warehouse = WarehouseCode("W0")}, RejectionReason::kAlreadyExists);
}

// ---------------------------------------------------------------- UpdateWarehouse

TEST_F(DecideTest, UpdateWarehouseEmitsTheFullRecord) {
  Warehouse("W1", "eu", 10);
  Command c = Make(UpdateWarehouse{.warehouse = WarehouseCode("W1"), .priority = 3, .active = false});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(PartitionKey(d.events[0]), "warehouse/W1");
  EXPECT_EQ(PayloadAs<WarehouseUpdated>(d.events[0]),
            (WarehouseUpdated{WarehouseCode("W1"), "WH W1", "eu", 3, false}));
  const WarehouseState* w = state_.warehouse(WarehouseCode("W1"));
  EXPECT_EQ(w->name, "WH W1");
  EXPECT_EQ(w->region, "eu");
  EXPECT_EQ(w->priority, 3);
  EXPECT_FALSE(w->active);

  Accept(UpdateWarehouse{.warehouse = WarehouseCode("W1"), .name = "Renamed", .region = "us", .active = true});
  EXPECT_EQ(w->name, "Renamed");
  EXPECT_EQ(w->region, "us");
  EXPECT_EQ(w->priority, 3);
  EXPECT_TRUE(w->active);
}

TEST_F(DecideTest, UpdateWarehouseRejections) {
  Warehouse("W1");
  RefuseField(UpdateWarehouse{.warehouse = WarehouseCode("W1")}, "update");
  RefuseField(UpdateWarehouse{.warehouse = WarehouseCode(""), .name = "x"}, "warehouse");
  RefuseField(UpdateWarehouse{.warehouse = WarehouseCode("W1"), .priority = -3}, "priority");
  RefuseField(UpdateWarehouse{.warehouse = WarehouseCode("W1"), .region = std::string(kTextLengthMax + 1, 'r')},
              "region");
  Rejection r = Refuse(UpdateWarehouse{.warehouse = WarehouseCode("W9"), .name = "x"},
                       RejectionReason::kUnknownWarehouse);
  EXPECT_EQ(r.code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------- ReceiveStock

TEST_F(DecideTest, ReceiveStockAddsToOnHand) {
  Item("A");
  Warehouse("W1");
  Command c = Make(ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 7,
                                .reference = "PO-1"});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
  EXPECT_EQ(PayloadAs<StockReceived>(d.events[0]), (StockReceived{WarehouseCode("W1"), 7, "PO-1"}));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{7, 0, 0}));
  Receive("A", "W1", 3);
  EXPECT_EQ(Level("A", "W1").on_hand, 10);
  EXPECT_EQ(Level("A", "W1").available(), 10);
  EXPECT_EQ(state_.TotalLevel(Sku("A")).on_hand, 10);
}

TEST_F(DecideTest, ReceiveStockQuantityBounds) {
  Item("A");
  Warehouse("W1");
  auto body = [](Quantity q) {
    return ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = q};
  };
  RefuseField(body(0), "quantity");
  RefuseField(body(-1), "quantity");
  RefuseField(body(kMovementQuantityMax + 1), "quantity");
  Accept(body(kMovementQuantityMax));
  Accept(body(1));
  EXPECT_EQ(Level("A", "W1").on_hand, kMovementQuantityMax + 1);
}

TEST_F(DecideTest, ReceiveStockRejections) {
  Item("A");
  Warehouse("W1");
  RefuseField(ReceiveStock{.sku = Sku(""), .warehouse = WarehouseCode("W1"), .quantity = 1}, "sku");
  RefuseField(ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode(""), .quantity = 1}, "warehouse");
  RefuseField(ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 1,
                           .reference = std::string(kTextLengthMax + 1, 'r')},
              "reference");
  EXPECT_EQ(Refuse(ReceiveStock{.sku = Sku("B"), .warehouse = WarehouseCode("W1"), .quantity = 1},
                   RejectionReason::kUnknownItem)
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Refuse(ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .quantity = 1},
                   RejectionReason::kUnknownWarehouse)
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DecideTest, ReceiveStockIntoDiscontinuedItemOrInactiveWarehouseIsRefused) {
  Item("A");
  Item("B");
  Warehouse("W1");
  Warehouse("W2");
  Deactivate("W2");
  Accept(DiscontinueItem{.sku = Sku("B")});
  Rejection disc = Refuse(ReceiveStock{.sku = Sku("B"), .warehouse = WarehouseCode("W1"), .quantity = 1},
                          RejectionReason::kItemDiscontinued);
  EXPECT_EQ(disc.code(), absl::StatusCode::kFailedPrecondition);
  Rejection inactive = Refuse(ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .quantity = 1},
                              RejectionReason::kWarehouseInactive);
  EXPECT_EQ(inactive.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DecideTest, ReceiveStockPastStockMaxIsLimitExceeded) {
  Item("A");
  Warehouse("W1");
  Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = kStockMax});
  EXPECT_EQ(Level("A", "W1").on_hand, kStockMax);
  Rejection r = Refuse(ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 1},
                       RejectionReason::kLimitExceeded);
  EXPECT_EQ(r.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Level("A", "W1").on_hand, kStockMax);
  // One below the maximum takes exactly one more.
  Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = kStockMax - 1});
  Receive("A", "W1", 1);
  EXPECT_EQ(Level("A", "W1").on_hand, kStockMax);
}

// ---------------------------------------------------------------- AdjustStock

class AdjustTest : public DecideTest {
 protected:
  void SetUp() override {
    Item("A");
    Warehouse("W1");
    Receive("A", "W1", 100);
  }
  static AdjustStock Adjust(Quantity delta, AdjustmentReason reason) {
    return AdjustStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .delta = delta, .reason = reason,
                       .reference = "r"};
  }
};

TEST_F(AdjustTest, EmitsStockAdjustedAndChangesOnHand) {
  Command c = Make(Adjust(-4, AdjustmentReason::kDamage));
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(PayloadAs<StockAdjusted>(d.events[0]),
            (StockAdjusted{WarehouseCode("W1"), -4, AdjustmentReason::kDamage, "r"}));
  EXPECT_EQ(Level("A", "W1").on_hand, 96);
}

TEST_F(AdjustTest, DamageAndLossMustBeNegative) {
  for (AdjustmentReason reason : {AdjustmentReason::kDamage, AdjustmentReason::kLoss}) {
    SCOPED_TRACE(ToString(reason));
    RefuseField(Adjust(1, reason), "delta");
    Quantity before = Level("A", "W1").on_hand;
    Accept(Adjust(-1, reason));
    EXPECT_EQ(Level("A", "W1").on_hand, before - 1);
  }
}

TEST_F(AdjustTest, FoundAndReturnMustBePositive) {
  for (AdjustmentReason reason : {AdjustmentReason::kFound, AdjustmentReason::kReturn}) {
    SCOPED_TRACE(ToString(reason));
    RefuseField(Adjust(-1, reason), "delta");
    Quantity before = Level("A", "W1").on_hand;
    Accept(Adjust(2, reason));
    EXPECT_EQ(Level("A", "W1").on_hand, before + 2);
  }
}

TEST_F(AdjustTest, CorrectionTakesEitherSign) {
  Accept(Adjust(5, AdjustmentReason::kCorrection));
  EXPECT_EQ(Level("A", "W1").on_hand, 105);
  Accept(Adjust(-10, AdjustmentReason::kCorrection));
  EXPECT_EQ(Level("A", "W1").on_hand, 95);
}

TEST_F(AdjustTest, DeltaBounds) {
  RefuseField(Adjust(0, AdjustmentReason::kCorrection), "delta");
  RefuseField(Adjust(kMovementQuantityMax + 1, AdjustmentReason::kCorrection), "delta");
  RefuseField(Adjust(-kMovementQuantityMax - 1, AdjustmentReason::kCorrection), "delta");
  Accept(Adjust(kMovementQuantityMax, AdjustmentReason::kFound));
  Accept(Adjust(-kMovementQuantityMax, AdjustmentReason::kLoss));
  EXPECT_EQ(Level("A", "W1").on_hand, 100);
  RefuseField(AdjustStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .delta = 1,
                          .reason = AdjustmentReason::kFound, .reference = std::string(kTextLengthMax + 1, 'x')},
              "reference");
}

TEST_F(AdjustTest, BelowZeroIsBelowReserved) {
  Rejection r = Refuse(Adjust(-101, AdjustmentReason::kLoss), RejectionReason::kBelowReserved);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  Accept(Adjust(-100, AdjustmentReason::kLoss));
  EXPECT_EQ(Level("A", "W1").on_hand, 0);
}

TEST_F(AdjustTest, BelowReservedIsRefused) {
  Accept(OneLine("R1", "A", 60, "W1"));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{100, 60, 0}));
  Rejection r = Refuse(Adjust(-41, AdjustmentReason::kDamage), RejectionReason::kBelowReserved);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  Accept(Adjust(-40, AdjustmentReason::kDamage));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{60, 60, 0}));
  EXPECT_EQ(Level("A", "W1").available(), 0);
}

TEST_F(AdjustTest, PastStockMaxIsLimitExceeded) {
  Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = kStockMax});
  Rejection r = Refuse(Adjust(1, AdjustmentReason::kFound), RejectionReason::kLimitExceeded);
  EXPECT_EQ(r.code(), absl::StatusCode::kOutOfRange);
  Accept(Adjust(-1, AdjustmentReason::kCorrection));
}

TEST_F(AdjustTest, UnknownItemOrWarehouse) {
  Refuse(AdjustStock{.sku = Sku("Z"), .warehouse = WarehouseCode("W1"), .delta = 1}, RejectionReason::kUnknownItem);
  Refuse(AdjustStock{.sku = Sku("A"), .warehouse = WarehouseCode("W9"), .delta = 1},
         RejectionReason::kUnknownWarehouse);
  RefuseField(AdjustStock{.sku = Sku("A"), .warehouse = WarehouseCode("W 9"), .delta = 1}, "warehouse");
}

TEST_F(AdjustTest, AllowedOnDiscontinuedItemAndInactiveWarehouse) {
  // Stock already in the building can still be corrected.
  Accept(DiscontinueItem{.sku = Sku("A")});
  Deactivate("W1");
  Accept(Adjust(-1, AdjustmentReason::kDamage));
  EXPECT_EQ(Level("A", "W1").on_hand, 99);
}

// ---------------------------------------------------------------- CountStock

TEST_F(DecideTest, CountStockSetsOnHandAndCarriesDelta) {
  Item("A");
  Warehouse("W1");
  Receive("A", "W1", 10);
  Command c = Make(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = 7});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(PayloadAs<StockCounted>(d.events[0]), (StockCounted{WarehouseCode("W1"), 7, -3}));
  EXPECT_EQ(Level("A", "W1").on_hand, 7);

  std::vector<Event> up = Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = 12});
  EXPECT_EQ(PayloadAs<StockCounted>(up[0]).delta, 5);
  EXPECT_EQ(Level("A", "W1").on_hand, 12);

  // A count equal to on_hand is an event with delta 0 (the count happened).
  std::vector<Event> same = Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = 12});
  EXPECT_EQ(PayloadAs<StockCounted>(same[0]).delta, 0);

  // A count of zero in a never-stocked warehouse.
  Warehouse("W2");
  std::vector<Event> zero = Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .counted = 0});
  EXPECT_EQ(PayloadAs<StockCounted>(zero[0]), (StockCounted{WarehouseCode("W2"), 0, 0}));
}

TEST_F(DecideTest, CountStockRejections) {
  Item("A");
  Warehouse("W1");
  Receive("A", "W1", 10);
  RefuseField(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = -1}, "counted");
  RefuseField(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = kStockMax + 1}, "counted");
  RefuseField(CountStock{.sku = Sku(""), .warehouse = WarehouseCode("W1"), .counted = 1}, "sku");
  Refuse(CountStock{.sku = Sku("B"), .warehouse = WarehouseCode("W1"), .counted = 1}, RejectionReason::kUnknownItem);
  Refuse(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .counted = 1},
         RejectionReason::kUnknownWarehouse);
}

TEST_F(DecideTest, CountStockUnderReservedIsBelowReserved) {
  Item("A");
  Warehouse("W1");
  Receive("A", "W1", 10);
  Accept(OneLine("R1", "A", 5, "W1"));
  Rejection r = Refuse(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = 4},
                       RejectionReason::kBelowReserved);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = 5});
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 5, 0}));
}

// ------------------------------------------- expected on hand (optimistic)

class ExpectedOnHandTest : public DecideTest {
 protected:
  void SetUp() override {
    Item("A");
    Warehouse("W1");
    Receive("A", "W1", 10);
  }
  static AdjustStock AdjustExpecting(Quantity delta, std::optional<Quantity> expected) {
    return AdjustStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .delta = delta,
                       .reason = AdjustmentReason::kCorrection, .expected_on_hand = expected};
  }
  static CountStock CountExpecting(Quantity counted, std::optional<Quantity> expected) {
    return CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .counted = counted,
                      .expected_on_hand = expected};
  }
};

TEST_F(ExpectedOnHandTest, FreshExpectationIsAccepted) {
  std::vector<Event> adjusted = Accept(AdjustExpecting(-3, 10));
  EXPECT_EQ(PayloadAs<StockAdjusted>(adjusted[0]).delta, -3);
  EXPECT_EQ(Level("A", "W1").on_hand, 7);
  std::vector<Event> counted = Accept(CountExpecting(9, 7));
  EXPECT_EQ(PayloadAs<StockCounted>(counted[0]), (StockCounted{WarehouseCode("W1"), 9, 2}));
  EXPECT_EQ(Level("A", "W1").on_hand, 9);
}

TEST_F(ExpectedOnHandTest, StaleExpectationIsAbortedWithTheCurrentFigure) {
  for (const CommandBody& body : {CommandBody(AdjustExpecting(-3, 11)), CommandBody(CountExpecting(4, 9)),
                                  CommandBody(AdjustExpecting(5, 0))}) {
    Rejection r = Refuse(body, RejectionReason::kOnHandChanged);
    EXPECT_EQ(r.code(), absl::StatusCode::kAborted);
    EXPECT_EQ(r.ToStatus().code(), absl::StatusCode::kAborted);
    ASSERT_TRUE(r.on_hand.has_value());
    EXPECT_EQ(*r.on_hand, 10);
    EXPECT_NE(r.message.find("on hand is 10"), std::string::npos) << r.message;
  }
  EXPECT_EQ(Level("A", "W1").on_hand, 10);
}

TEST_F(ExpectedOnHandTest, StaleExpectationComesBeforeTheChangesOwnRules) {
  // The change was decided on a stale figure: say so, not that it would go below reserved.
  Rejection r = Refuse(AdjustExpecting(-50, 40), RejectionReason::kOnHandChanged);
  EXPECT_EQ(r.on_hand, std::optional<Quantity>(10));
  Refuse(AdjustExpecting(-50, 10), RejectionReason::kBelowReserved);
}

TEST_F(ExpectedOnHandTest, ExpectationIsForOnHandNotAvailable) {
  Accept(OneLine("R1", "A", 4, "W1"));
  Rejection r = Refuse(CountExpecting(8, 6), RejectionReason::kOnHandChanged);
  EXPECT_EQ(r.on_hand, std::optional<Quantity>(10));
  Accept(CountExpecting(8, 10));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{8, 4, 0}));
}

TEST_F(ExpectedOnHandTest, ExpectationOfAnUnstockedLevelIsZero) {
  Warehouse("W2");
  Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .counted = 3, .expected_on_hand = 0});
  EXPECT_EQ(Level("A", "W2").on_hand, 3);
}

TEST_F(ExpectedOnHandTest, ExpectationOutOfRangeNamesTheField) {
  RefuseField(AdjustExpecting(1, -1), "expected_on_hand");
  RefuseField(CountExpecting(1, kStockMax + 1), "expected_on_hand");
}

TEST_F(ExpectedOnHandTest, RetryOfAnAppliedCommandStaysADuplicate) {
  // The retry's expectation is stale now (the first attempt moved on hand),
  // yet it is the same command: a duplicate, not ABORTED.
  Command c = MakeWithId("count-1", CountExpecting(4, 10));
  ASSERT_TRUE(DecideAndApply(state_, c).accepted());
  ExpectDuplicate(c);
  // The same id with another expectation is another request.
  Refuse(MakeWithId("count-1", CountExpecting(4, 4)), RejectionReason::kIdempotencyKeyReused);
  Refuse(MakeWithId("count-1", CountExpecting(4, std::nullopt)), RejectionReason::kIdempotencyKeyReused);
}

TEST_F(ExpectedOnHandTest, RefusedCommandMayBeRetriedWithAFreshExpectation) {
  Command stale = MakeWithId("adj-1", AdjustExpecting(-2, 9));
  Refuse(stale, RejectionReason::kOnHandChanged);
  EXPECT_EQ(state_.command(CommandId("adj-1")), nullptr);
  ASSERT_TRUE(DecideAndApply(state_, MakeWithId("adj-1", AdjustExpecting(-2, 10))).accepted());
  EXPECT_EQ(Level("A", "W1").on_hand, 8);
}

TEST_F(ExpectedOnHandTest, ExpectationJoinsTheFingerprintOnlyWhenGiven) {
  EXPECT_NE(Fingerprint(AdjustExpecting(1, 0)), Fingerprint(AdjustExpecting(1, std::nullopt)));
  EXPECT_NE(Fingerprint(AdjustExpecting(1, 0)), Fingerprint(AdjustExpecting(1, 1)));
  EXPECT_NE(Fingerprint(CountExpecting(1, 2)), Fingerprint(CountExpecting(1, std::nullopt)));
  // Without one, the fingerprints adjustments and counts were remembered with
  // before the field existed (computed by the code of that time), so a
  // retry across the upgrade is still a duplicate.
  EXPECT_EQ(Fingerprint(AdjustStock{Sku("A"), WarehouseCode("W1"), 1, AdjustmentReason::kCorrection, ""}),
            9070463875321667383ULL);
  EXPECT_EQ(Fingerprint(CountStock{Sku("A"), WarehouseCode("W1"), 1}), 14474412657053284517ULL);
}

// ---------------------------------------------------------------- transfers

class TransferTest : public DecideTest {
 protected:
  void SetUp() override {
    Item("A");
    Warehouse("W1");
    Warehouse("W2");
    Receive("A", "W1", 20);
  }
  static ShipTransfer Ship(const std::string& id, Quantity quantity, const std::string& from = "W1",
                           const std::string& to = "W2") {
    return ShipTransfer{.transfer_id = TransferId(id), .sku = Sku("A"), .from = WarehouseCode(from),
                        .to = WarehouseCode(to), .quantity = quantity};
  }
};

TEST_F(TransferTest, ShipMovesStockOutOfFromAndIncomingAtTo) {
  Command c = Make(Ship("T1", 8));
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
  EXPECT_EQ(PayloadAs<TransferShipped>(d.events[0]),
            (TransferShipped{TransferId("T1"), WarehouseCode("W1"), WarehouseCode("W2"), 8}));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{12, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{0, 0, 8}));
  const TransferState* t = state_.transfer(TransferId("T1"));
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->shipped);
  EXPECT_FALSE(t->received);
  EXPECT_EQ(t->quantity, 8);
  EXPECT_EQ(t->shipped_at_ms, now_);
  EXPECT_EQ(state_.item(t->item).sku, Sku("A"));
  EXPECT_EQ(state_.warehouse(t->from).code, WarehouseCode("W1"));
  EXPECT_EQ(state_.warehouse(t->to).code, WarehouseCode("W2"));
}

TEST_F(TransferTest, ReceiveMovesIncomingToOnHand) {
  Accept(Ship("T1", 8));
  now_ += 5000ms;
  Command c = Make(ReceiveTransfer{.transfer_id = TransferId("T1")});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
  EXPECT_EQ(PayloadAs<TransferReceived>(d.events[0]),
            (TransferReceived{TransferId("T1"), WarehouseCode("W1"), WarehouseCode("W2"), 8}));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{12, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{8, 0, 0}));
  ASSERT_NE(state_.transfer(TransferId("T1")), nullptr);
  EXPECT_TRUE(state_.transfer(TransferId("T1"))->received);
  EXPECT_EQ(state_.TotalLevel(Sku("A")).on_hand, 20);
}

TEST_F(TransferTest, ShipInvalidFields) {
  RefuseField(Ship("", 1), "transfer_id");
  RefuseField(Ship("T 1", 1), "transfer_id");
  RefuseField(Ship("T1", 0), "quantity");
  RefuseField(Ship("T1", kMovementQuantityMax + 1), "quantity");
  RefuseField(Ship("T1", 1, "", "W2"), "from_warehouse");
  RefuseField(Ship("T1", 1, "W1", ""), "to_warehouse");
  RefuseField(Ship("T1", 1, "W1", "W1"), "to_warehouse");
  RefuseField(ShipTransfer{.transfer_id = TransferId("T1"), .sku = Sku(""), .from = WarehouseCode("W1"),
                           .to = WarehouseCode("W2"), .quantity = 1},
              "sku");
}

TEST_F(TransferTest, ShipUnknownsAndInactive) {
  Refuse(ShipTransfer{.transfer_id = TransferId("T1"), .sku = Sku("B"), .from = WarehouseCode("W1"),
                      .to = WarehouseCode("W2"), .quantity = 1},
         RejectionReason::kUnknownItem);
  Refuse(Ship("T1", 1, "W9", "W2"), RejectionReason::kUnknownWarehouse);
  Refuse(Ship("T1", 1, "W1", "W9"), RejectionReason::kUnknownWarehouse);
  Deactivate("W2");
  Rejection r = Refuse(Ship("T1", 1), RejectionReason::kWarehouseInactive);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  // Shipping out of an inactive warehouse is allowed (emptying it).
  Warehouse("W3");
  Deactivate("W1");
  Accept(Ship("T2", 1, "W1", "W3"));
  EXPECT_EQ(Level("A", "W1").on_hand, 19);
  EXPECT_EQ(Level("A", "W3").incoming, 1);
}

TEST_F(TransferTest, ShipMoreThanAvailableIsInsufficientStock) {
  Accept(OneLine("R1", "A", 15, "W1"));
  Rejection r = Refuse(Ship("T1", 6), RejectionReason::kInsufficientStock);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], (LineAvailability{0, Sku("A"), 6, 5}));
  Accept(Ship("T1", 5));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{15, 15, 0}));
}

TEST_F(TransferTest, ShipFromEmptyWarehouseIsInsufficientStock) {
  Rejection r = Refuse(Ship("T1", 1, "W2", "W1"), RejectionReason::kInsufficientStock);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].requested, 1);
  EXPECT_EQ(r.lines[0].available, 0);
}

TEST_F(TransferTest, ShipWithTakenIdIsAlreadyExists) {
  Accept(Ship("T1", 1));
  EXPECT_EQ(Refuse(Ship("T1", 2), RejectionReason::kAlreadyExists).code(), absl::StatusCode::kAlreadyExists);
  Accept(ReceiveTransfer{.transfer_id = TransferId("T1")});
  Refuse(Ship("T1", 1), RejectionReason::kAlreadyExists);
}

TEST_F(TransferTest, ReceiveRejections) {
  RefuseField(ReceiveTransfer{.transfer_id = TransferId("")}, "transfer_id");
  Rejection unknown = Refuse(ReceiveTransfer{.transfer_id = TransferId("T1")}, RejectionReason::kUnknownTransfer);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  Accept(Ship("T1", 3));
  Accept(ReceiveTransfer{.transfer_id = TransferId("T1")});
  Rejection twice = Refuse(ReceiveTransfer{.transfer_id = TransferId("T1")}, RejectionReason::kAlreadyResolved);
  EXPECT_EQ(twice.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Level("A", "W2").on_hand, 3);
}

TEST_F(TransferTest, ReceivePastStockMaxIsLimitExceeded) {
  Accept(Ship("T1", 3));
  Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .counted = kStockMax - 2});
  Rejection r = Refuse(ReceiveTransfer{.transfer_id = TransferId("T1")}, RejectionReason::kLimitExceeded);
  EXPECT_EQ(r.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Level("A", "W2"), (StockLevel{kStockMax - 2, 0, 3}));
  Accept(CountStock{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .counted = kStockMax - 3});
  Accept(ReceiveTransfer{.transfer_id = TransferId("T1")});
  EXPECT_EQ(Level("A", "W2"), (StockLevel{kStockMax, 0, 0}));
}

// ---------------------------------------------------------------- Reserve

class ReserveTest : public DecideTest {
 protected:
  void SetUp() override {
    Item("A");
    Item("B");
    Warehouse("W1", "eu", 10);
    Warehouse("W2", "us", 20);
    Warehouse("W3", "eu", 20);
  }
};

TEST_F(ReserveTest, ExplicitWarehouseReservesThere) {
  Receive("A", "W1", 10);
  Receive("A", "W2", 10);
  Reserve body = OneLine("R1", "A", 4, "W2");
  body.ttl_ms = 60'000ms;
  Command c = Make(body);
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(d.events[0]),
            (ReservationLineReserved{ReservationId("R1"), OrderId("order-R1"), WarehouseCode("W2"), 4, now_ + 60'000ms,
                                     0, 1, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{10, 4, 0}));
  EXPECT_EQ(Level("A", "W2").available(), 6);
  EXPECT_EQ(Level("A", "W1"), (StockLevel{10, 0, 0}));

  const ReservationState* r = state_.reservation(ReservationId("R1"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status(), ReservationStatus::kActive);
  EXPECT_TRUE(r->complete());
  EXPECT_EQ(r->order_id, OrderId("order-R1"));
  EXPECT_EQ(r->created_at_ms, now_);
  EXPECT_EQ(r->expires_at_ms, now_ + 60'000ms);
  ASSERT_EQ(r->allocations.size(), 1u);
  EXPECT_EQ(state_.item(r->allocations[0].item).sku, Sku("A"));
  EXPECT_EQ(state_.warehouse(r->allocations[0].warehouse).code, WarehouseCode("W2"));
  EXPECT_EQ(r->allocations[0].quantity, 4);
  EXPECT_EQ(r->allocations[0].request_line, 0u);
  EXPECT_EQ(r->allocations[0].status, ReservationStatus::kActive);
  EXPECT_EQ(state_.NextExpiry(), std::optional<TimeMs>(now_ + 60'000ms));
}

TEST_F(ReserveTest, ExplicitWarehouseWithoutEnoughIsInsufficientEvenIfOthersHaveIt) {
  Receive("A", "W1", 100);
  Receive("A", "W2", 3);
  Rejection r = Refuse(OneLine("R1", "A", 4, "W2"), RejectionReason::kInsufficientStock);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.ToStatus().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], (LineAvailability{0, Sku("A"), 4, 3}));
}

TEST_F(ReserveTest, AllocationWithoutWarehousePrefersOneThatCanFill) {
  Receive("A", "W1", 3);   // priority 10, cannot fill
  Receive("A", "W2", 10);  // priority 20, can fill
  std::vector<Event> events = Accept(OneLine("R1", "A", 5));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[0]).warehouse, WarehouseCode("W2"));
  EXPECT_EQ(Level("A", "W2").reserved, 5);
  EXPECT_EQ(Level("A", "W1").reserved, 0);
}

TEST_F(ReserveTest, AllocationThenLowerPriorityNumber) {
  Receive("A", "W1", 10);  // priority 10
  Receive("A", "W2", 10);  // priority 20
  std::vector<Event> events = Accept(OneLine("R1", "A", 5));
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[0]).warehouse, WarehouseCode("W1"));
}

TEST_F(ReserveTest, AllocationThenPreferredRegion) {
  Receive("A", "W2", 10);  // priority 20, us
  Receive("A", "W3", 10);  // priority 20, eu
  Reserve body = OneLine("R1", "A", 5);
  body.preferred_region = "us";
  std::vector<Event> us = Accept(body);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(us[0]).warehouse, WarehouseCode("W2"));
  body = OneLine("R2", "A", 5);
  body.preferred_region = "eu";
  std::vector<Event> eu = Accept(body);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(eu[0]).warehouse, WarehouseCode("W3"));
}

TEST_F(ReserveTest, MultiLineAcrossSkusEmitsOneEventPerLine) {
  Receive("A", "W1", 10);
  Receive("B", "W2", 10);
  Command c = Make(Reserve{.reservation_id = ReservationId("R1"),
                           .order_id = OrderId("O1"),
                           .lines = {{Sku("A"), 2, WarehouseCode()}, {Sku("B"), 3, WarehouseCode()}}});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 2u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
  EXPECT_EQ(d.events[1].envelope.sku, Sku("B"));
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(d.events[0]),
            (ReservationLineReserved{ReservationId("R1"), OrderId("O1"), WarehouseCode("W1"), 2,
                                     now_ + 15ms * 60 * 1000, 0, 2, 0}));
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(d.events[1]),
            (ReservationLineReserved{ReservationId("R1"), OrderId("O1"), WarehouseCode("W2"), 3,
                                     now_ + 15ms * 60 * 1000, 1, 2, 1}));
  EXPECT_EQ(Level("A", "W1").reserved, 2);
  EXPECT_EQ(Level("B", "W2").reserved, 3);
  const ReservationState* r = state_.reservation(ReservationId("R1"));
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->allocations.size(), 2u);
  EXPECT_EQ(r->allocations[1].request_line, 1u);
  EXPECT_EQ(r->allocations[1].quantity, 3);
}

TEST_F(ReserveTest, MultiLineIsAllOrNothingWithPerLineAvailability) {
  Receive("A", "W1", 10);
  Receive("B", "W1", 2);
  Receive("B", "W2", 1);
  Reserve body{.reservation_id = ReservationId("R1"),
               .lines = {{Sku("A"), 5, WarehouseCode()}, {Sku("B"), 3, WarehouseCode()}, {Sku("A"), 5,
                                                                                           WarehouseCode("W1")}}};
  Rejection r = Refuse(body, RejectionReason::kInsufficientStock);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0], (LineAvailability{0, Sku("A"), 5, 5}));
  EXPECT_EQ(r.lines[1], (LineAvailability{1, Sku("B"), 3, 2}));  // single warehouse: best is 2
  EXPECT_EQ(r.lines[2], (LineAvailability{2, Sku("A"), 5, 5}));
  EXPECT_NE(r.message.find("lines[1]"), std::string::npos) << r.message;
  // Nothing was reserved for the lines that could be filled.
  EXPECT_EQ(Level("A", "W1").reserved, 0);
  EXPECT_EQ(state_.reservation(ReservationId("R1")), nullptr);
  EXPECT_FALSE(state_.NextExpiry().has_value());
}

TEST_F(ReserveTest, SplitAcrossWarehousesWithAllowSplit) {
  Receive("A", "W1", 4);  // priority 10
  Receive("A", "W2", 3);  // priority 20, us
  Receive("A", "W3", 3);  // priority 20, eu
  Reserve body = OneLine("R1", "A", 9);
  // Without split no single warehouse can fill the line.
  Rejection r = Refuse(body, RejectionReason::kInsufficientStock);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].available, 4);

  body.split = SplitPolicy::kAllowSplit;
  body.preferred_region = "eu";
  Command c = Make(body);
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted()) << d.rejection->message;
  ASSERT_EQ(d.events.size(), 3u);
  ExpectEnvelopes(d.events, c);
  const auto& a0 = PayloadAs<ReservationLineReserved>(d.events[0]);
  const auto& a1 = PayloadAs<ReservationLineReserved>(d.events[1]);
  const auto& a2 = PayloadAs<ReservationLineReserved>(d.events[2]);
  EXPECT_EQ(a0.warehouse, WarehouseCode("W1"));
  EXPECT_EQ(a0.quantity, 4);
  EXPECT_EQ(a1.warehouse, WarehouseCode("W3"));  // preferred region among equal priority
  EXPECT_EQ(a1.quantity, 3);
  EXPECT_EQ(a2.warehouse, WarehouseCode("W2"));
  EXPECT_EQ(a2.quantity, 2);
  for (std::uint32_t i = 0; i < 3; ++i) {
    const auto& p = PayloadAs<ReservationLineReserved>(d.events[i]);
    EXPECT_EQ(p.allocation_index, i);
    EXPECT_EQ(p.allocation_count, 3u);
    EXPECT_EQ(p.request_line, 0u);
  }
  EXPECT_EQ(Level("A", "W1"), (StockLevel{4, 4, 0}));
  EXPECT_EQ(Level("A", "W3"), (StockLevel{3, 3, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{3, 2, 0}));
  EXPECT_EQ(state_.TotalLevel(Sku("A")).reserved, 9);
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->allocations.size(), 3u);
}

TEST_F(ReserveTest, SplitInsufficientReportsTotal) {
  Receive("A", "W1", 4);
  Receive("A", "W2", 3);
  Reserve body = OneLine("R1", "A", 8);
  body.split = SplitPolicy::kAllowSplit;
  Rejection r = Refuse(body, RejectionReason::kInsufficientStock);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], (LineAvailability{0, Sku("A"), 8, 7}));
}

TEST_F(ReserveTest, SameSkuOnTwoLinesIsNotDoubleCounted) {
  Receive("A", "W1", 10);
  Reserve body{.reservation_id = ReservationId("R1"),
               .lines = {{Sku("A"), 6, WarehouseCode()}, {Sku("A"), 6, WarehouseCode()}}};
  Rejection r = Refuse(body, RejectionReason::kInsufficientStock);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0], (LineAvailability{0, Sku("A"), 6, 6}));
  EXPECT_EQ(r.lines[1], (LineAvailability{1, Sku("A"), 6, 4}));

  // The same with named warehouses.
  body.lines = {{Sku("A"), 6, WarehouseCode("W1")}, {Sku("A"), 6, WarehouseCode("W1")}};
  r = Refuse(body, RejectionReason::kInsufficientStock);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[1].available, 4);

  // Lines that fit together are both reserved.
  body.lines = {{Sku("A"), 6, WarehouseCode("W1")}, {Sku("A"), 4, WarehouseCode()}};
  std::vector<Event> events = Accept(body);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(Level("A", "W1"), (StockLevel{10, 10, 0}));
}

TEST_F(ReserveTest, SameSkuTwoLinesSplitTakesTheRemainder) {
  Receive("A", "W1", 5);
  Receive("A", "W2", 5);
  Reserve body{.reservation_id = ReservationId("R1"),
               .lines = {{Sku("A"), 4, WarehouseCode()}, {Sku("A"), 6, WarehouseCode()}},
               .split = SplitPolicy::kAllowSplit};
  std::vector<Event> events = Accept(body);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[0]).warehouse, WarehouseCode("W1"));
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[0]).quantity, 4);
  // Line 1 sees only 1 left at W1 (priority 10) and splits 1 + 5.
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[1]).warehouse, WarehouseCode("W1"));
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[1]).quantity, 1);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[1]).request_line, 1u);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[2]).warehouse, WarehouseCode("W2"));
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[2]).quantity, 5);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[2]).request_line, 1u);
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 5, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{5, 5, 0}));
}

TEST_F(ReserveTest, ReservedStockIsNotAvailableToLaterReservations) {
  Receive("A", "W1", 10);
  Accept(OneLine("R1", "A", 7));
  Rejection r = Refuse(OneLine("R2", "A", 4), RejectionReason::kInsufficientStock);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].available, 3);
  Accept(OneLine("R3", "A", 3));
  EXPECT_EQ(Level("A", "W1").available(), 0);
}

TEST_F(ReserveTest, InactiveWarehousesAreSkippedByAllocation) {
  Receive("A", "W1", 10);
  Deactivate("W1");
  Rejection r = Refuse(OneLine("R1", "A", 1), RejectionReason::kInsufficientStock);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].available, 0);
  // Naming it is refused as inactive.
  Rejection named = Refuse(OneLine("R1", "A", 1, "W1"), RejectionReason::kWarehouseInactive);
  EXPECT_EQ(named.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReserveTest, InvalidFields) {
  Receive("A", "W1", 10);
  auto valid = [] { return OneLine("R1", "A", 1); };
  Reserve b = valid();
  b.reservation_id = ReservationId("");
  RefuseField(b, "reservation_id");
  b = valid();
  b.order_id = OrderId("bad order");
  RefuseField(b, "order_id");
  b = valid();
  b.lines.clear();
  RefuseField(b, "lines");
  b = valid();
  b.lines.assign(kReservationLinesMax + 1, ReserveLine{Sku("A"), 1, WarehouseCode()});
  RefuseField(b, "lines");
  b = valid();
  b.lines.push_back({Sku("A"), 0, WarehouseCode()});
  RefuseField(b, "lines[1].quantity");
  b.lines[1].quantity = -3;
  RefuseField(b, "lines[1].quantity");
  b.lines[1].quantity = kMovementQuantityMax + 1;
  RefuseField(b, "lines[1].quantity");
  b = valid();
  b.lines[0].sku = Sku("");
  RefuseField(b, "lines[0].sku");
  b = valid();
  b.lines[0].warehouse = WarehouseCode("W/1");
  RefuseField(b, "lines[0].warehouse");
  b = valid();
  b.ttl_ms = kReservationTtlMinMs - 1ms;
  RefuseField(b, "ttl_ms");
  b.ttl_ms = kReservationTtlMaxMs + 1ms;
  RefuseField(b, "ttl_ms");
  b.ttl_ms = 0ms;
  RefuseField(b, "ttl_ms");
  b = valid();
  b.preferred_region = std::string(kTextLengthMax + 1, 'r');
  RefuseField(b, "preferred_region");
  // Boundaries accepted; an empty order id is allowed.
  b = valid();
  b.order_id = OrderId("");
  b.ttl_ms = kReservationTtlMinMs;
  std::vector<Event> events = Accept(b);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[0]).expires_at_ms, now_ + kReservationTtlMinMs);
  b = OneLine("R2", "A", 1);
  b.ttl_ms = kReservationTtlMaxMs;
  events = Accept(b);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[0]).expires_at_ms, now_ + kReservationTtlMaxMs);
}

TEST_F(ReserveTest, UnknownDiscontinuedInactiveAndTaken) {
  Receive("A", "W1", 10);
  Reserve b{.reservation_id = ReservationId("R1"),
            .lines = {{Sku("A"), 1, WarehouseCode()}, {Sku("NOPE"), 1, WarehouseCode()}}};
  Rejection unknown = Refuse(b, RejectionReason::kUnknownItem);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.message.find("lines[1]"), std::string::npos) << unknown.message;

  b.lines = {{Sku("A"), 1, WarehouseCode("W9")}};
  Rejection unknown_wh = Refuse(b, RejectionReason::kUnknownWarehouse);
  EXPECT_EQ(unknown_wh.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown_wh.message.find("lines[0]"), std::string::npos) << unknown_wh.message;

  Receive("B", "W1", 10);
  Accept(DiscontinueItem{.sku = Sku("B")});
  b.lines = {{Sku("B"), 1, WarehouseCode()}};
  Refuse(b, RejectionReason::kItemDiscontinued);

  Accept(OneLine("R1", "A", 1));
  Rejection taken = Refuse(OneLine("R1", "A", 1), RejectionReason::kAlreadyExists);
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  // Still taken once resolved (until forgotten).
  Accept(CommitReservation{.reservation_id = ReservationId("R1")});
  Refuse(OneLine("R1", "A", 1), RejectionReason::kAlreadyExists);
}

TEST_F(ReserveTest, SplitIntoTooManyAllocationsIsLimitExceeded) {
  // 100 lines, each over 5 warehouses of 1 unit: 500 allocations > 400.
  std::vector<std::string> warehouses;
  for (int w = 0; w < 5; ++w) {
    warehouses.push_back("S" + std::to_string(w));
    Warehouse(warehouses.back());
  }
  Reserve b{.reservation_id = ReservationId("BIG"), .split = SplitPolicy::kAllowSplit};
  for (std::size_t i = 0; i < kReservationLinesMax; ++i) {
    std::string sku = "P" + std::to_string(i);
    Item(sku);
    for (const std::string& w : warehouses) Receive(sku, w, 1);
    b.lines.push_back({Sku(sku), 5, WarehouseCode()});
  }
  Rejection r = Refuse(b, RejectionReason::kLimitExceeded);
  EXPECT_EQ(r.code(), absl::StatusCode::kOutOfRange);
  // 80 such lines make exactly 400 allocations, which is allowed.
  b.lines.resize(kReservationAllocationsMax / 5);
  std::vector<Event> events = Accept(b);
  EXPECT_EQ(events.size(), kReservationAllocationsMax);
}

// ---------------------------------------------------------------- resolution

class ResolveTest : public DecideTest {
 protected:
  void SetUp() override {
    Item("A");
    Item("B");
    Warehouse("W1", "eu", 10);
    Warehouse("W2", "eu", 20);
    Receive("A", "W1", 5);
    Receive("A", "W2", 5);
    Receive("B", "W1", 5);
    // R1: A split 5+2 across W1/W2, plus B 1 at W1: three allocations.
    Accept(Reserve{.reservation_id = ReservationId("R1"),
                   .order_id = OrderId("O1"),
                   .lines = {{Sku("A"), 7, WarehouseCode()}, {Sku("B"), 1, WarehouseCode()}},
                   .ttl_ms = 10'000ms,
                   .split = SplitPolicy::kAllowSplit});
    expires_at_ = now_ + 10'000ms;
    now_ += 1000ms;
  }
  void ExpectAllResolved(ReservationStatus status) {
    const ReservationState* r = state_.reservation(ReservationId("R1"));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->status(), status);
    EXPECT_EQ(r->resolved_at_ms, now_);
    for (const ReservationAllocation& a : r->allocations) EXPECT_EQ(a.status, status);
    EXPECT_FALSE(state_.NextExpiry().has_value());
    EXPECT_TRUE(state_.ExpiredBy(expires_at_ + 1ms, 10).empty());
  }
  TimeMs expires_at_{};
};

TEST_F(ResolveTest, CommitTakesStockOut) {
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 5, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{5, 2, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{5, 1, 0}));
  Command c = Make(CommitReservation{.reservation_id = ReservationId("R1")});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 3u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
  EXPECT_EQ(d.events[1].envelope.sku, Sku("A"));
  EXPECT_EQ(d.events[2].envelope.sku, Sku("B"));
  EXPECT_EQ(PayloadAs<ReservationCommitted>(d.events[0]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W1"), 5, 0}));
  EXPECT_EQ(PayloadAs<ReservationCommitted>(d.events[1]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W2"), 2, 1}));
  EXPECT_EQ(PayloadAs<ReservationCommitted>(d.events[2]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W1"), 1, 2}));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{0, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{3, 0, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{4, 0, 0}));
  ExpectAllResolved(ReservationStatus::kCommitted);
}

TEST_F(ResolveTest, ReleaseReturnsReservedToAvailable) {
  Command c = Make(ReleaseReservation{.reservation_id = ReservationId("R1"),
                                      .reason = ReleaseReason::kPaymentFailed});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 3u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(PayloadAs<ReservationReleased>(d.events[1]),
            (ReservationReleased{ReservationId("R1"), WarehouseCode("W2"), 2, 1, ReleaseReason::kPaymentFailed}));
  for (const Event& e : d.events) EXPECT_EQ(PayloadAs<ReservationReleased>(e).reason, ReleaseReason::kPaymentFailed);
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{5, 0, 0}));
  ExpectAllResolved(ReservationStatus::kReleased);
}

TEST_F(ResolveTest, ExpireBeforeExpiryIsNotYetExpired) {
  now_ = expires_at_ - 1ms;
  Rejection r = Refuse(ExpireReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kNotYetExpired);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kActive);
}

TEST_F(ResolveTest, ExpireAtExpiryReleasesStock) {
  now_ = expires_at_;
  EXPECT_EQ(state_.ExpiredBy(now_, 10), std::vector<ReservationId>{ReservationId("R1")});
  Command c = Make(ExpireReservation{.reservation_id = ReservationId("R1")});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 3u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(PayloadAs<ReservationExpired>(d.events[2]),
            (ReservationExpired{ReservationId("R1"), WarehouseCode("W1"), 1, 2}));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{5, 0, 0}));
  ExpectAllResolved(ReservationStatus::kExpired);
}

TEST_F(ResolveTest, ResolvingTwiceIsAlreadyResolved) {
  Accept(ReleaseReservation{.reservation_id = ReservationId("R1")});
  Rejection r = Refuse(CommitReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
  EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
  Refuse(ReleaseReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
  now_ = expires_at_ + 1ms;
  Refuse(ExpireReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
}

TEST_F(ResolveTest, CommitTwiceAndReleaseAfterCommitAreAlreadyResolved) {
  Accept(CommitReservation{.reservation_id = ReservationId("R1")});
  Refuse(CommitReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
  Refuse(ReleaseReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
  // Expire of a committed reservation is "already resolved", before or after its expiry.
  Refuse(ExpireReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
  now_ = expires_at_ + 1ms;
  Refuse(ExpireReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
}

// An order cancelled after payment: the release returns the committed stock
// in the same command, so a reservation decided next sees it on hand.
TEST_F(ResolveTest, ReleaseWithReturnStockPutsCommittedStockBackOnHand) {
  Accept(CommitReservation{.reservation_id = ReservationId("R1")});
  EXPECT_EQ(Level("A", "W1"), (StockLevel{0, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{3, 0, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{4, 0, 0}));
  std::vector<Event> events = Accept(ReleaseReservation{.reservation_id = ReservationId("R1"),
                                                        .reason = ReleaseReason::kOrderCancelled,
                                                        .if_committed = IfCommitted::kReturnStock});
  ASSERT_EQ(events.size(), 3u);
  const auto returned = PayloadAs<StockAdjusted>(events[0]);
  EXPECT_EQ(returned.reason, AdjustmentReason::kReturn);
  EXPECT_EQ(returned.delta, 5);
  EXPECT_NE(returned.reference.find("order O1 cancelled after commit"), std::string::npos) << returned.reference;
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kCommitted);
  // Without the policy a release after commit is refused, as before.
  Refuse(ReleaseReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
}

// ---- partial commit (R1: #0 A@W1 5 and #1 A@W2 2 fill line 0, #2 B@W1 1 fills line 1)

TEST_F(ResolveTest, PartialCommitByRequestLineCommitsThoseUnitsAndReleasesTheRest) {
  Command c = Make(CommitReservation{.reservation_id = ReservationId("R1"),
                                     .lines = {{.request_line = 0, .quantity = 6}}});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted()) << d.rejection->message;
  ASSERT_EQ(d.events.size(), 3u);
  ExpectEnvelopes(d.events, c);
  // Taken in allocation order: all of #0, one of #1; #2, named by no line, released whole.
  EXPECT_EQ(PayloadAs<ReservationCommitted>(d.events[0]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W1"), 5, 0, 0}));
  EXPECT_EQ(PayloadAs<ReservationCommitted>(d.events[1]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W2"), 1, 1, 1}));
  EXPECT_EQ(PayloadAs<ReservationCommitted>(d.events[2]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W1"), 0, 2, 1}));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{0, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{4, 0, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{5, 0, 0}));
  ExpectAllResolved(ReservationStatus::kCommitted);
  const ReservationState* r = state_.reservation(ReservationId("R1"));
  EXPECT_EQ(r->allocations[0].committed(), 5);
  EXPECT_EQ(r->allocations[1].committed(), 1);
  EXPECT_EQ(r->allocations[1].released, 1);
  EXPECT_EQ(r->allocations[2].committed(), 0);
  EXPECT_EQ(r->allocations[2].released, 1);
  ExpectDuplicate(c);  // a retry writes nothing
}

TEST_F(ResolveTest, PartialCommitBySkuAndWarehouse) {
  std::vector<Event> events = Accept(CommitReservation{
      .reservation_id = ReservationId("R1"),
      .lines = {{.sku = Sku("A"), .warehouse = WarehouseCode("W2"), .quantity = 1},
                {.sku = Sku("B"), .warehouse = WarehouseCode("W1"), .quantity = 1}}});
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(PayloadAs<ReservationCommitted>(events[0]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W1"), 0, 0, 5}));
  EXPECT_EQ(PayloadAs<ReservationCommitted>(events[1]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W2"), 1, 1, 1}));
  EXPECT_EQ(PayloadAs<ReservationCommitted>(events[2]),
            (ReservationCommitted{ReservationId("R1"), WarehouseCode("W1"), 1, 2, 0}));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{4, 0, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{4, 0, 0}));
  ExpectAllResolved(ReservationStatus::kCommitted);
}

TEST_F(ResolveTest, PartialCommitRefusalsNameTheLineField) {
  auto commit = [](std::vector<CommitLine> lines) {
    return CommitReservation{.reservation_id = ReservationId("R1"), .lines = std::move(lines)};
  };
  // Against the reservation (Decide).
  RefuseField(commit({{.request_line = 0, .quantity = 8}}), "lines[0].quantity");
  RefuseField(commit({{.request_line = 1, .quantity = 1}, {.sku = Sku("B"), .warehouse = WarehouseCode("W1"),
                                                            .quantity = 2}}),
              "lines[1].sku");  // overlaps lines[0]
  RefuseField(commit({{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 6}}), "lines[0].quantity");
  RefuseField(commit({{.sku = Sku("B"), .warehouse = WarehouseCode("W2"), .quantity = 1}}), "lines[0].sku");
  RefuseField(commit({{.request_line = 2, .quantity = 1}}), "lines[0].request_line");
  RefuseField(commit({{.request_line = 0, .quantity = 1}, {.request_line = 0, .quantity = 1}}),
              "lines[1].request_line");
  // On their own (validation).
  RefuseField(commit({{.request_line = 0, .quantity = 0}}), "lines[0].quantity");
  RefuseField(commit({{.request_line = 1, .quantity = 1}, {.sku = Sku("A"), .warehouse = WarehouseCode("W1")}}),
              "lines[1].quantity");
  RefuseField(commit({{.request_line = 0, .sku = Sku("A"), .quantity = 1}}), "lines[0].request_line");
  RefuseField(commit({{.request_line = kReservationLinesMax, .quantity = 1}}), "lines[0].request_line");
  RefuseField(commit({{.sku = Sku("A"), .quantity = 1}}), "lines[0].warehouse");
  RefuseField(commit({{.warehouse = WarehouseCode("W1"), .quantity = 1}}), "lines[0].sku");
  RefuseField(commit(std::vector<CommitLine>(kReservationAllocationsMax + 1, {.request_line = 0, .quantity = 1})),
              "lines");
  Rejection r = Refuse(commit({{.request_line = 0, .quantity = 8}}), RejectionReason::kInvalidArgument);
  EXPECT_EQ(r.message, "lines[0].quantity: is 8, more than the 7 reserved there");
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kActive);
  // The reservation's own state comes first.
  Refuse(CommitReservation{.reservation_id = ReservationId("R9"), .lines = {{.request_line = 0, .quantity = 1}}},
         RejectionReason::kUnknownReservation);
  Accept(ReleaseReservation{.reservation_id = ReservationId("R1")});
  Refuse(commit({{.request_line = 0, .quantity = 8}}), RejectionReason::kAlreadyResolved);
}

TEST_F(ResolveTest, PartialCommitAfterExpiryIsAlreadyResolved) {
  now_ = expires_at_;
  Refuse(CommitReservation{.reservation_id = ReservationId("R1"), .lines = {{.request_line = 0, .quantity = 1}}},
         RejectionReason::kAlreadyResolved);
}

TEST_F(ResolveTest, ReturnAfterPartialCommitReturnsOnlyWhatLeft) {
  Accept(CommitReservation{.reservation_id = ReservationId("R1"), .lines = {{.request_line = 0, .quantity = 6}}});
  std::vector<Event> events = Accept(ReleaseReservation{.reservation_id = ReservationId("R1"),
                                                        .reason = ReleaseReason::kOrderCancelled,
                                                        .if_committed = IfCommitted::kReturnStock});
  ASSERT_EQ(events.size(), 2u) << "B's allocation was released whole: nothing of it to return";
  EXPECT_EQ(PayloadAs<StockAdjusted>(events[0]).delta, 5);
  EXPECT_EQ(PayloadAs<StockAdjusted>(events[1]).delta, 1);
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("A", "W2"), (StockLevel{5, 0, 0}));
  EXPECT_EQ(Level("B", "W1"), (StockLevel{5, 0, 0}));
}

TEST_F(ResolveTest, CommitLinesJoinTheFingerprintOnlyWhenGiven) {
  // A whole commit keeps the fingerprint it had before lines existed
  // (computed by the code of that time).
  EXPECT_EQ(Fingerprint(CommitReservation{ReservationId("R1")}), 10427400493981652884ULL);
  const CommitReservation by_line{ReservationId("R1"), {{.request_line = 0, .quantity = 1}}};
  EXPECT_NE(Fingerprint(by_line), Fingerprint(CommitReservation{ReservationId("R1")}));
  EXPECT_NE(Fingerprint(by_line),
            Fingerprint(CommitReservation{ReservationId("R1"), {{.request_line = 0, .quantity = 2}}}));
  EXPECT_NE(Fingerprint(by_line),
            Fingerprint(CommitReservation{ReservationId("R1"), {{.request_line = 1, .quantity = 1}}}));
  EXPECT_NE(Fingerprint(CommitReservation{ReservationId("R1"), {{.sku = Sku("A"), .warehouse = WarehouseCode("W1"),
                                                                 .quantity = 1}}}),
            Fingerprint(CommitReservation{ReservationId("R1"), {{.sku = Sku("A"), .warehouse = WarehouseCode("W2"),
                                                                 .quantity = 1}}}));
}

TEST_F(ResolveTest, ReleaseWithReturnStockOfAnActiveReservationJustReleases) {
  std::vector<Event> events = Accept(ReleaseReservation{.reservation_id = ReservationId("R1"),
                                                        .if_committed = IfCommitted::kReturnStock});
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<ReservationReleased>(events[0].payload));
  ExpectAllResolved(ReservationStatus::kReleased);
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 0, 0}));
}

TEST_F(ResolveTest, CommitAfterExpiryIsAlreadyResolved) {
  now_ = expires_at_ + 5ms;
  Accept(ExpireReservation{.reservation_id = ReservationId("R1")});
  Refuse(CommitReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
}

TEST_F(ResolveTest, CommitPastTheTtlIsRefusedEvenBeforeTheExpiryIsRecorded) {
  now_ = expires_at_;
  Rejection r = Refuse(CommitReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kAlreadyResolved);
  EXPECT_NE(r.message.find("expired at"), std::string::npos) << r.message;
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kActive);
  // Release is still allowed: it frees the stock just as the expiry would.
  Accept(ReleaseReservation{.reservation_id = ReservationId("R1")});
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kReleased);
}

TEST_F(ResolveTest, CommitJustBeforeTheTtlSucceeds) {
  now_ = expires_at_ - 1ms;
  Accept(CommitReservation{.reservation_id = ReservationId("R1")});
  EXPECT_EQ(state_.reservation(ReservationId("R1"))->status(), ReservationStatus::kCommitted);
}

TEST_F(ResolveTest, UnknownReservation) {
  for (CommandBody body : std::vector<CommandBody>{CommitReservation{.reservation_id = ReservationId("R9")},
                                                   ReleaseReservation{.reservation_id = ReservationId("R9")},
                                                   ExpireReservation{.reservation_id = ReservationId("R9")}}) {
    Rejection r = Refuse(body, RejectionReason::kUnknownReservation);
    EXPECT_EQ(r.code(), absl::StatusCode::kNotFound);
  }
}

TEST_F(ResolveTest, InvalidReservationId) {
  RefuseField(CommitReservation{.reservation_id = ReservationId("")}, "reservation_id");
  RefuseField(ReleaseReservation{.reservation_id = ReservationId("a b")}, "reservation_id");
  RefuseField(ExpireReservation{.reservation_id = ReservationId(std::string(kIdLengthMax + 1, 'r'))},
              "reservation_id");
}

TEST_F(ResolveTest, ReleaseReasonIsPartOfTheFingerprint) {
  Command first = MakeWithId("rel", ReleaseReservation{.reservation_id = ReservationId("R1"),
                                                       .reason = ReleaseReason::kCancelled});
  ASSERT_TRUE(DecideAndApply(state_, first).accepted());
  Refuse(MakeWithId("rel", ReleaseReservation{.reservation_id = ReservationId("R1"),
                                              .reason = ReleaseReason::kOrderCancelled}),
         RejectionReason::kIdempotencyKeyReused);
}

// ---------------------------------------------------------------- idempotency

TEST_F(DecideTest, SameCommandIdSameBodyIsDuplicate) {
  Item("A");
  Warehouse("W1");
  Command c = MakeWithId("receive-1", ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"),
                                                   .quantity = 5});
  ASSERT_TRUE(DecideAndApply(state_, c).accepted());
  State before = state_;
  c.meta.now_ms += 60s;  // a retry, later
  Decision d = DecideAndApply(state_, c);
  EXPECT_TRUE(d.accepted());
  EXPECT_TRUE(d.duplicate);
  EXPECT_TRUE(d.events.empty());
  EXPECT_TRUE(state_ == before);
  EXPECT_EQ(Level("A", "W1").on_hand, 5);
}

TEST_F(DecideTest, DuplicateEvenWhenTheCommandWouldNowBeRefused) {
  Item("A");
  Warehouse("W1");
  Receive("A", "W1", 5);
  Command c = MakeWithId("res-1", OneLine("R1", "A", 5));
  ASSERT_TRUE(DecideAndApply(state_, c).accepted());
  Accept(CommitReservation{.reservation_id = ReservationId("R1")});
  ExpectDuplicate(c);
}

TEST_F(DecideTest, DuplicateOfMultiEventCommand) {
  Item("A");
  Warehouse("W1");
  Warehouse("W2");
  Receive("A", "W1", 2);
  Receive("A", "W2", 2);
  Reserve body = OneLine("R1", "A", 3);
  body.split = SplitPolicy::kAllowSplit;
  Command c = MakeWithId("split", body);
  Decision first = DecideAndApply(state_, c);
  ASSERT_EQ(first.events.size(), 2u);
  ASSERT_NE(state_.command(CommandId("split")), nullptr);
  EXPECT_EQ(state_.command(CommandId("split"))->event_count, 2u);
  State before = state_;
  Decision d = DecideAndApply(state_, c);
  EXPECT_TRUE(d.duplicate);
  EXPECT_TRUE(d.events.empty());
  EXPECT_TRUE(state_ == before);
}

TEST_F(DecideTest, SameCommandIdDifferentBodyIsIdempotencyKeyReused) {
  Item("A");
  Warehouse("W1");
  ASSERT_TRUE(ApplyWithId("k1", ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .quantity = 5})
                  .accepted());
  Rejection r = Refuse(MakeWithId("k1", ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"),
                                                     .quantity = 6}),
                       RejectionReason::kIdempotencyKeyReused);
  EXPECT_EQ(r.field, "command_id");
  EXPECT_EQ(r.code(), absl::StatusCode::kInvalidArgument);
  // A different command kind under the same id too.
  Refuse(MakeWithId("k1", DiscontinueItem{.sku = Sku("A")}), RejectionReason::kIdempotencyKeyReused);
  EXPECT_EQ(Level("A", "W1").on_hand, 5);
  EXPECT_EQ(state_.item(Sku("A"))->status, ItemStatus::kActive);
}

TEST_F(DecideTest, RejectedCommandsAreNotRemembered) {
  Warehouse("W1");
  Command c = MakeWithId("retry-me", ReceiveStock{.sku = Sku("A"), .warehouse = WarehouseCode("W1"),
                                                  .quantity = 5});
  Refuse(c, RejectionReason::kUnknownItem);
  EXPECT_EQ(state_.command(CommandId("retry-me")), nullptr);
  Item("A");
  Decision d = DecideAndApply(state_, c);
  EXPECT_TRUE(d.accepted());
  EXPECT_FALSE(d.duplicate);
  EXPECT_EQ(d.events.size(), 1u);
  EXPECT_EQ(Level("A", "W1").on_hand, 5);
}

TEST_F(DecideTest, InvalidBodyIsRejectedBeforeIdempotencyCheck) {
  Item("A");
  ASSERT_TRUE(ApplyWithId("k1", DiscontinueItem{.sku = Sku("A")}).accepted());
  // Validation comes first: the malformed body is named, not the reused key.
  Rejection r = Refuse(MakeWithId("k1", DiscontinueItem{.sku = Sku("")}), RejectionReason::kInvalidArgument);
  EXPECT_EQ(r.field, "sku");
}

// ---------------------------------------------------------------- codes

TEST(RejectionCodeTest, MapsReasonsToAbslCodesPerDecision8) {
  struct Case {
    RejectionReason reason;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {RejectionReason::kInvalidArgument, absl::StatusCode::kInvalidArgument},
      {RejectionReason::kIdempotencyKeyReused, absl::StatusCode::kInvalidArgument},
      {RejectionReason::kInsufficientStock, absl::StatusCode::kFailedPrecondition},
      {RejectionReason::kUnknownItem, absl::StatusCode::kNotFound},
      {RejectionReason::kUnknownWarehouse, absl::StatusCode::kNotFound},
      {RejectionReason::kUnknownReservation, absl::StatusCode::kNotFound},
      {RejectionReason::kUnknownTransfer, absl::StatusCode::kNotFound},
      {RejectionReason::kItemDiscontinued, absl::StatusCode::kFailedPrecondition},
      {RejectionReason::kWarehouseInactive, absl::StatusCode::kFailedPrecondition},
      {RejectionReason::kAlreadyExists, absl::StatusCode::kAlreadyExists},
      {RejectionReason::kAlreadyResolved, absl::StatusCode::kFailedPrecondition},
      {RejectionReason::kBelowReserved, absl::StatusCode::kFailedPrecondition},
      {RejectionReason::kLimitExceeded, absl::StatusCode::kOutOfRange},
      {RejectionReason::kNotYetExpired, absl::StatusCode::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    Rejection r;
    r.reason = c.reason;
    r.message = "m";
    EXPECT_EQ(r.code(), c.code) << ToString(c.reason);
    EXPECT_EQ(r.ToStatus().code(), c.code) << ToString(c.reason);
    EXPECT_NE(ToString(c.reason), "unknown");
  }
}

}  // namespace
}  // namespace ledger

namespace ledger {
namespace {

// ---- BlockSales / UnblockSales -------------------------------------------

using SalesBlockTest = ReserveTest;

TEST_F(SalesBlockTest, BlockEverywhereRefusesEveryReservationWithTheReason) {
  Receive("A", "W1", 10);
  Command c = Make(BlockSales{.sku = Sku("A"), .reason = "recall 2026-12"});
  c.meta.actor = "ops";
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted());
  ASSERT_EQ(d.events.size(), 1u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.sku, Sku("A"));
  EXPECT_EQ(PayloadAs<SalesBlocked>(d.events[0]), (SalesBlocked{WarehouseCode(), "recall 2026-12"}));
  const ItemState* item = state_.item(Sku("A"));
  ASSERT_NE(item, nullptr);
  ASSERT_EQ(item->sales_blocks.size(), 1u);
  EXPECT_EQ(item->sales_blocks[0],
            (SalesBlock{.warehouse = WarehouseCode(), .reason = "recall 2026-12", .blocked_at_ms = now_, .actor = "ops"}));

  for (const std::string wh : {"", "W1"}) {
    Rejection r = Refuse(OneLine("R1", "A", 1, wh), RejectionReason::kSalesBlocked);
    EXPECT_EQ(r.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(r.message, "lines[0]: sales of A are blocked everywhere: recall 2026-12");
  }
  // Other SKUs and other commands go on: stock can still be received.
  Receive("B", "W1", 5);
  Accept(OneLine("R2", "B", 1));
  Receive("A", "W1", 1);
  EXPECT_EQ(Level("A", "W1").available(), 11);
}

TEST_F(SalesBlockTest, BlockAtOneWarehouseTakesItOutOfAllocation) {
  Receive("A", "W1", 10);  // priority 10: allocation's first choice
  Receive("A", "W2", 10);
  Accept(BlockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .reason = "damaged shelf"});
  std::vector<Event> events = Accept(OneLine("R1", "A", 4));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(PayloadAs<ReservationLineReserved>(events[0]).warehouse, WarehouseCode("W2"));
  Rejection named = Refuse(OneLine("R2", "A", 1, "W1"), RejectionReason::kSalesBlocked);
  EXPECT_EQ(named.message, "lines[0]: sales of A are blocked at W1: damaged shelf");
  // What W1 holds counts for nothing while blocked: 6 are left at W2.
  Rejection short_of = Refuse(OneLine("R3", "A", 7), RejectionReason::kInsufficientStock);
  ASSERT_EQ(short_of.lines.size(), 1u);
  EXPECT_EQ(short_of.lines[0].available, 6);
}

TEST_F(SalesBlockTest, ExistingReservationsStayAndCommitWhileBlocked) {
  Receive("A", "W1", 10);
  Accept(OneLine("R1", "A", 4));
  Accept(BlockSales{.sku = Sku("A"), .reason = "recall"});
  Accept(CommitReservation{ReservationId("R1")});
  EXPECT_EQ(Level("A", "W1"), (StockLevel{6, 0, 0}));
}

TEST_F(SalesBlockTest, UnblockLiftsExactlyItsScope) {
  Receive("A", "W1", 10);
  Accept(BlockSales{.sku = Sku("A"), .reason = "recall"});
  Accept(BlockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .reason = "audit"});
  ASSERT_EQ(state_.item(Sku("A"))->sales_blocks.size(), 2u);
  EXPECT_TRUE(state_.item(Sku("A"))->sales_blocks[0].warehouse.empty()) << "the everywhere block sorts first";
  std::vector<Event> events = Accept(UnblockSales{.sku = Sku("A")});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(PayloadAs<SalesUnblocked>(events[0]), (SalesUnblocked{WarehouseCode()}));
  // W1's own block still stands.
  Rejection r = Refuse(OneLine("R1", "A", 1, "W1"), RejectionReason::kSalesBlocked);
  EXPECT_EQ(r.message, "lines[0]: sales of A are blocked at W1: audit");
  Accept(UnblockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W1")});
  EXPECT_TRUE(state_.item(Sku("A"))->sales_blocks.empty());
  Accept(OneLine("R1", "A", 1, "W1"));
}

TEST_F(SalesBlockTest, Rejections) {
  Accept(BlockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .reason = "audit"});
  Rejection twice =
      Refuse(BlockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W1"), .reason = "other"},
             RejectionReason::kAlreadyExists);
  EXPECT_EQ(twice.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(twice.message, "sales of A are blocked at W1: audit already; unblock first to change the reason");
  Refuse(BlockSales{.sku = Sku("nope"), .reason = "x"}, RejectionReason::kUnknownItem);
  Refuse(BlockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W9"), .reason = "x"},
         RejectionReason::kUnknownWarehouse);
  RefuseField(BlockSales{.sku = Sku("A"), .reason = ""}, "reason");
  RefuseField(BlockSales{.sku = Sku(""), .reason = "x"}, "sku");
  RefuseField(BlockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W 1"), .reason = "x"}, "warehouse");
  RefuseField(BlockSales{.sku = Sku("A"), .reason = "bad\x01"}, "reason");

  // Unblocking the everywhere scope does not lift W1's block, and says so.
  Rejection none = Refuse(UnblockSales{.sku = Sku("A")}, RejectionReason::kNotBlocked);
  EXPECT_EQ(none.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(none.message, "sales of A are not blocked everywhere");
  Rejection none_at = Refuse(UnblockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W2")},
                             RejectionReason::kNotBlocked);
  EXPECT_EQ(none_at.message, "sales of A are not blocked at W2");
  Refuse(UnblockSales{.sku = Sku("nope")}, RejectionReason::kUnknownItem);
  RefuseField(UnblockSales{.sku = Sku("")}, "sku");
}

TEST_F(SalesBlockTest, DiscontinuedItemsCanBeBlockedAndTheBlockIsPartOfTheFingerprint) {
  Accept(DiscontinueItem{Sku("B")});
  Accept(BlockSales{.sku = Sku("B"), .reason = "recall"});
  EXPECT_NE(Fingerprint(BlockSales{.sku = Sku("A"), .reason = "x"}),
            Fingerprint(BlockSales{.sku = Sku("A"), .reason = "y"}));
  EXPECT_NE(Fingerprint(UnblockSales{.sku = Sku("A")}),
            Fingerprint(UnblockSales{.sku = Sku("A"), .warehouse = WarehouseCode("W1")}));
}

}  // namespace
}  // namespace ledger

namespace ledger {
namespace {

// ---- ExpireReservation (an operator's, now) and ExtendReservation -------

TEST_F(ResolveTest, OperatorExpiresNowWhateverTheTtl) {
  ASSERT_LT(now_, expires_at_);
  Command c = Make(ExpireReservation{.reservation_id = ReservationId("R1"), .when = ExpireWhen::kNow});
  c.meta.actor = "ops";
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted()) << d.rejection->message;
  ASSERT_EQ(d.events.size(), 3u);
  ExpectEnvelopes(d.events, c);
  EXPECT_EQ(d.events[0].envelope.actor, "ops");
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 0, 0}));
  ExpectAllResolved(ReservationStatus::kExpired);
  EXPECT_EQ(state_.NextExpiry(), std::nullopt);
  Refuse(ExpireReservation{.reservation_id = ReservationId("R1"), .when = ExpireWhen::kNow},
         RejectionReason::kAlreadyResolved);
  Refuse(ExpireReservation{.reservation_id = ReservationId("nope"), .when = ExpireWhen::kNow},
         RejectionReason::kUnknownReservation);
  // The timer's and the operator's expiry are different commands.
  EXPECT_NE(Fingerprint(ExpireReservation{ReservationId("R1")}),
            Fingerprint(ExpireReservation{ReservationId("R1"), ExpireWhen::kNow}));
}

TEST_F(ResolveTest, ExtendMovesTheExpiryOfEveryAllocationLater) {
  Command c = Make(ExtendReservation{.reservation_id = ReservationId("R1"), .ttl_ms = 60'000ms});
  Decision d = DecideAndApply(state_, c);
  ASSERT_TRUE(d.accepted()) << d.rejection->message;
  ASSERT_EQ(d.events.size(), 3u);
  ExpectEnvelopes(d.events, c);
  const TimeMs to = now_ + 60'000ms;
  EXPECT_EQ(PayloadAs<ReservationExtended>(d.events[2]),
            (ReservationExtended{ReservationId("R1"), WarehouseCode("W1"), 2, to}));
  EXPECT_EQ(d.events[2].envelope.sku, Sku("B"));
  const ReservationState* r = state_.reservation(ReservationId("R1"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->expires_at_ms, to);
  EXPECT_EQ(r->status(), ReservationStatus::kActive);
  EXPECT_EQ(state_.NextExpiry(), std::optional<TimeMs>(to));
  EXPECT_EQ(Level("A", "W1"), (StockLevel{5, 5, 0})) << "an extension moves no level";
  // The old expiry no longer applies: the timer's expiry waits for the new one,
  // and a commit past the old one succeeds.
  now_ = expires_at_ + 1ms;
  EXPECT_TRUE(state_.ExpiredBy(now_, 10).empty());
  Refuse(ExpireReservation{.reservation_id = ReservationId("R1")}, RejectionReason::kNotYetExpired);
  Accept(CommitReservation{ReservationId("R1")});
  ExpectAllResolved(ReservationStatus::kCommitted);
}

TEST_F(ResolveTest, ExtendRejections) {
  Rejection earlier = Refuse(ExtendReservation{.reservation_id = ReservationId("R1"), .ttl_ms = 1'000ms},
                             RejectionReason::kExpiryNotLater);
  EXPECT_EQ(earlier.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(earlier.message, absl::StrCat("reservation R1 expires at ", EpochMs(expires_at_), "; the extension to ",
                                          EpochMs(now_ + 1'000ms), " is not later"));
  RefuseField(ExtendReservation{.reservation_id = ReservationId("R1"), .ttl_ms = 999ms}, "ttl_ms");
  RefuseField(ExtendReservation{.reservation_id = ReservationId("R1"), .ttl_ms = kReservationTtlMaxMs + 1ms}, "ttl_ms");
  RefuseField(ExtendReservation{.reservation_id = ReservationId(""), .ttl_ms = 60'000ms}, "reservation_id");
  Refuse(ExtendReservation{.reservation_id = ReservationId("nope"), .ttl_ms = 60'000ms},
         RejectionReason::kUnknownReservation);
  // Past its TTL (even before the timer records it) there is nothing to extend.
  const TimeMs before = now_;
  now_ = expires_at_;
  Rejection late = Refuse(ExtendReservation{.reservation_id = ReservationId("R1"), .ttl_ms = 60'000ms},
                          RejectionReason::kAlreadyResolved);
  EXPECT_EQ(late.message, absl::StrCat("reservation R1 expired at ", EpochMs(expires_at_)));
  now_ = before;
  Accept(ReleaseReservation{ReservationId("R1")});
  Refuse(ExtendReservation{.reservation_id = ReservationId("R1"), .ttl_ms = 60'000ms},
         RejectionReason::kAlreadyResolved);
}

}  // namespace
}  // namespace ledger
