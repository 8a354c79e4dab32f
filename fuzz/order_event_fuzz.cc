// libFuzzer target: the order-event JSON parser (orders/order_event.h).
//
// Input: one selector byte (type header, aliases on or off), then the body.
// Properties: no crash or sanitizer report; an accepted body is one whole,
// valid JSON document (simdjson's DOM parser, which validates everything,
// agrees: issue 20 defect 2; numbers past double's range excepted, which it
// declines to represent), within the parser's stated limits.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "orders/order_event.h"

namespace {

constexpr std::string_view kTypeHeaders[] = {"", "order.created", "order.paid", "order.cancelled",
                                             "payment.failed", "payment.successful", "OrderCreated", "bogus"};

orders::OrderEventParserOptions WithAliases() {
  orders::OrderEventParserOptions options;
  options.field_aliases = {{"productId", "sku"}, {"id", "eventId"}, {"qty", "quantity"}};
  options.type_aliases = {{"OrderCreated", "order.created"}, {"OrderPaid", "order.paid"}};
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static orders::OrderEventParser plain;
  static orders::OrderEventParser aliased(WithAliases());
  static simdjson::dom::parser dom;
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  orders::OrderEventParser& parser = (selector & 0x80) != 0 ? aliased : plain;
  orders::MessageContext context{.type = kTypeHeaders[selector & 0x07]};
  if ((selector & 0x08) != 0) context.event_id = "ce-id-1";
  absl::StatusOr<orders::OrderEvent> event = parser.Parse(body, context);
  if (!event.ok()) {
    FUZZ_CHECK(!event.status().message().empty(), "a refusal names its problem");
    return 0;
  }
  FUZZ_CHECK(body.size() <= parser.options().message_bytes_max, "an accepted body is within message_bytes_max");
  FUZZ_CHECK(event->items.size() <= parser.options().items_max, "an accepted order is within items_max");
  FUZZ_CHECK(event->event_id.size() <= parser.options().event_id_length_max, "eventId within its limit");
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  simdjson::error_code parsed = dom.parse(padded).get(root);
  // A number outside double's range (1e400) is valid JSON that
  // the DOM parser declines to represent; the consumer never reads such a
  // field as a number (its own fields are range-checked), so that is no
  // disagreement about validity.
  if (parsed == simdjson::NUMBER_ERROR) return 0;
  FUZZ_CHECK(parsed == simdjson::SUCCESS, "an accepted body is valid JSON");
  FUZZ_CHECK(root.is_object(), "an accepted body is a JSON object");
  return 0;
}
