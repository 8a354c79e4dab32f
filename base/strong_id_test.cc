#include "base/strong_id.h"

#include <gtest/gtest.h>

#include <type_traits>

#include "absl/container/flat_hash_set.h"

namespace base {
namespace {

struct SkuTag {};
struct WarehouseTag {};
using Sku = StrongId<SkuTag>;
using Warehouse = StrongId<WarehouseTag>;

TEST(StrongIdTest, DistinctTagsAreDistinctTypes) {
  static_assert(!std::is_convertible_v<Sku, Warehouse>);
  static_assert(!std::is_convertible_v<std::string, Sku>);
  Sku a("SKU-1");
  Sku b("SKU-2");
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, Sku("SKU-1"));
}

TEST(StrongIdTest, HashesLikeItsValue) {
  absl::flat_hash_set<Sku> set{Sku("a"), Sku("b"), Sku("a")};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(Sku("b")));
}

}  // namespace
}  // namespace base
