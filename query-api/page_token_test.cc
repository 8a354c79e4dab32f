#include "query-api/page_token.h"

#include <gtest/gtest.h>

#include "base/status.h"

namespace query_api {
namespace {

TEST(PageTokenTest, RoundTripsTheLastKey) {
  uint64_t f = FilterHash().Add("cat").Add(int64_t{2}).value();
  std::string key("sku\0with/bytes", 14);
  std::string token = EncodePageToken(PageKind::kItems, f, key);
  absl::StatusOr<std::string> back = DecodePageToken(token, PageKind::kItems, f);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, key);
  EXPECT_EQ(*DecodePageToken("", PageKind::kItems, f), "");
}

TEST(PageTokenTest, RefusesMalformedForeignAndRefilteredTokens) {
  uint64_t f = FilterHash().Add("a").value();
  std::string token = EncodePageToken(PageKind::kItems, f, "k");
  for (const std::string& bad : {std::string("!!!"), std::string("AAAA"), token.substr(0, token.size() - 3)}) {
    absl::StatusOr<std::string> r = DecodePageToken(bad, PageKind::kItems, f);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(base::FieldOf(r.status()).value_or(""), "page_token");
  }
  EXPECT_FALSE(DecodePageToken(token, PageKind::kReservations, f).ok());
  EXPECT_FALSE(DecodePageToken(token, PageKind::kItems, FilterHash().Add("b").value()).ok());
}

TEST(PageTokenTest, FilterHashSeparatesFieldBoundaries) {
  EXPECT_NE(FilterHash().Add("ab").Add("").value(), FilterHash().Add("a").Add("b").value());
}

}  // namespace
}  // namespace query_api
