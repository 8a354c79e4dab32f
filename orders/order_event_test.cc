#include "orders/order_event.h"

#include <string>

#include "base/status.h"
#include "gtest/gtest.h"

namespace orders {
namespace {

constexpr char kCreated[] =
    R"({"type":"order.created","eventId":"e-1","orderId":"o-1","timestamp":"2026-03-01T12:00:00Z",)"
    R"("items":[{"sku":"MUG","quantity":2,"warehouseId":"BER-1"},{"sku":"CUP","quantity":1}]})";

// The error's field path, or "" when the status carries none.
std::string FieldOf(const absl::Status& s) { return base::FieldOf(s).value_or(""); }

TEST(OrderEventParser, ParsesOrderCreated) {
  OrderEventParser parser;
  absl::StatusOr<OrderEvent> e = parser.Parse(kCreated, "");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->type, OrderEventType::kOrderCreated);
  EXPECT_EQ(e->event_id, "e-1");
  EXPECT_EQ(e->order_id.value(), "o-1");
  EXPECT_EQ(ledger::EpochMs(e->timestamp_ms), 1772366400000);
  ASSERT_EQ(e->items.size(), 2u);
  EXPECT_EQ(e->items[0], (OrderItem{ledger::Sku("MUG"), 2, ledger::WarehouseCode("BER-1")}));
  EXPECT_EQ(e->items[1], (OrderItem{ledger::Sku("CUP"), 1, ledger::WarehouseCode()}));
}

TEST(OrderEventParser, FieldsInAnyOrderAndUnknownFieldsIgnored) {
  OrderEventParser parser;
  absl::StatusOr<OrderEvent> e = parser.Parse(
      R"({"items":[{"quantity":3,"price":9.5,"sku":"MUG","warehouseId":null}],"extra":{"a":[1,2]},)"
      R"("timestamp":1772366400000,"orderId":"o-2","eventId":"e-2","eventType":"order.created"})",
      "");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->order_id.value(), "o-2");
  ASSERT_EQ(e->items.size(), 1u);
  EXPECT_EQ(e->items[0].quantity, 3);
  EXPECT_TRUE(e->items[0].warehouse.empty());
  EXPECT_EQ(ledger::EpochMs(e->timestamp_ms), 1772366400000);
}

// Upstream shapes accepted through configuration: items keyed productId,
// the type spelled OrderCreated, the eventId from CloudEvents' ce_id.
TEST(OrderEventParser, ConfiguredAliasesAcceptUpstreamShapes) {
  OrderEventParserOptions options;
  options.field_aliases = {{"productId", "sku"}, {"id", "eventId"}};
  options.type_aliases = {{"OrderCreated", "order.created"}};
  OrderEventParser parser(options);
  absl::StatusOr<OrderEvent> e = parser.Parse(
      R"({"type":"OrderCreated","id":"e-9","orderId":"o-9","timestamp":1,"items":[{"productId":"MUG","quantity":2}]})",
      "");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->type, OrderEventType::kOrderCreated);
  EXPECT_EQ(e->event_id, "e-9");
  ASSERT_EQ(e->items.size(), 1u);
  EXPECT_EQ(e->items[0].sku.value(), "MUG");
  // The header and the body may spell the type differently if both mean it.
  EXPECT_TRUE(parser.Parse(R"({"type":"OrderCreated","eventId":"e","orderId":"o","timestamp":1,)"
                           R"("items":[{"sku":"A","quantity":1}]})", "order.created").ok());
  // Ambiguous: the field named both ways.
  e = parser.Parse(R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,)"
                   R"("items":[{"sku":"A","productId":"B","quantity":1}]})", "");
  EXPECT_EQ(FieldOf(e.status()), "items[0].sku") << e.status();
  // CloudEvents binary mode: type and id from headers.
  e = parser.Parse(R"({"orderId":"o-7"})", MessageContext{.type = "payment.failed", .event_id = "ce-1"});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->event_id, "ce-1");
  EXPECT_EQ(e->type, OrderEventType::kPaymentFailed);
  // Without the alias configured the same shapes are refused, naming the field.
  OrderEventParser plain;
  e = plain.Parse(R"({"type":"OrderCreated","eventId":"e","orderId":"o"})", "");
  EXPECT_NE(e.status().message().find("unknown type \"OrderCreated\""), std::string::npos) << e.status();
  e = plain.Parse(R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,)"
                  R"("items":[{"productId":"MUG","quantity":2}]})", "");
  EXPECT_EQ(FieldOf(e.status()), "items[0].sku") << e.status();
}

TEST(OrderEventParser, TypeFromHeaderAndSynonyms) {
  OrderEventParser parser;
  absl::StatusOr<OrderEvent> e = parser.Parse(R"({"eventId":"e-3","orderId":"o-1"})", "payment.successful");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->type, OrderEventType::kPaymentConfirmed);
  e = parser.Parse(R"({"type":"payment.failed","eventId":"e-4","orderId":"o-1"})", "");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->type, OrderEventType::kPaymentFailed);
  e = parser.Parse(R"({"type":"order.cancelled","eventId":"e-5","orderId":"o-1","items":"ignored here"})", "");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->type, OrderEventType::kOrderCancelled);
  EXPECT_TRUE(e->items.empty());
}

TEST(OrderEventParser, RefusesWithTheFieldNamed) {
  struct Case {
    const char* body;
    const char* header;
    const char* field;
    const char* message_part;
  };
  const Case cases[] = {
      {"{not json", "", "message", "invalid JSON"},
      {"", "", "message", "invalid JSON"},
      {R"([1,2])", "", "message", "must be a JSON object"},
      {R"({"type":"order.created"} trailing)", "", "message", "invalid JSON"},
      {R"({"type":"payment.failed","eventId":"e","orderId":"o"} {"a":1})", "", "message", "invalid JSON"},
      {R"({"type":"payment.failed","eventId":"e","orderId":"o"}})", "", "message", "invalid JSON"},
      // Invalid JSON in fields the parser never reads is refused too.
      {R"({"type":"payment.failed","eventId":"e","orderId":"o","note":tru})", "", "message", "invalid JSON"},
      {R"({"type":"payment.failed","eventId":"e","orderId":"o","extra":[1,]})", "", "message", "invalid JSON"},
      {R"({"type":"payment.failed","eventId":"e","orderId":"o","n":01})", "", "message", "invalid JSON"},
      {"{\"type\":\"payment.failed\",\"eventId\":\"e\",\"orderId\":\"o\",\"s\":\"\xff\"}", "", "message",
       "invalid JSON"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":"2026-01-01T00:00:00Z",)"
       R"("items":[{"sku":"A","quantity":1,"note":nul}]})", "", "message", "invalid JSON"},
      {R"({"eventId":"e","orderId":"o"})", "", "message", "has no type"},
      {R"({"type":"order.shipped","eventId":"e","orderId":"o"})", "", "message", "unknown type \"order.shipped\""},
      {R"({"type":"order.created","eventId":"e","orderId":"o"})", "payment.failed", "message", "header says"},
      {R"({"type":7,"eventId":"e","orderId":"o"})", "", "type", "must be a string"},
      {R"({"type":"payment.failed","orderId":"o"})", "", "eventId", "is required"},
      {R"({"type":"payment.failed","eventId":"e"})", "", "orderId", "is required"},
      {R"({"type":"payment.failed","eventId":"e","orderId":42})", "", "orderId", "must be a string"},
      {R"({"type":"payment.failed","eventId":"e","orderId":"bad id!"})", "", "orderId", "not allowed"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1})", "", "items", "is required"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","items":[{"sku":"A","quantity":1}]})", "",
       "timestamp", "is required"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":"yesterday","items":[]})", "",
       "timestamp", "RFC 3339"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[]})", "", "items",
       "at least one"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":{}})", "", "items",
       "must be an array"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A","quantity":-2}]})",
       "", "items[0].quantity", "got -2"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A","quantity":0}]})",
       "", "items[0].quantity", "between 1 and"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A","quantity":1000000001}]})",
       "", "items[0].quantity", "got 1000000001"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A","quantity":99999999999999999999999}]})",
       "", "items[0].quantity", "between 1 and"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A","quantity":1.5}]})",
       "", "items[0].quantity", "between 1 and"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A","quantity":"2"}]})",
       "", "items[0].quantity", "got a string"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A","quantity":1},{"quantity":1}]})",
       "", "items[1].sku", "is required"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A"}]})", "",
       "items[0].quantity", "is required"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[{"sku":"A","quantity":1,"warehouseId":5}]})",
       "", "items[0].warehouseId", "must be a string"},
      {R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[7]})", "", "items[0]",
       "must be an object"},
      {R"({"type":"payment.failed","eventId":"e","eventId":"f","orderId":"o"})", "", "eventId", "twice"},
  };
  OrderEventParser parser;
  for (const Case& c : cases) {
    absl::StatusOr<OrderEvent> e = parser.Parse(c.body, c.header);
    ASSERT_FALSE(e.ok()) << c.body;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_EQ(FieldOf(e.status()), c.field) << c.body << " -> " << e.status();
    EXPECT_NE(e.status().message().find(c.message_part), absl::string_view::npos) << c.body << " -> " << e.status();
  }
}

TEST(OrderEventParser, OversizeIsRefusedBeforeParsing) {
  OrderEventParserOptions options;
  options.message_bytes_max = 64;
  OrderEventParser parser(options);
  absl::StatusOr<OrderEvent> e = parser.Parse(kCreated, "");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("at most 64 allowed"), absl::string_view::npos) << e.status();
  // Exactly at the limit is accepted.
  std::string small = R"({"type":"payment.failed","eventId":"e","orderId":"o"})";
  small.resize(64, ' ');
  EXPECT_TRUE(parser.Parse(small, "").ok());
}

TEST(OrderEventParser, ItemsLimitIsEnforced) {
  OrderEventParserOptions options;
  options.items_max = 2;
  OrderEventParser parser(options);
  std::string body = R"({"type":"order.created","eventId":"e","orderId":"o","timestamp":1,"items":[)";
  body += R"({"sku":"A","quantity":1},{"sku":"B","quantity":1},{"sku":"C","quantity":1}]})";
  absl::StatusOr<OrderEvent> e = parser.Parse(body, "");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("more than 2"), absl::string_view::npos) << e.status();
}

TEST(OrderEventParser, ReusedBufferKeepsEarlierResultsIntact) {
  OrderEventParser parser;
  absl::StatusOr<OrderEvent> first = parser.Parse(kCreated, "");
  ASSERT_TRUE(first.ok());
  // A shorter message after a longer one: no bytes of the first may leak in.
  absl::StatusOr<OrderEvent> second = parser.Parse(R"({"type":"payment.failed","eventId":"x","orderId":"p"})", "");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->order_id.value(), "p");
  EXPECT_EQ(first->order_id.value(), "o-1");
  EXPECT_EQ(first->items[0].sku.value(), "MUG");
  absl::StatusOr<OrderEvent> bad = parser.Parse(R"({"type":"payment.failed","eventId":"x")", "");
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace orders
