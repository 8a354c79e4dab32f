#include "base/log_position.h"

#include <sstream>
#include <vector>

#include "gtest/gtest.h"

namespace base {
namespace {

TEST(NextOffsets, BracesListOffsetsAndZeroCountsPartitions) {
  const NextOffsets listed{4};
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], 4u);
  const NextOffsets zero = NextOffsets::Zero(4);
  EXPECT_EQ(zero, (NextOffsets{0, 0, 0, 0}));
  EXPECT_EQ(NextOffsets(std::vector<uint64_t>{9, 5}), (NextOffsets{9, 5}));
}

TEST(NextOffsets, CoversOnlyOffsetsBelowTheBound) {
  const NextOffsets next{3, 0};
  EXPECT_TRUE(next.Covers({0, 0}));
  EXPECT_TRUE(next.Covers({0, 2}));
  EXPECT_FALSE(next.Covers({0, 3}));  // exclusive
  EXPECT_FALSE(next.Covers({1, 0}));  // nothing of partition 1
  EXPECT_FALSE(next.Covers({2, 0}));  // no such partition
}

TEST(NextOffsets, AdvanceMovesPastARecordAndNeverBack) {
  NextOffsets next = NextOffsets::Zero(2);
  next.Advance({1, 7});  // offsets may skip (Kafka's transaction markers)
  EXPECT_EQ(next, (NextOffsets{0, 8}));
  next.Advance({1, 2});
  EXPECT_EQ(next, (NextOffsets{0, 8}));
  EXPECT_TRUE(next.Covers({1, 7}));
}

TEST(NextOffsets, EventsBehindSumsOnlyPartitionsThatTrail) {
  const NextOffsets applied{10, 4, 9};
  EXPECT_EQ(applied.EventsBehind(NextOffsets{12, 4, 3}), 2u);  // partition 2 ahead counts 0
  EXPECT_EQ(applied.EventsBehind(applied), 0u);
  EXPECT_EQ(NextOffsets::Zero(3).EventsBehind(applied), 23u);
  EXPECT_EQ(applied.Total(), 23u);
}

TEST(NextOffsets, CoveringIsTheLeastBoundOverPositions) {
  const std::vector<LogPosition> token = {{0, 4}, {0, 2}, {2, 0}};
  const NextOffsets wanted = NextOffsets::Covering(3, token);
  EXPECT_EQ(wanted, (NextOffsets{5, 0, 1}));
  for (const LogPosition& p : token) EXPECT_TRUE(wanted.Covers(p));
  EXPECT_EQ((NextOffsets{3, 0, 0}).EventsBehind(wanted), 3u);
}

TEST(NextOffsets, PrintsAsAList) {
  std::ostringstream os;
  os << NextOffsets{9, 5};
  EXPECT_EQ(os.str(), "[9, 5]");
}

}  // namespace
}  // namespace base
