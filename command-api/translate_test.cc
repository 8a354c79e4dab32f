// Unit tests for the API edge (command-api/translate.h): every request type
// becomes the ledger command with every field carried over, shape errors the
// ledger cannot see are INVALID_ARGUMENT naming the field, ledger field paths
// are renamed to the request's, and rejections/statuses keep their content.
#include "command-api/translate.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "base/status.h"

namespace command_api {
namespace {

void SetContext(pb::CommandContext* c, const std::string& id, const std::string& actor = "alice",
                const std::string& correlation = "corr-1") {
  c->set_command_id(id);
  c->set_actor(actor);
  c->set_correlation_id(correlation);
}

void ExpectMeta(const ledger::Command& command, const std::string& id, const std::string& actor = "alice",
                const std::string& correlation = "corr-1") {
  EXPECT_EQ(command.meta.command_id.value(), id);
  EXPECT_EQ(command.meta.actor, actor);
  EXPECT_EQ(command.meta.correlation_id, correlation);
  EXPECT_EQ(ledger::EpochMs(command.meta.now_ms), 0) << "the writer stamps the time, not the translation";
}

// The body as T, or a test failure.
template <typename T>
const T& Body(const absl::StatusOr<ledger::Command>& command) {
  static const T kEmpty{};
  if (!command.ok()) {
    ADD_FAILURE() << "translation failed: " << command.status();
    return kEmpty;
  }
  const T* body = std::get_if<T>(&command->body);
  if (body == nullptr) {
    ADD_FAILURE() << "wrong command kind, variant index " << command->body.index();
    return kEmpty;
  }
  return *body;
}

void ExpectInvalidField(const absl::StatusOr<ledger::Command>& command, const std::string& field) {
  ASSERT_FALSE(command.ok()) << "expected INVALID_ARGUMENT naming " << field;
  EXPECT_EQ(command.status().code(), absl::StatusCode::kInvalidArgument) << command.status();
  std::optional<std::string> named = base::FieldOf(command.status());
  ASSERT_TRUE(named.has_value()) << command.status();
  EXPECT_EQ(*named, field);
  EXPECT_NE(command.status().message().find(field), absl::string_view::npos) << command.status();
}

TEST(TranslateTest, CreateItemMapsEveryField) {
  pb::CreateItemRequest r;
  SetContext(r.mutable_context(), "cmd-1", "bob", "c-9");
  pb::Item* item = r.mutable_item();
  item->set_sku("SKU-1");
  item->set_name("Widget");
  item->set_category("tools");
  pb::Attribute* a = item->add_attributes();
  a->set_key("color");
  a->set_value("red");
  a = item->add_attributes();
  a->set_key("size");
  a->set_value("L");
  item->set_reorder_point(7);
  item->set_reorder_quantity(40);
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectMeta(*c, "cmd-1", "bob", "c-9");
  const auto& body = Body<ledger::CreateItem>(c);
  EXPECT_EQ(body.sku.value(), "SKU-1");
  EXPECT_EQ(body.name, "Widget");
  EXPECT_EQ(body.category, "tools");
  EXPECT_EQ(body.attributes, (ledger::Attributes{{"color", "red"}, {"size", "L"}}));
  EXPECT_EQ(body.reorder_point, 7);
  EXPECT_EQ(body.reorder_quantity, 40);
}

TEST(TranslateTest, UpdateItemCarriesOnlyTheFieldsSet) {
  pb::UpdateItemRequest r;
  SetContext(r.mutable_context(), "cmd-2");
  r.set_sku("SKU-1");
  absl::StatusOr<ledger::Command> none = ToCommand(r);
  ASSERT_TRUE(none.ok()) << none.status();
  ExpectMeta(*none, "cmd-2");
  const auto& empty = Body<ledger::UpdateItem>(none);
  EXPECT_EQ(empty.sku.value(), "SKU-1");
  EXPECT_FALSE(empty.name.has_value());
  EXPECT_FALSE(empty.category.has_value());
  EXPECT_FALSE(empty.attributes.has_value());
  EXPECT_FALSE(empty.reorder_point.has_value());
  EXPECT_FALSE(empty.reorder_quantity.has_value());

  r.set_name("");  // present but empty is still "set"
  r.set_category("garden");
  r.set_reorder_point(0);
  r.set_reorder_quantity(12);
  r.set_replace_attributes(true);
  pb::Attribute* a = r.add_attributes();
  a->set_key("k");
  a->set_value("v");
  absl::StatusOr<ledger::Command> all = ToCommand(r);
  const auto& u = Body<ledger::UpdateItem>(all);
  ASSERT_TRUE(u.name.has_value());
  EXPECT_EQ(*u.name, "");
  EXPECT_EQ(u.category, std::optional<std::string>("garden"));
  EXPECT_EQ(u.reorder_point, std::optional<ledger::Quantity>(0));
  EXPECT_EQ(u.reorder_quantity, std::optional<ledger::Quantity>(12));
  EXPECT_EQ(u.attributes, std::optional<ledger::Attributes>(ledger::Attributes{{"k", "v"}}));
}

TEST(TranslateTest, UpdateItemReplaceAttributesWithNoneClearsThem) {
  pb::UpdateItemRequest r;
  SetContext(r.mutable_context(), "cmd-3");
  r.set_sku("SKU-1");
  r.set_replace_attributes(true);
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  const auto& u = Body<ledger::UpdateItem>(c);
  ASSERT_TRUE(u.attributes.has_value());
  EXPECT_TRUE(u.attributes->empty());
}

TEST(TranslateTest, UpdateItemAttributesWithoutReplaceIsInvalid) {
  pb::UpdateItemRequest r;
  SetContext(r.mutable_context(), "cmd-4");
  r.set_sku("SKU-1");
  r.add_attributes()->set_key("k");
  ExpectInvalidField(ToCommand(r), "replace_attributes");
}

TEST(TranslateTest, DeleteItemDiscontinues) {
  pb::DeleteItemRequest r;
  SetContext(r.mutable_context(), "cmd-5");
  r.set_sku("SKU-9");
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectMeta(*c, "cmd-5");
  EXPECT_EQ(Body<ledger::DiscontinueItem>(c).sku.value(), "SKU-9");
}

TEST(TranslateTest, CreateWarehouseMapsEveryField) {
  pb::CreateWarehouseRequest r;
  SetContext(r.mutable_context(), "cmd-6");
  pb::Warehouse* w = r.mutable_warehouse();
  w->set_warehouse("WH-1");
  w->set_name("North");
  w->set_region("eu-west");
  w->set_priority(3);
  w->set_active(true);
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectMeta(*c, "cmd-6");
  const auto& reg = Body<ledger::RegisterWarehouse>(c);
  EXPECT_EQ(reg.warehouse.value(), "WH-1");
  EXPECT_EQ(reg.name, "North");
  EXPECT_EQ(reg.region, "eu-west");
  EXPECT_EQ(reg.priority, 3);
  EXPECT_TRUE(reg.active);

  w->set_active(false);
  w->set_priority(0);
  absl::StatusOr<ledger::Command> inactive = ToCommand(r);
  EXPECT_FALSE(Body<ledger::RegisterWarehouse>(inactive).active);
  EXPECT_EQ(Body<ledger::RegisterWarehouse>(inactive).priority, 0);
}

pb::AdjustInventoryRequest AdjustRequest() {
  pb::AdjustInventoryRequest r;
  SetContext(r.mutable_context(), "cmd-7");
  r.set_sku("SKU-1");
  r.set_warehouse("WH-1");
  r.set_reference("po-17");
  return r;
}

TEST(TranslateTest, AdjustInventoryReceiveQuantity) {
  pb::AdjustInventoryRequest r = AdjustRequest();
  r.set_receive_quantity(25);
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectMeta(*c, "cmd-7");
  const auto& s = Body<ledger::ReceiveStock>(c);
  EXPECT_EQ(s.sku.value(), "SKU-1");
  EXPECT_EQ(s.warehouse.value(), "WH-1");
  EXPECT_EQ(s.quantity, 25);
  EXPECT_EQ(s.reference, "po-17");
}

TEST(TranslateTest, AdjustInventoryDeltaMapsEveryReason) {
  const std::pair<pb::AdjustmentReason, ledger::AdjustmentReason> kReasons[] = {
      {pb::ADJUSTMENT_REASON_DAMAGE, ledger::AdjustmentReason::kDamage},
      {pb::ADJUSTMENT_REASON_LOSS, ledger::AdjustmentReason::kLoss},
      {pb::ADJUSTMENT_REASON_FOUND, ledger::AdjustmentReason::kFound},
      {pb::ADJUSTMENT_REASON_CORRECTION, ledger::AdjustmentReason::kCorrection},
      {pb::ADJUSTMENT_REASON_RETURN, ledger::AdjustmentReason::kReturn},
  };
  for (const auto& [proto, ledger_reason] : kReasons) {
    SCOPED_TRACE(pb::AdjustmentReason_Name(proto));
    pb::AdjustInventoryRequest r = AdjustRequest();
    r.set_adjust_delta(-3);
    r.set_reason(proto);
    absl::StatusOr<ledger::Command> c = ToCommand(r);
    ASSERT_TRUE(c.ok()) << c.status();
    ExpectMeta(*c, "cmd-7");
    const auto& a = Body<ledger::AdjustStock>(c);
    EXPECT_EQ(a.sku.value(), "SKU-1");
    EXPECT_EQ(a.warehouse.value(), "WH-1");
    EXPECT_EQ(a.delta, -3);
    EXPECT_EQ(a.reason, ledger_reason);
    EXPECT_EQ(a.reference, "po-17");
  }
}

TEST(TranslateTest, AdjustInventoryCountedQuantity) {
  pb::AdjustInventoryRequest r = AdjustRequest();
  r.set_counted_quantity(0);  // zero is a real count: the oneof case decides
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  ASSERT_TRUE(c.ok()) << c.status();
  const auto& count = Body<ledger::CountStock>(c);
  EXPECT_EQ(count.sku.value(), "SKU-1");
  EXPECT_EQ(count.warehouse.value(), "WH-1");
  EXPECT_EQ(count.counted, 0);
}

TEST(TranslateTest, AdjustInventoryWithoutChangeIsInvalid) {
  ExpectInvalidField(ToCommand(AdjustRequest()), "change");
}

TEST(TranslateTest, AdjustDeltaWithoutReasonIsInvalid) {
  pb::AdjustInventoryRequest r = AdjustRequest();
  r.set_adjust_delta(5);
  ExpectInvalidField(ToCommand(r), "reason");
  // A reason with another kind of change is simply not used.
  pb::AdjustInventoryRequest receive = AdjustRequest();
  receive.set_receive_quantity(1);
  EXPECT_TRUE(ToCommand(receive).ok());
}

TEST(TranslateTest, TransferShipMapsEveryField) {
  pb::TransferInventoryRequest r;
  SetContext(r.mutable_context(), "cmd-8");
  r.set_transfer_id("t-1");
  r.set_step(pb::TransferInventoryRequest::STEP_SHIP);
  r.set_sku("SKU-1");
  r.set_from_warehouse("WH-1");
  r.set_to_warehouse("WH-2");
  r.set_quantity(9);
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectMeta(*c, "cmd-8");
  const auto& ship = Body<ledger::ShipTransfer>(c);
  EXPECT_EQ(ship.transfer_id.value(), "t-1");
  EXPECT_EQ(ship.sku.value(), "SKU-1");
  EXPECT_EQ(ship.from.value(), "WH-1");
  EXPECT_EQ(ship.to.value(), "WH-2");
  EXPECT_EQ(ship.quantity, 9);
}

TEST(TranslateTest, TransferReceive) {
  pb::TransferInventoryRequest r;
  SetContext(r.mutable_context(), "cmd-9");
  r.set_transfer_id("t-1");
  r.set_step(pb::TransferInventoryRequest::STEP_RECEIVE);
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectMeta(*c, "cmd-9");
  EXPECT_EQ(Body<ledger::ReceiveTransfer>(c).transfer_id.value(), "t-1");
}

TEST(TranslateTest, TransferWithoutStepIsInvalid) {
  pb::TransferInventoryRequest r;
  SetContext(r.mutable_context(), "cmd-10");
  r.set_transfer_id("t-1");
  r.set_quantity(3);
  ExpectInvalidField(ToCommand(r), "step");
  r.set_step(static_cast<pb::TransferInventoryRequest::Step>(7));  // unknown enum value from a newer client
  ExpectInvalidField(ToCommand(r), "step");
}

pb::CheckAndReserveStockRequest ReserveRequest() {
  pb::CheckAndReserveStockRequest r;
  SetContext(r.mutable_context(), "cmd-11", "shop", "");
  r.set_order_id("order-5");
  pb::OrderLine* line = r.add_lines();
  line->set_sku("SKU-1");
  line->set_quantity(2);
  line->set_warehouse("WH-1");
  line = r.add_lines();
  line->set_sku("SKU-2");
  line->set_quantity(4);
  return r;
}

TEST(TranslateTest, ReserveMapsEveryField) {
  pb::CheckAndReserveStockRequest r = ReserveRequest();
  r.set_reservation_id("res-1");
  r.set_ttl_ms(90'000);
  r.set_allow_split(true);
  r.set_preferred_region("eu-west");
  r.mutable_context()->set_correlation_id("corr-7");
  TranslateOptions options;
  options.default_ttl_ms = ledger::DurationMs{123'000};
  absl::StatusOr<ledger::Command> c = ToCommand(r, options);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectMeta(*c, "cmd-11", "shop", "corr-7");
  const auto& reserve = Body<ledger::Reserve>(c);
  EXPECT_EQ(reserve.reservation_id.value(), "res-1");
  EXPECT_EQ(reserve.order_id.value(), "order-5");
  ASSERT_EQ(reserve.lines.size(), 2u);
  EXPECT_EQ(reserve.lines[0].sku.value(), "SKU-1");
  EXPECT_EQ(reserve.lines[0].quantity, 2);
  EXPECT_EQ(reserve.lines[0].warehouse.value(), "WH-1");
  EXPECT_EQ(reserve.lines[1].sku.value(), "SKU-2");
  EXPECT_EQ(reserve.lines[1].quantity, 4);
  EXPECT_TRUE(reserve.lines[1].warehouse.empty());
  EXPECT_EQ(reserve.ttl_ms.count(), 90'000);
  EXPECT_EQ(reserve.split, ledger::SplitPolicy::kAllowSplit);
  EXPECT_EQ(reserve.preferred_region, "eu-west");
}

TEST(TranslateTest, ReserveDefaults) {
  pb::CheckAndReserveStockRequest r = ReserveRequest();
  TranslateOptions options;
  options.default_ttl_ms = ledger::DurationMs{123'000};
  absl::StatusOr<ledger::Command> c = ToCommand(r, options);
  ASSERT_TRUE(c.ok()) << c.status();
  const auto& reserve = Body<ledger::Reserve>(c);
  EXPECT_EQ(reserve.ttl_ms.count(), 123'000) << "ttl_ms 0 takes the configured default";
  EXPECT_EQ(reserve.split, ledger::SplitPolicy::kSingleWarehouse);
  EXPECT_EQ(reserve.reservation_id.value(), "r-cmd-11");
  EXPECT_EQ(ReservationIdFor(r), "r-cmd-11");
  EXPECT_EQ(c->meta.correlation_id, "order-5") << "correlation id defaults to the order id";
  EXPECT_TRUE(reserve.preferred_region.empty());

  // The built-in default is 15 minutes.
  absl::StatusOr<ledger::Command> builtin = ToCommand(r, TranslateOptions{});
  EXPECT_EQ(Body<ledger::Reserve>(builtin).ttl_ms, std::chrono::minutes{15});

  r.set_reservation_id("mine");
  EXPECT_EQ(ReservationIdFor(r), "mine");
}

TEST(TranslateTest, CommitReservation) {
  pb::CommitReservationRequest r;
  SetContext(r.mutable_context(), "cmd-12");
  r.set_reservation_id("res-1");
  absl::StatusOr<ledger::Command> c = ToCommand(r);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectMeta(*c, "cmd-12");
  EXPECT_EQ(Body<ledger::CommitReservation>(c).reservation_id.value(), "res-1");
}

TEST(TranslateTest, ReleaseReservationMapsEveryReason) {
  const std::pair<pb::ReleaseReason, ledger::ReleaseReason> kReasons[] = {
      {pb::RELEASE_REASON_UNSPECIFIED, ledger::ReleaseReason::kCancelled},
      {pb::RELEASE_REASON_CANCELLED, ledger::ReleaseReason::kCancelled},
      {pb::RELEASE_REASON_PAYMENT_FAILED, ledger::ReleaseReason::kPaymentFailed},
      {pb::RELEASE_REASON_ORDER_CANCELLED, ledger::ReleaseReason::kOrderCancelled},
  };
  for (const auto& [proto, ledger_reason] : kReasons) {
    SCOPED_TRACE(pb::ReleaseReason_Name(proto));
    pb::ReleaseReservedStockRequest r;
    SetContext(r.mutable_context(), "cmd-13");
    r.set_reservation_id("res-2");
    r.set_reason(proto);
    absl::StatusOr<ledger::Command> c = ToCommand(r);
    ASSERT_TRUE(c.ok()) << c.status();
    ExpectMeta(*c, "cmd-13");
    const auto& release = Body<ledger::ReleaseReservation>(c);
    EXPECT_EQ(release.reservation_id.value(), "res-2");
    EXPECT_EQ(release.reason, ledger_reason);
  }
}

TEST(TranslateTest, RequestFieldPathRenames) {
  EXPECT_EQ(RequestFieldPath("AdjustInventory", "delta"), "adjust_delta");
  EXPECT_EQ(RequestFieldPath("AdjustInventory", "quantity"), "receive_quantity");
  EXPECT_EQ(RequestFieldPath("AdjustInventory", "counted"), "counted_quantity");
  EXPECT_EQ(RequestFieldPath("AdjustInventory", "sku"), "sku");
  EXPECT_EQ(RequestFieldPath("CreateItem", "sku"), "item.sku");
  EXPECT_EQ(RequestFieldPath("CreateItem", "attributes[1].key"), "item.attributes[1].key");
  EXPECT_EQ(RequestFieldPath("CreateWarehouse", "warehouse"), "warehouse.warehouse");
  EXPECT_EQ(RequestFieldPath("CreateWarehouse", "priority"), "warehouse.priority");
  EXPECT_EQ(RequestFieldPath("X", "command_id"), "context.command_id");
  EXPECT_EQ(RequestFieldPath("CreateItem", "command_id"), "context.command_id");
  EXPECT_EQ(RequestFieldPath("AdjustInventory", "actor"), "context.actor");
  EXPECT_EQ(RequestFieldPath("X", "correlation_id"), "context.correlation_id");
  EXPECT_EQ(RequestFieldPath("CheckAndReserveStock", "lines[0].quantity"), "lines[0].quantity");
  // Only AdjustInventory renames its quantities.
  EXPECT_EQ(RequestFieldPath("TransferInventory", "quantity"), "quantity");
}

TEST(TranslateTest, RejectionToProtoCarriesEverything) {
  ledger::Rejection rejection;
  rejection.reason = ledger::RejectionReason::kInsufficientStock;
  rejection.message = "insufficient stock: lines[1] SKU-2 requested 4, available 1";
  rejection.lines.push_back({0, ledger::Sku("SKU-1"), 2, 10});
  rejection.lines.push_back({1, ledger::Sku("SKU-2"), 4, 1});
  pb::Rejection p = ToProto(rejection);
  EXPECT_EQ(p.reason(), pb::Rejection::REASON_INSUFFICIENT_STOCK);
  EXPECT_EQ(p.message(), rejection.message);
  EXPECT_TRUE(p.field().empty());
  ASSERT_EQ(p.lines_size(), 2);
  EXPECT_EQ(p.lines(0).line(), 0u);
  EXPECT_EQ(p.lines(0).sku(), "SKU-1");
  EXPECT_EQ(p.lines(0).requested(), 2);
  EXPECT_EQ(p.lines(0).available(), 10);
  EXPECT_EQ(p.lines(1).line(), 1u);
  EXPECT_EQ(p.lines(1).sku(), "SKU-2");
  EXPECT_EQ(p.lines(1).requested(), 4);
  EXPECT_EQ(p.lines(1).available(), 1);

  ledger::Rejection invalid;
  invalid.reason = ledger::RejectionReason::kInvalidArgument;
  invalid.field = "lines[0].quantity";
  invalid.message = "lines[0].quantity: must be > 0";
  pb::Rejection q = ToProto(invalid);
  EXPECT_EQ(q.reason(), pb::Rejection::REASON_INVALID_ARGUMENT);
  EXPECT_EQ(q.field(), "lines[0].quantity");
  EXPECT_EQ(q.lines_size(), 0);
}

TEST(TranslateTest, RejectionReasonsMapOneToOne) {
  using R = ledger::RejectionReason;
  const std::pair<R, pb::Rejection::Reason> kReasons[] = {
      {R::kInvalidArgument, pb::Rejection::REASON_INVALID_ARGUMENT},
      {R::kInsufficientStock, pb::Rejection::REASON_INSUFFICIENT_STOCK},
      {R::kUnknownItem, pb::Rejection::REASON_UNKNOWN_ITEM},
      {R::kUnknownWarehouse, pb::Rejection::REASON_UNKNOWN_WAREHOUSE},
      {R::kUnknownReservation, pb::Rejection::REASON_UNKNOWN_RESERVATION},
      {R::kUnknownTransfer, pb::Rejection::REASON_UNKNOWN_TRANSFER},
      {R::kItemDiscontinued, pb::Rejection::REASON_ITEM_DISCONTINUED},
      {R::kWarehouseInactive, pb::Rejection::REASON_WAREHOUSE_INACTIVE},
      {R::kAlreadyExists, pb::Rejection::REASON_ALREADY_EXISTS},
      {R::kAlreadyResolved, pb::Rejection::REASON_ALREADY_RESOLVED},
      {R::kBelowReserved, pb::Rejection::REASON_BELOW_RESERVED},
      {R::kLimitExceeded, pb::Rejection::REASON_LIMIT_EXCEEDED},
      {R::kNotYetExpired, pb::Rejection::REASON_NOT_YET_EXPIRED},
      {R::kIdempotencyKeyReused, pb::Rejection::REASON_IDEMPOTENCY_KEY_REUSED},
  };
  for (const auto& [reason, proto] : kReasons) {
    ledger::Rejection r;
    r.reason = reason;
    EXPECT_EQ(ToProto(r).reason(), proto) << ledger::ToString(reason);
  }
}

TEST(TranslateTest, FillTokenAndLevel) {
  pb::ConsistencyToken token;
  FillToken({{2, 17}, {5, 0}}, &token);
  ASSERT_EQ(token.positions_size(), 2);
  EXPECT_EQ(token.positions(0).partition(), 2u);
  EXPECT_EQ(token.positions(0).offset(), 17u);
  EXPECT_EQ(token.positions(1).partition(), 5u);
  EXPECT_EQ(token.positions(1).offset(), 0u);

  ledger::State empty;
  pb::StockLevel level;
  FillLevel(empty, ledger::Sku("SKU-1"), ledger::WarehouseCode("WH-1"), &level);
  EXPECT_EQ(level.sku(), "SKU-1");
  EXPECT_EQ(level.warehouse(), "WH-1");
  EXPECT_EQ(level.on_hand(), 0);
  EXPECT_EQ(level.available(), 0);
}

}  // namespace
}  // namespace command_api
