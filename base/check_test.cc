#include "base/check.h"

#include <gtest/gtest.h>

#include "base/status.h"

namespace base {
namespace {

TEST(CheckTest, PassingCheckDoesNotEvaluateMessage) {
  int evaluated = 0;
  auto side_effect = [&] { return ++evaluated; };
  INV_CHECK(1 + 1 == 2) << side_effect();
  EXPECT_EQ(evaluated, 0);
}

TEST(CheckDeathTest, FailingCheckAbortsWithConditionAndMessage) {
  int on_hand = -3;
  EXPECT_DEATH(INV_CHECK(on_hand >= 0) << "on_hand=" << on_hand, "check failed: on_hand >= 0 on_hand=-3");
}

TEST(StatusTest, InvalidFieldNamesTheField) {
  absl::Status status = InvalidField("lines[2].quantity", "must be > 0");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "lines[2].quantity: must be > 0");
  ASSERT_TRUE(FieldOf(status).has_value());
  EXPECT_EQ(*FieldOf(status), "lines[2].quantity");
  EXPECT_FALSE(FieldOf(absl::NotFoundError("x")).has_value());
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  int half = 0;
  ASSIGN_OR_RETURN(half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace base
