// libFuzzer target: the HTTP front door's request handling (http-api/):
// Boost.Beast's request parser under the server's limits (HttpServerOptions'
// defaults, as http_server.cc sets them), then what a request goes through
// before a handler: the query string, the consistency token and SSE resume
// position headers, and the JSON body parsed into the request message of the
// CommandService or QueryService method the path picks.
//
// Properties: no crash or sanitizer report, no read past the input; a parsed
// body prints as JSON that parses back to an equal message; a parsed token
// or stream position prints as text that parses back to the same value.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/message_differencer.h>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "http-api/codec.h"
#include "http-api/http_server.h"
#include "proto/command_service.pb.h"
#include "proto/query_service.pb.h"

namespace {

namespace http = boost::beast::http;
namespace protobuf = google::protobuf;

// The request message of every CommandService and QueryService method.
std::vector<const protobuf::Descriptor*> RequestTypes() {
  std::vector<const protobuf::Descriptor*> out;
  // Through a message of each file, so the files' descriptors are linked in.
  for (const protobuf::FileDescriptor* file : {inventory::v1::CreateItemRequest::descriptor()->file(),
                                               inventory::v1::GetItemRequest::descriptor()->file()}) {
    FUZZ_CHECK(file->service_count() == 1, "each file holds its service");
    const protobuf::ServiceDescriptor* service = file->service(0);
    for (int i = 0; i < service->method_count(); ++i) out.push_back(service->method(i)->input_type());
  }
  return out;
}

void CheckBody(std::string_view path, std::string_view body,
               const std::vector<std::pair<std::string, std::string>>& query) {
  static const std::vector<const protobuf::Descriptor*> types = RequestTypes();
  static protobuf::DynamicMessageFactory factory(protobuf::DescriptorPool::generated_pool());
  const protobuf::Descriptor* type = types[std::hash<std::string_view>{}(path) % types.size()];
  std::unique_ptr<protobuf::Message> message(factory.GetPrototype(type)->New());
  if (!http_api::ApplyQuery(query, message.get()).ok()) return;
  if (!http_api::ParseJson(body, message.get()).ok()) return;
  std::string printed = http_api::PrintJson(*message);
  std::unique_ptr<protobuf::Message> round(factory.GetPrototype(type)->New());
  FUZZ_CHECK(http_api::ParseJson(printed, round.get()).ok(), "printed JSON parses back");
  FUZZ_CHECK(protobuf::util::MessageDifferencer::Equals(*message, *round), "JSON round trip keeps the message");
}

// Every header value goes through both header parsers (X-Consistency-Token,
// Last-Event-ID), whatever its name: more inputs for each.
void CheckHeaders(const http::request<http::string_body>& req) {
  for (const auto& field : req) {
    std::string_view value(field.value().data(), field.value().size());
    absl::StatusOr<http_api::pb::ConsistencyToken> token = http_api::ParseToken(value, "X-Consistency-Token");
    if (token.ok()) {
      absl::StatusOr<http_api::pb::ConsistencyToken> round =
          http_api::ParseToken(http_api::TokenText(*token), "X-Consistency-Token");
      FUZZ_CHECK(round.ok(), "a printed token parses back");
      FUZZ_CHECK(protobuf::util::MessageDifferencer::Equals(*token, *round), "token round trip");
    }
    absl::StatusOr<http_api::StreamPosition> position = http_api::ParseStreamPosition(value);
    if (position.ok()) {
      absl::StatusOr<http_api::StreamPosition> round =
          http_api::ParseStreamPosition(http_api::StreamPositionText(*position));
      FUZZ_CHECK(round.ok() && *round == *position, "stream position round trip");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const http_api::HttpServerOptions limits;
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(limits.body_bytes_max);
  parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes_max));
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  http::request<http::string_body> req = parser.release();
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::vector<std::pair<std::string, std::string>> query;
  if (q != std::string_view::npos) query = http_api::ParseQueryString(target.substr(q + 1));
  CheckHeaders(req);
  CheckBody(path, req.body(), query);
  return 0;
}
