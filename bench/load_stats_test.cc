#include "bench/load_stats.h"

#include <gtest/gtest.h>

namespace bench {
namespace {

TEST(PercentileTest, NearestRankBelow) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  EXPECT_EQ(Percentile(v, 0.0), 1);
  EXPECT_EQ(Percentile(v, 0.5), 50);
  EXPECT_EQ(Percentile(v, 0.99), 99);
  EXPECT_EQ(Percentile(v, 1.0), 100);
  std::vector<double> empty;
  EXPECT_EQ(Percentile(empty, 0.5), 0);
}

TEST(MedianTest, OddAndEven) {
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(Median({}), 0);
}

TEST(CheckLevelsTest, CleanRunHasNothingOversoldOrUnaccounted) {
  std::vector<Level> levels = {{"A/W", 90, 5}, {"B/W", 100, 0}};
  LevelCheck c = CheckLevels(levels, 100, {.open_units = 5, .committed_units = 10});
  EXPECT_EQ(c.rows, 2);
  EXPECT_EQ(c.oversold_rows, 0);
  EXPECT_EQ(c.reserved_units, 5);
  EXPECT_EQ(c.shipped_units, 10);
  EXPECT_EQ(c.unaccounted_units, 0);
}

TEST(CheckLevelsTest, FlagsReservedBeyondStockAndNegativeRows) {
  std::vector<Level> levels = {{"A/W", 10, 11}, {"B/W", 5, -1}, {"C/W", -2, 0}, {"D/W", 10, 10}};
  LevelCheck c = CheckLevels(levels, 10, {});
  EXPECT_EQ(c.oversold_rows, 3);
}

TEST(CheckLevelsTest, CountsLostAndPhantomUnits) {
  // 7 reserved in the store but 9 acknowledged (2 lost); 3 shipped, 1 acknowledged.
  std::vector<Level> levels = {{"A/W", 97, 7}};
  LevelCheck c = CheckLevels(levels, 100, {.open_units = 9, .committed_units = 1});
  EXPECT_EQ(c.unaccounted_units, 4);
}

}  // namespace
}  // namespace bench
