#include "orders/order_event.h"

#include <simdjson.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "ledger/validate.h"

namespace orders {
namespace {

namespace od = simdjson::ondemand;
using base::AsAbsl;
using base::InvalidField;

absl::Status Message(std::string_view problem) { return InvalidField("message", problem); }

absl::Status JsonError(std::string_view field, simdjson::error_code error) {
  return InvalidField(field, absl::StrCat("invalid JSON (", simdjson::error_message(error), ")"));
}

// A ledger field check's rejection as a status whose field path starts with
// `prefix` (built only on failure, never on the happy path).
absl::Status FromRejection(const std::optional<ledger::Rejection>& r, std::string_view prefix = {}) {
  if (!r) return absl::OkStatus();
  std::string field = absl::StrCat(AsAbsl(prefix), r->field);
  std::string problem = r->message;
  // The ledger's message starts with its own field name; keep only the problem.
  if (problem.rfind(r->field + ": ", 0) == 0) problem.erase(0, r->field.size() + 2);
  return InvalidField(field, problem);
}

std::string_view TypeName(od::json_type type) {
  switch (type) {
    case od::json_type::array: return "an array";
    case od::json_type::object: return "an object";
    case od::json_type::number: return "a number";
    case od::json_type::string: return "a string";
    case od::json_type::boolean: return "a boolean";
    case od::json_type::null: return "null";
  }
  return "unknown";
}

// Reads a JSON string into `out` (copied: the view dies with the next parse).
absl::Status ReadString(od::value value, std::string_view field, std::string* out) {
  od::json_type type;
  if (simdjson::error_code e = value.type().get(type)) return JsonError(field, e);
  if (type != od::json_type::string) {
    return InvalidField(field, absl::StrCat("must be a string, got ", AsAbsl(TypeName(type))));
  }
  std::string_view view;
  if (simdjson::error_code e = value.get_string().get(view)) return JsonError(field, e);
  out->assign(view);
  return absl::OkStatus();
}

absl::Status ReadQuantity(od::value value, std::string_view field, ledger::Quantity* out) {
  od::json_type type;
  if (simdjson::error_code e = value.type().get(type)) return JsonError(field, e);
  const std::string range = absl::StrCat("must be an integer between 1 and ", ledger::kMovementQuantityMax);
  if (type != od::json_type::number) {
    return InvalidField(field, absl::StrCat(range, ", got ", AsAbsl(TypeName(type))));
  }
  std::int64_t n = 0;
  if (simdjson::error_code e = value.get_int64().get(n)) {
    return InvalidField(field, absl::StrCat(range, " (", simdjson::error_message(e), ")"));
  }
  if (n < 1 || n > ledger::kMovementQuantityMax) return InvalidField(field, absl::StrCat(range, ", got ", n));
  *out = n;
  return absl::OkStatus();
}

// A timestamp: RFC 3339 text ("2026-03-01T12:00:00Z") or epoch milliseconds.
absl::Status ReadTimestamp(od::value value, ledger::TimeMs* out) {
  od::json_type type;
  if (simdjson::error_code e = value.type().get(type)) return JsonError("timestamp", e);
  std::int64_t ms = 0;
  if (type == od::json_type::number) {
    if (value.get_int64().get(ms) != simdjson::SUCCESS) {
      return InvalidField("timestamp", "must be whole epoch milliseconds or RFC 3339 text");
    }
  } else if (type == od::json_type::string) {
    std::string text;
    RETURN_IF_ERROR(ReadString(value, "timestamp", &text));
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
      return InvalidField("timestamp", absl::StrCat("is not RFC 3339 (", error, ")"));
    }
    ms = absl::ToUnixMillis(t);
  } else {
    return InvalidField("timestamp", absl::StrCat("must be a string or a number, got ", AsAbsl(TypeName(type))));
  }
  if (ms < 0 || ms > ledger::EpochMs(ledger::kTimeMaxMs)) return InvalidField("timestamp", "is out of range");
  *out = ledger::AtEpochMs(ms);
  return absl::OkStatus();
}

bool IsTypeKey(std::string_view key) { return key == "type" || key == "eventType"; }

// RFC 8259's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
// simdjson's number parsers also refuse valid numbers they cannot represent
// (a 30-digit integer), so validity is checked on the token itself and range
// is left to the field that reads it.
bool IsJsonNumber(std::string_view t) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > start;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

// Walks every value of the document, so what the field readers skip is
// checked too (On-Demand validates only what is read: `"note":tru` beside
// valid items would otherwise pass). UTF-8 is checked by iterate() for the
// whole input; this checks literals, numbers, strings and structure.
simdjson::error_code ValidateValue(od::value value) {
  od::json_type type;
  if (simdjson::error_code e = value.type().get(type)) return e;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (simdjson::error_code e = value.get_object().get(object)) return e;
      for (auto field_result : object) {
        od::field field;
        if (simdjson::error_code e = std::move(field_result).get(field)) return e;
        std::string_view key;
        if (simdjson::error_code e = field.unescaped_key().get(key)) return e;
        if (simdjson::error_code e = ValidateValue(field.value())) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array array;
      if (simdjson::error_code e = value.get_array().get(array)) return e;
      for (auto element : array) {
        od::value item;
        if (simdjson::error_code e = std::move(element).get(item)) return e;
        if (simdjson::error_code e = ValidateValue(item)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view text;
      return value.get_string().get(text);
    }
    case od::json_type::boolean: {
      bool b = false;
      return value.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (simdjson::error_code e = value.is_null().get(is_null)) return e;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
    case od::json_type::number: {
      std::string_view token = value.raw_json_token();
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                                token.back() == '\r')) {
        token.remove_suffix(1);
      }
      return IsJsonNumber(token) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

}  // namespace

std::string_view ToString(OrderEventType type) {
  switch (type) {
    case OrderEventType::kOrderCreated: return "order.created";
    case OrderEventType::kPaymentConfirmed: return "payment.confirmed";
    case OrderEventType::kPaymentFailed: return "payment.failed";
    case OrderEventType::kOrderCancelled: return "order.cancelled";
  }
  return "unknown";
}

std::optional<OrderEventType> ParseOrderEventType(std::string_view name) {
  if (name == "order.created") return OrderEventType::kOrderCreated;
  if (name == "payment.confirmed" || name == "payment.successful") return OrderEventType::kPaymentConfirmed;
  if (name == "payment.failed") return OrderEventType::kPaymentFailed;
  if (name == "order.cancelled") return OrderEventType::kOrderCancelled;
  return std::nullopt;
}

struct OrderEventParser::Impl {
  explicit Impl(std::size_t bytes) : capacity(bytes), buffer(new char[bytes]) {}
  const std::size_t capacity;  // message_bytes_max + SIMDJSON_PADDING
  std::unique_ptr<char[]> buffer;
  od::parser parser;
  od::document doc;

  absl::StatusOr<std::string> FindType();
  // `key` as its canonical name (through options.field_aliases).
  static std::string_view Canonical(std::string_view key, const OrderEventParserOptions& options) {
    for (const auto& [alias, canonical] : options.field_aliases) {
      if (key == alias) return canonical;
    }
    return key;
  }
  absl::Status ReadItems(od::value value, const OrderEventParserOptions& options, std::vector<OrderItem>* out);
  absl::Status ReadItem(od::value value, const OrderEventParserOptions& options, OrderItem* out);
  absl::Status ReadFields(const OrderEventParserOptions& options, std::string_view event_id_fallback,
                          OrderEvent* out);
};

OrderEventParser::OrderEventParser(OrderEventParserOptions options)
    : options_(options), impl_(std::make_unique<Impl>(options.message_bytes_max + simdjson::SIMDJSON_PADDING)) {}

OrderEventParser::~OrderEventParser() = default;

// Pass one: the type field only, so items are read knowing the type.
absl::StatusOr<std::string> OrderEventParser::Impl::FindType() {
  od::object object;
  if (simdjson::error_code e = doc.get_object().get(object)) {
    return e == simdjson::INCORRECT_TYPE ? Message("must be a JSON object") : JsonError("message", e);
  }
  std::string type;
  for (auto field_result : object) {
    od::field field;
    if (simdjson::error_code e = std::move(field_result).get(field)) return JsonError("message", e);
    std::string_view key;
    if (simdjson::error_code e = field.unescaped_key().get(key)) return JsonError("message", e);
    if (!IsTypeKey(key)) continue;
    if (!type.empty()) return InvalidField(key, "the type is given twice");
    RETURN_IF_ERROR(ReadString(field.value(), key, &type));
    if (type.empty()) return InvalidField(key, "must not be empty");
  }
  return type;
}

absl::Status OrderEventParser::Impl::ReadItem(od::value value, const OrderEventParserOptions& options,
                                              OrderItem* out) {
  od::object object;
  if (simdjson::error_code e = value.get_object().get(object)) {
    return e == simdjson::INCORRECT_TYPE ? InvalidField("", "must be an object") : JsonError("", e);
  }
  bool have_sku = false, have_quantity = false, have_warehouse = false;
  std::string text;
  for (auto field_result : object) {
    od::field field;
    if (simdjson::error_code e = std::move(field_result).get(field)) return JsonError("", e);
    std::string_view raw_key;
    if (simdjson::error_code e = field.unescaped_key().get(raw_key)) return JsonError("", e);
    const std::string_view key = Canonical(raw_key, options);
    if (key == "sku") {
      if (have_sku) return InvalidField(".sku", "is given twice");
      have_sku = true;
      RETURN_IF_ERROR(ReadString(field.value(), ".sku", &text));
      RETURN_IF_ERROR(FromRejection(ledger::CheckCode(".sku", text, ledger::kSkuLengthMax)));
      out->sku = ledger::Sku(text);
    } else if (key == "quantity") {
      if (have_quantity) return InvalidField(".quantity", "is given twice");
      have_quantity = true;
      RETURN_IF_ERROR(ReadQuantity(field.value(), ".quantity", &out->quantity));
    } else if (key == "warehouseId") {
      if (have_warehouse) return InvalidField(".warehouseId", "is given twice");
      have_warehouse = true;
      od::value v = field.value();
      od::json_type type;
      if (simdjson::error_code e = v.type().get(type)) return JsonError(".warehouseId", e);
      if (type == od::json_type::null) continue;  // null: allocation chooses
      RETURN_IF_ERROR(ReadString(v, ".warehouseId", &text));
      RETURN_IF_ERROR(FromRejection(ledger::CheckCode(".warehouseId", text, ledger::kWarehouseCodeLengthMax)));
      out->warehouse = ledger::WarehouseCode(text);
    }
  }
  if (!have_sku) return InvalidField(".sku", "is required");
  if (!have_quantity) return InvalidField(".quantity", "is required");
  return absl::OkStatus();
}

absl::Status OrderEventParser::Impl::ReadItems(od::value value, const OrderEventParserOptions& options,
                                               std::vector<OrderItem>* out) {
  od::array array;
  if (simdjson::error_code e = value.get_array().get(array)) {
    return e == simdjson::INCORRECT_TYPE ? InvalidField("items", "must be an array") : JsonError("items", e);
  }
  for (auto element : array) {
    od::value item;
    if (simdjson::error_code e = std::move(element).get(item)) return JsonError("items", e);
    if (out->size() == options.items_max) {
      return InvalidField("items", absl::StrCat("has more than ", options.items_max, " entries"));
    }
    absl::Status status = ReadItem(item, options, &out->emplace_back());
    if (!status.ok()) {
      const std::string field = absl::StrCat("items[", out->size() - 1, "]", base::FieldOf(status).value_or(""));
      std::string_view message = base::AsStd(status.message());
      message.remove_prefix(std::min(message.size(), message.find(": ") + 2));
      return InvalidField(field, message);
    }
  }
  if (out->empty()) return InvalidField("items", "must hold at least one item");
  return absl::OkStatus();
}

// Pass two: every field, knowing the type.
absl::Status OrderEventParser::Impl::ReadFields(const OrderEventParserOptions& options,
                                                std::string_view event_id_fallback, OrderEvent* out) {
  od::object object;
  if (simdjson::error_code e = doc.get_object().get(object)) return JsonError("message", e);
  bool have_event_id = false, have_order_id = false, have_items = false, have_timestamp = false;
  std::string text;
  for (auto field_result : object) {
    od::field field;
    if (simdjson::error_code e = std::move(field_result).get(field)) return JsonError("message", e);
    std::string_view raw_key;
    if (simdjson::error_code e = field.unescaped_key().get(raw_key)) return JsonError("message", e);
    const std::string_view key = Canonical(raw_key, options);
    if (key == "eventId") {
      if (have_event_id) return InvalidField("eventId", "is given twice");
      have_event_id = true;
      RETURN_IF_ERROR(ReadString(field.value(), "eventId", &out->event_id));
      RETURN_IF_ERROR(FromRejection(ledger::CheckText("eventId", out->event_id, options.event_id_length_max)));
      if (out->event_id.empty()) return InvalidField("eventId", "is required");
    } else if (key == "orderId") {
      if (have_order_id) return InvalidField("orderId", "is given twice");
      have_order_id = true;
      RETURN_IF_ERROR(ReadString(field.value(), "orderId", &text));
      RETURN_IF_ERROR(FromRejection(ledger::CheckId("orderId", text)));
      out->order_id = ledger::OrderId(text);
    } else if (key == "items" && out->type == OrderEventType::kOrderCreated) {
      if (have_items) return InvalidField("items", "is given twice");
      have_items = true;
      RETURN_IF_ERROR(ReadItems(field.value(), options, &out->items));
    } else if (key == "timestamp") {
      if (have_timestamp) return InvalidField("timestamp", "is given twice");
      have_timestamp = true;
      RETURN_IF_ERROR(ReadTimestamp(field.value(), &out->timestamp_ms));
    }
  }
  if (!have_event_id && !event_id_fallback.empty()) {
    out->event_id.assign(event_id_fallback);
    RETURN_IF_ERROR(FromRejection(ledger::CheckText("eventId", out->event_id, options.event_id_length_max)));
    have_event_id = true;
  }
  if (!have_event_id) return InvalidField("eventId", "is required");
  if (!have_order_id) return InvalidField("orderId", "is required");
  if (out->type == OrderEventType::kOrderCreated) {
    if (!have_items) return InvalidField("items", "is required");
    if (!have_timestamp) return InvalidField("timestamp", "is required");
  }
  return absl::OkStatus();
}

std::optional<OrderEventType> OrderEventParser::TypeOf(std::string_view name) const {
  for (const auto& [alias, canonical] : options_.type_aliases) {
    if (name == alias) return ParseOrderEventType(canonical);
  }
  return ParseOrderEventType(name);
}

absl::StatusOr<OrderEvent> OrderEventParser::Parse(std::string_view body, const MessageContext& context) {
  const std::string_view type_header = context.type;
  if (body.size() > options_.message_bytes_max) {
    return Message(absl::StrCat("is ", body.size(), " bytes; at most ", options_.message_bytes_max, " allowed"));
  }
  Impl& m = *impl_;
  std::memcpy(m.buffer.get(), body.data(), body.size());
  std::memset(m.buffer.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
  if (simdjson::error_code e = m.parser.iterate(m.buffer.get(), body.size(), m.capacity).get(m.doc)) {
    return JsonError("message", e);
  }
  {
    od::value root;
    simdjson::error_code e = m.doc.get_value().get(root);
    if (!e) e = ValidateValue(root);
    if (e) return JsonError("message", e);
    m.doc.rewind();
  }
  absl::StatusOr<std::string> type_field = m.FindType();
  if (!type_field.ok()) return type_field.status();
  const char* rest = nullptr;
  if (m.doc.current_location().get(rest) == simdjson::SUCCESS) {
    return Message("invalid JSON (content after the object)");
  }
  std::string_view type_name = type_field->empty() ? type_header : std::string_view(*type_field);
  if (!type_field->empty() && !type_header.empty() && TypeOf(type_header) != TypeOf(*type_field)) {
    return Message(absl::StrCat("the type header says \"", AsAbsl(type_header), "\" but the body says \"",
                                *type_field, "\""));
  }
  if (type_name.empty()) return Message("has no type: set the field \"type\" or the header \"type\"");
  std::optional<OrderEventType> type = TypeOf(type_name);
  if (!type) return Message(absl::StrCat("unknown type \"", AsAbsl(type_name), "\""));
  OrderEvent event;
  event.type = *type;
  m.doc.rewind();
  RETURN_IF_ERROR(m.ReadFields(options_, context.event_id, &event));
  return event;
}

}  // namespace orders
