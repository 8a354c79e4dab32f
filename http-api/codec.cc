#include "http-api/codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <set>

#include <simdjson.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace http_api {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::string_view Absl(std::string_view s) { return base::AsAbsl(s); }

template <typename Int>
bool ParseInt(std::string_view text, Int* out) {
  return absl::SimpleAtoi(Absl(text), out);
}

// Sets (or adds, for a repeated field) one scalar from its text.
absl::Status SetScalar(const std::string& name, std::string_view value, const FieldDescriptor* f, Message* m) {
  const Reflection* r = m->GetReflection();
  bool rep = f->is_repeated();
  auto bad = [&](std::string_view kind) {
    return base::InvalidField(name, absl::StrCat("query parameter must be ", Absl(kind), ", got '", Absl(value), "'"));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (absl::Status s = CheckUtf8(name, value); !s.ok()) return s;
      rep ? r->AddString(m, f, std::string(value)) : r->SetString(m, f, std::string(value));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!ParseInt(value, &v)) return bad("a 32-bit integer");
      rep ? r->AddInt32(m, f, v) : r->SetInt32(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!ParseInt(value, &v)) return bad("a 64-bit integer");
      rep ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!ParseInt(value, &v)) return bad("an unsigned 32-bit integer");
      rep ? r->AddUInt32(m, f, v) : r->SetUInt32(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!ParseInt(value, &v)) return bad("an unsigned 64-bit integer");
      rep ? r->AddUInt64(m, f, v) : r->SetUInt64(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (value == "true" || value == "1") {
        v = true;
      } else if (value == "false" || value == "0") {
        v = false;
      } else {
        return bad("true or false");
      }
      rep ? r->AddBool(m, f, v) : r->SetBool(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* e = f->enum_type()->FindValueByName(std::string(value));
      int number;
      if (e == nullptr && ParseInt(value, &number)) e = f->enum_type()->FindValueByNumber(number);
      if (e == nullptr) return bad(absl::StrCat("a value of ", f->enum_type()->name()));
      rep ? r->AddEnum(m, f, e) : r->SetEnum(m, f, e);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(Absl(value), &v)) return bad("a number");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        rep ? r->AddFloat(m, f, static_cast<float>(v)) : r->SetFloat(m, f, static_cast<float>(v));
      } else {
        rep ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
  return base::InvalidField(name, "is not settable as a query parameter");
}

void Collect(const Message& m, std::map<uint32_t, uint64_t>& max) {
  if (m.GetDescriptor() == pb::ConsistencyToken::descriptor()) {
    for (const pb::LogPosition& p : static_cast<const pb::ConsistencyToken&>(m).positions()) {
      auto [it, inserted] = max.emplace(p.partition(), p.offset());
      if (!inserted && it->second < p.offset()) it->second = p.offset();
    }
    return;
  }
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) Collect(r->GetRepeatedMessage(m, f, i), max);
    } else {
      Collect(r->GetMessage(m, f), max);
    }
  }
}

}  // namespace

absl::Status ParseJson(std::string_view json, Message* message) {
  if (json.empty()) return absl::OkStatus();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (status.ok()) return absl::OkStatus();
  auto text = status.message();
  return absl::InvalidArgumentError(absl::StrCat("body: not a valid ", message->GetDescriptor()->name(), ": ",
                                                 absl::string_view(text.data(), text.size())));
}

std::string PrintJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  // Printing fails only for a message protobuf cannot map (an Any of an
  // unknown type); ours have none.
  if (!status.ok()) return "{}";
  return out;
}

absl::Status CheckUtf8(std::string_view field, std::string_view value) {
  if (simdjson::validate_utf8(value.data(), value.size())) return absl::OkStatus();
  return base::InvalidField(field, "is not valid UTF-8 (percent-escape the UTF-8 bytes of the text)");
}

absl::Status ApplyQuery(const std::vector<std::pair<std::string, std::string>>& query, Message* message) {
  const google::protobuf::Descriptor* d = message->GetDescriptor();
  std::set<const FieldDescriptor*> seen;
  for (const auto& [name, value] : query) {
    const FieldDescriptor* f = d->FindFieldByCamelcaseName(name);
    if (f == nullptr) f = d->FindFieldByName(name);
    if (f == nullptr) return base::InvalidField(name, "unknown query parameter");
    if (!f->is_repeated() && !seen.insert(f).second) {
      return base::InvalidField(name, "query parameter given more than once");
    }
    RETURN_IF_ERROR(SetScalar(name, value, f, message));
  }
  return absl::OkStatus();
}

std::string TokenText(const pb::ConsistencyToken& token) {
  std::vector<std::string> parts;
  for (const pb::LogPosition& p : token.positions()) parts.push_back(absl::StrCat(p.partition(), ":", p.offset()));
  return absl::StrJoin(parts, ",");
}

absl::StatusOr<pb::ConsistencyToken> ParseToken(std::string_view text, std::string_view what) {
  pb::ConsistencyToken token;
  if (text.empty()) return token;
  for (absl::string_view entry : absl::StrSplit(Absl(text), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry, ':');
    uint32_t partition;
    uint64_t offset;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &partition) || !absl::SimpleAtoi(parts[1], &offset)) {
      return base::InvalidField(what, absl::StrCat("malformed entry '", entry,
                                                   "'; a token is partition:offset[,partition:offset...]"));
    }
    pb::LogPosition* p = token.add_positions();
    p->set_partition(partition);
    p->set_offset(offset);
  }
  return token;
}

pb::ConsistencyToken CollectTokens(const Message& message) {
  std::map<uint32_t, uint64_t> max;
  Collect(message, max);
  pb::ConsistencyToken out;
  for (const auto& [partition, offset] : max) {
    pb::LogPosition* p = out.add_positions();
    p->set_partition(partition);
    p->set_offset(offset);
  }
  return out;
}

std::string StreamPositionText(const StreamPosition& position) {
  std::vector<std::string> parts;
  for (const auto& [partition, at] : position) parts.push_back(absl::StrCat(partition, ":", at.first, ":", at.second));
  return absl::StrJoin(parts, ",");
}

absl::StatusOr<StreamPosition> ParseStreamPosition(std::string_view text) {
  StreamPosition out;
  if (text.empty()) return out;
  for (absl::string_view entry : absl::StrSplit(Absl(text), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry, ':');
    uint32_t partition, index;
    uint64_t offset;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &partition) || !absl::SimpleAtoi(parts[1], &offset) ||
        !absl::SimpleAtoi(parts[2], &index) || !out.emplace(partition, std::make_pair(offset, index)).second) {
      return base::InvalidField("Last-Event-ID", absl::StrCat("malformed entry '", entry,
                                                              "'; an event id is partition:offset:index[,...]"));
    }
  }
  return out;
}

namespace {
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int Hex(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
}  // namespace

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view pair : absl::StrSplit(Absl(query), '&', absl::SkipEmpty())) {
    size_t eq = pair.find('=');
    std::string_view name = base::AsStd(pair.substr(0, eq));
    std::string_view value = eq == absl::string_view::npos ? std::string_view() : base::AsStd(pair.substr(eq + 1));
    out.emplace_back(PercentDecode(name, true), PercentDecode(value, true));
  }
  return out;
}

unsigned HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return 200;
    case grpc::StatusCode::CANCELLED: return 499;
    case grpc::StatusCode::UNKNOWN: return 500;
    case grpc::StatusCode::INVALID_ARGUMENT: return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return 504;
    case grpc::StatusCode::NOT_FOUND: return 404;
    case grpc::StatusCode::ALREADY_EXISTS: return 409;
    case grpc::StatusCode::PERMISSION_DENIED: return 403;
    case grpc::StatusCode::UNAUTHENTICATED: return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return 429;
    case grpc::StatusCode::FAILED_PRECONDITION: return 400;
    case grpc::StatusCode::ABORTED: return 409;
    case grpc::StatusCode::OUT_OF_RANGE: return 400;
    case grpc::StatusCode::UNIMPLEMENTED: return 501;
    case grpc::StatusCode::INTERNAL: return 500;
    case grpc::StatusCode::UNAVAILABLE: return 503;
    case grpc::StatusCode::DATA_LOSS: return 500;
    default: return 500;
  }
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    default: return "UNKNOWN";
  }
}

pb::HttpError ErrorOf(const grpc::Status& status, const std::optional<pb::Rejection>& rejection) {
  pb::HttpError error;
  error.set_code(CodeName(status.error_code()));
  error.set_message(status.error_message());
  if (rejection) {
    error.set_field(rejection->field());
    *error.mutable_details() = *rejection;
  }
  return error;
}

pb::HttpError ErrorOf(const absl::Status& status) {
  pb::HttpError error;
  error.set_code(CodeName(static_cast<grpc::StatusCode>(static_cast<int>(status.code()))));
  error.set_message(std::string(status.message()));
  if (std::optional<std::string> field = base::FieldOf(status)) error.set_field(*field);
  return error;
}

}  // namespace http_api
