// Order events as they arrive on Kafka (topic order.events), and the parser
// that turns one message into a validated OrderEvent or an error naming the
// problem. docs/orders.md gives the accepted schema with examples.
//
//   order.created       {eventId, orderId, items: [{sku, quantity, warehouseId?}], timestamp}
//   payment.confirmed   {eventId, orderId}      (payment.successful is accepted as a synonym)
//   payment.failed      {eventId, orderId}
//   order.cancelled     {eventId, orderId}
//
// The type comes from the field "type" (or "eventType") or, when the body has
// none, from the Kafka header "type" (or "eventType"); when both are given
// they must agree. Unknown fields are ignored, so producers may add fields.
//
// A message must be valid JSON as a whole (RFC 8259), including fields this
// parser does not read: it is validated by simdjson's DOM parser before the
// fields are read. Parsing then uses simdjson's On-Demand API with error
// codes only (no exceptions): the message is copied into a padded buffer owned by the parser
// and reused for every message, and every string is copied out of the
// parser's buffers before Parse returns, so an OrderEvent never points into
// them.
//
// Errors are INVALID_ARGUMENT with the field path first ("items[1].quantity:
// must be between 1 and 1000000000"), or "message: ..." for the whole
// message (oversize, invalid JSON, unknown type).
//
// Thread-safety: an OrderEventParser is used by one thread at a time (one
// parser per consumer thread). OrderEvent is a plain value.
#ifndef ORDERS_ORDER_EVENT_H_
#define ORDERS_ORDER_EVENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/types.h"

namespace orders {

enum class OrderEventType : std::uint8_t { kOrderCreated, kPaymentConfirmed, kPaymentFailed, kOrderCancelled };

// The canonical name: "order.created", "payment.confirmed", ...
std::string_view ToString(OrderEventType type);
// Accepts the canonical names and "payment.successful"; nullopt otherwise.
std::optional<OrderEventType> ParseOrderEventType(std::string_view name);

struct OrderItem {
  ledger::Sku sku;
  ledger::Quantity quantity = 0;
  ledger::WarehouseCode warehouse;  // empty: allocation chooses
  friend bool operator==(const OrderItem&, const OrderItem&) = default;
};

struct OrderEvent {
  OrderEventType type = OrderEventType::kOrderCreated;
  std::string event_id;
  ledger::OrderId order_id;
  std::vector<OrderItem> items;      // order.created only
  ledger::TimeMs timestamp_ms{};     // 0 when absent (required for order.created)
};

struct OrderEventParserOptions {
  // Largest message body accepted, bytes; larger ones are refused before
  // parsing. Also sizes the reused padded buffer. Default 64 KiB.
  std::size_t message_bytes_max = 64 * 1024;
  // Most items in one order.created. Default ledger::kReservationLinesMax (100).
  std::size_t items_max = ledger::kReservationLinesMax;
  // Longest eventId, characters. Default 128.
  std::size_t event_id_length_max = 128;
  // Other names upstream producers give fields, alias -> canonical name
  // (eventId, orderId, items, timestamp, sku, quantity, warehouseId), e.g.
  // {"productId", "sku"}. A message naming a field both ways is refused
  // ("is given twice"); errors name the canonical field. Default none.
  std::vector<std::pair<std::string, std::string>> field_aliases;
  // Other spellings of event types, alias -> canonical type name, e.g.
  // {"OrderCreated", "order.created"}. Default none.
  std::vector<std::pair<std::string, std::string>> type_aliases;
};

// What the message carries beside its body. Empty views: absent.
struct MessageContext {
  // The type from outside the body: the message's type header, CloudEvents'
  // ce_type, or the topic's configured type (the consumer reconciles them,
  // refusing disagreement). When the body has a type too, they must agree.
  std::string_view type;
  // The eventId when the body has none (CloudEvents' ce_id).
  std::string_view event_id;
};

class OrderEventParser {
 public:
  explicit OrderEventParser(OrderEventParserOptions options = {});
  ~OrderEventParser();
  OrderEventParser(const OrderEventParser&) = delete;
  OrderEventParser& operator=(const OrderEventParser&) = delete;

  // Parses one message body. `type_header` is the value of the message's type
  // header, empty when it has none.
  absl::StatusOr<OrderEvent> Parse(std::string_view body, std::string_view type_header) {
    return Parse(body, MessageContext{.type = type_header});
  }
  absl::StatusOr<OrderEvent> Parse(std::string_view body, const MessageContext& context);

  // The type a name means: a canonical name, "payment.successful", or a
  // configured alias; nullopt otherwise.
  std::optional<OrderEventType> TypeOf(std::string_view name) const;

  const OrderEventParserOptions& options() const { return options_; }

 private:
  struct Impl;
  OrderEventParserOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orders

#endif  // ORDERS_ORDER_EVENT_H_
