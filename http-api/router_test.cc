#include "http-api/router.h"

#include <gtest/gtest.h>

namespace http_api {
namespace {

TEST(Router, LiteralSegmentsWinAndParamsAreDecoded) {
  Router<int> r;
  ASSERT_TRUE(r.Add("GET", "/api/v1/items/{sku}", 1));
  ASSERT_TRUE(r.Add("POST", "/api/v1/items/bulk", 2));
  ASSERT_TRUE(r.Add("PUT", "/api/v1/items/{sku}", 3));
  EXPECT_FALSE(r.Add("GET", "/api/v1/items/{sku}", 4));
  auto m = r.Find("GET", "/api/v1/items/MUG%2FBLUE");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(*m.handler, 1);
  EXPECT_EQ(m.params["sku"], "MUG/BLUE");
  m = r.Find("POST", "/api/v1/items/bulk");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(*m.handler, 2);
}

TEST(Router, WrongMethodListsAllowedOnesAndUnknownPathHasNone) {
  Router<int> r;
  r.Add("GET", "/api/v1/items/{sku}", 1);
  r.Add("PUT", "/api/v1/items/{sku}", 2);
  auto m = r.Find("PATCH", "/api/v1/items/A");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, (std::vector<std::string>{"GET", "PUT"}));
  m = r.Find("GET", "/api/v1/items/A/extra");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.allow.empty());
  EXPECT_EQ(r.Find("GET", "/api/v1/items").handler, nullptr);
}

}  // namespace
}  // namespace http_api
