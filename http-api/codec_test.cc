#include "http-api/codec.h"

#include <gtest/gtest.h>

#include "proto/command_service.pb.h"
#include "proto/query_service.pb.h"

namespace http_api {
namespace {

TEST(Codec, JsonAcceptsCamelAndProtoNamesAndRefusesUnknownFields) {
  pb::CheckAndReserveStockRequest req;
  ASSERT_TRUE(ParseJson(R"({"orderId":"o-1","lines":[{"sku":"A","quantity":"2"}],"allow_split":true})", &req).ok());
  EXPECT_EQ(req.order_id(), "o-1");
  EXPECT_EQ(req.lines(0).quantity(), 2);
  EXPECT_TRUE(req.allow_split());
  absl::Status unknown = ParseJson(R"({"orderIdd":"x"})", &req);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("orderIdd"), absl::string_view::npos) << unknown;
  EXPECT_FALSE(ParseJson(R"({"lines":[{"quantity":"many"}]})", &req).ok());
  EXPECT_FALSE(ParseJson("{not json", &req).ok());
}

TEST(Codec, PrintsLowerCamelWithDefaults) {
  pb::StockLevel level;
  level.set_sku("A");
  level.set_on_hand(5);
  std::string json = PrintJson(level);
  EXPECT_NE(json.find(R"("onHand":"5")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("reserved":"0")"), std::string::npos) << json;
}

TEST(Codec, QueryParametersSetScalarFields) {
  pb::ListItemsRequest req;
  ASSERT_TRUE(ApplyQuery({{"pageSize", "5"}, {"category", "mugs"}, {"low_stock_only", "true"},
                          {"status", "ITEM_STATUS_ACTIVE"}},
                         &req)
                  .ok());
  EXPECT_EQ(req.page_size(), 5);
  EXPECT_EQ(req.category(), "mugs");
  EXPECT_TRUE(req.low_stock_only());
  EXPECT_EQ(req.status(), pb::ITEM_STATUS_ACTIVE);
  EXPECT_EQ(ApplyQuery({{"pageSize", "five"}}, &req).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyQuery({{"nope", "1"}}, &req).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyQuery({{"read", "1"}}, &req).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyQuery({{"category", "a"}, {"category", "b"}}, &req).code(), absl::StatusCode::kInvalidArgument);
  // Not UTF-8: refused naming the parameter, not passed on to protobuf.
  absl::Status not_utf8 = ApplyQuery({{"category", "\xff\xfe"}}, &req);
  EXPECT_EQ(not_utf8.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(not_utf8.message().find("category: is not valid UTF-8"), std::string_view::npos) << not_utf8;
  EXPECT_TRUE(ApplyQuery({{"category", "K\xc3\xbc" "che"}}, &req).ok());
  pb::StreamInventoryUpdatesRequest stream;
  ASSERT_TRUE(ApplyQuery({{"skus", "A"}, {"skus", "B"}}, &stream).ok());
  EXPECT_EQ(stream.skus_size(), 2);
}

TEST(Codec, TokenTextRoundTripsAndMergesToTheHighestOffset) {
  absl::StatusOr<pb::ConsistencyToken> token = ParseToken("0:41,3:7", "minToken");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(TokenText(*token), "0:41,3:7");
  EXPECT_FALSE(ParseToken("0-41", "minToken").ok());
  EXPECT_FALSE(ParseToken("0:x", "minToken").ok());
  pb::BulkReserveStockResponse bulk;
  auto add = [&](uint32_t p, uint64_t o) {
    pb::LogPosition* pos = bulk.add_results()->mutable_response()->mutable_result()->mutable_token()->add_positions();
    pos->set_partition(p);
    pos->set_offset(o);
  };
  add(1, 5);
  add(1, 9);
  add(0, 2);
  EXPECT_EQ(TokenText(CollectTokens(bulk)), "0:2,1:9");
}

TEST(Codec, StreamPositionRoundTrips) {
  absl::StatusOr<StreamPosition> p = ParseStreamPosition("0:41:0,3:7:1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)[3], std::make_pair(uint64_t{7}, uint32_t{1}));
  EXPECT_EQ(StreamPositionText(*p), "0:41:0,3:7:1");
  EXPECT_FALSE(ParseStreamPosition("0:41").ok());
  EXPECT_FALSE(ParseStreamPosition("0:1:0,0:2:0").ok());  // a partition twice
}

TEST(Codec, StatusMapIsGrpcGateways) {
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::INVALID_ARGUMENT), 400u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::FAILED_PRECONDITION), 400u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::NOT_FOUND), 404u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::ALREADY_EXISTS), 409u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::ABORTED), 409u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::RESOURCE_EXHAUSTED), 429u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::DEADLINE_EXCEEDED), 504u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::UNAVAILABLE), 503u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::UNIMPLEMENTED), 501u);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::CANCELLED), 499u);
  EXPECT_EQ(CodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
}

TEST(Codec, ErrorCarriesTheRejection) {
  pb::Rejection rejection;
  rejection.set_reason(pb::Rejection::REASON_INSUFFICIENT_STOCK);
  rejection.set_field("lines[0].quantity");
  pb::HttpError e = ErrorOf(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "insufficient stock"), rejection);
  EXPECT_EQ(e.code(), "FAILED_PRECONDITION");
  EXPECT_EQ(e.field(), "lines[0].quantity");
  EXPECT_EQ(e.details().reason(), pb::Rejection::REASON_INSUFFICIENT_STOCK);
  std::string json = PrintJson(e);
  EXPECT_NE(json.find(R"("reason":"REASON_INSUFFICIENT_STOCK")"), std::string::npos) << json;
}

TEST(Codec, QueryStringDecodes) {
  auto q = ParseQueryString("a=1&b=x%20y+z&c");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[1].second, "x y z");
  EXPECT_EQ(q[2].first, "c");
  EXPECT_EQ(PercentDecode("A%2FB+C", false), "A/B+C");
}

}  // namespace
}  // namespace http_api
