// The HTTP/JSON edge's translations, all pure: protobuf JSON in and out
// (libprotobuf's JSON utilities, so HTTP and gRPC share one contract), query
// parameters onto request fields, the consistency token's text form, the SSE
// resume id, and gRPC status codes to HTTP statuses (as grpc-gateway maps
// them). docs/http.md states each of these to callers.
//
// Thread-safety: pure functions.
#ifndef HTTP_API_CODEC_H_
#define HTTP_API_CODEC_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/common.pb.h"
#include "proto/http_api.pb.h"

namespace http_api {

namespace pb = inventory::v1;

// Parses `json` into `message` (field names lowerCamel or as in the .proto;
// unknown fields are refused). An empty body is the empty message.
// INVALID_ARGUMENT "body: ..." naming what protobuf's parser found.
absl::Status ParseJson(std::string_view json, google::protobuf::Message* message);

// The message in protobuf's JSON mapping: lowerCamel names, enums by name,
// 64-bit integers as strings, fields at their default value printed too.
std::string PrintJson(const google::protobuf::Message& message);

// Sets scalar (and repeated scalar) fields of `message` from query parameters
// named as the fields are (lowerCamel or original). A repeated field takes the
// parameter repeated (?skus=A&skus=B). INVALID_ARGUMENT naming the parameter
// for an unknown name, a message-typed field, a value of the wrong type, or
// text that is not UTF-8 (CheckUtf8).
absl::Status ApplyQuery(const std::vector<std::pair<std::string, std::string>>& query,
                        google::protobuf::Message* message);

// Text from the URL (a path segment or a query value) bound for a string
// field: INVALID_ARGUMENT naming `field` unless it is valid UTF-8. Protobuf
// refuses such a string when the request crosses to the gRPC service, which
// would otherwise answer with a bare error that names nothing (found by
// fuzz/http_request_fuzz.cc).
absl::Status CheckUtf8(std::string_view field, std::string_view value);

// The consistency token's text form: "partition:offset" entries joined by
// ",", e.g. "0:41,3:7". The empty string is the empty token.
std::string TokenText(const pb::ConsistencyToken& token);
absl::StatusOr<pb::ConsistencyToken> ParseToken(std::string_view text, std::string_view what);

// Every ConsistencyToken inside `message` (a bulk answer holds one per entry)
// merged into one: the highest offset per partition.
pb::ConsistencyToken CollectTokens(const google::protobuf::Message& message);

// Where an SSE stream stands: per partition, the last update delivered as
// (offset, movement_index). Its text form, the SSE `id:`, is
// "partition:offset:index" entries joined by ",", e.g. "0:41:0,3:7:1".
using StreamPosition = std::map<uint32_t, std::pair<uint64_t, uint32_t>>;
std::string StreamPositionText(const StreamPosition& position);
absl::StatusOr<StreamPosition> ParseStreamPosition(std::string_view text);

// "%2F" -> "/" (and "+" -> " " when plus_is_space, as in a query string); a
// malformed escape is kept as it is.
std::string PercentDecode(std::string_view s, bool plus_is_space);
// "a=1&b=x%20y" -> {("a","1"), ("b","x y")}, in order.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);

// The HTTP status for a gRPC code, as grpc-gateway maps them.
unsigned HttpStatusOf(grpc::StatusCode code);
// The code's name as gRPC spells it: "FAILED_PRECONDITION".
std::string CodeName(grpc::StatusCode code);

// The one error shape: code name, message, and the rejection's field and
// details when there is one.
pb::HttpError ErrorOf(const grpc::Status& status, const std::optional<pb::Rejection>& rejection);
pb::HttpError ErrorOf(const absl::Status& status);

}  // namespace http_api

#endif  // HTTP_API_CODEC_H_
