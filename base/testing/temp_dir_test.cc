#include "base/testing/temp_dir.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace base {
namespace {

TEST(TempDir, IsFreshAndRemovedWithEverythingInIt) {
  std::filesystem::path kept;
  {
    TempDir a("temp_dir_test");
    TempDir b("temp_dir_test");
    EXPECT_NE(a.path(), b.path());
    EXPECT_TRUE(std::filesystem::is_directory(a.path()));
    EXPECT_TRUE(std::filesystem::is_empty(a.path()));
    EXPECT_NE(a.path().find("temp_dir_test-"), std::string::npos) << a.path();
    EXPECT_EQ(a / "x", std::filesystem::path(a.path()) / "x");
    std::filesystem::create_directories(a / "nested" / "deeper");
    std::ofstream(a / "nested" / "deeper" / "file") << "bytes";
    kept = a.path();
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(TempDir, KeepLeavesItInPlace) {
  std::string path;
  {
    TempDir dir("temp_dir_test");
    dir.Keep();
    path = dir.path();
  }
  EXPECT_TRUE(std::filesystem::is_directory(path));
  std::filesystem::remove_all(path);
}

}  // namespace
}  // namespace base
