#include "orders/publisher.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/testing/temp_dir.h"
#include "gtest/gtest.h"

namespace orders {
namespace {

class PositionFile : public ::testing::Test {
 protected:
  base::TempDir dir_{"publisher_test"};
  std::filesystem::path path_ = dir_ / "position";
};

TEST_F(PositionFile, MissingFileIsPositionZero) {
  absl::StatusOr<base::NextOffsets> p = LoadPosition(path_, 3);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, (base::NextOffsets{0, 0, 0}));
}

TEST_F(PositionFile, RoundTripsAndReplaces) {
  ASSERT_TRUE(SavePosition(path_, {1, 2, 0xFFFFFFFFFFull}).ok());
  ASSERT_TRUE(SavePosition(path_, {4, 5, 6}).ok());
  absl::StatusOr<base::NextOffsets> p = LoadPosition(path_, 3);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, (base::NextOffsets{4, 5, 6}));
  EXPECT_FALSE(std::filesystem::exists(path_.string() + ".tmp"));
}

TEST_F(PositionFile, DamageIsDataLossAndAnotherPartitionCountIsRefused) {
  ASSERT_TRUE(SavePosition(path_, {7, 8}).ok());
  EXPECT_EQ(LoadPosition(path_, 4).status().code(), absl::StatusCode::kFailedPrecondition);
  std::string bytes;
  {
    std::ifstream in(path_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bytes[14] ^= 1;  // inside the first offset
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  absl::StatusOr<base::NextOffsets> p = LoadPosition(path_, 2);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kDataLoss) << p.status();
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << "garbage";
  }
  EXPECT_EQ(LoadPosition(path_, 2).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace orders
