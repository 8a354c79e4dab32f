// Tests for the snapshot store: pruning to keep_max, skipping corrupt files
// and files whose name disagrees with their content, empty directories, and
// temporary files a crash left behind.
#include "command-api/snapshot_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/testing/temp_dir.h"
#include "ledger/testing/command_driver.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace command_api {
namespace {

using namespace ledger;  // NOLINT: the domain's vocabulary throughout

using Driver = test_support::CommandDriver;

class SnapshotStoreTest : public ::testing::Test {
 protected:
  std::vector<std::string> Names(const SnapshotStore& store) const {
    std::vector<std::string> names;
    absl::StatusOr<std::vector<std::filesystem::path>> files = store.List();
    EXPECT_TRUE(files.ok()) << files.status();
    if (!files.ok()) return names;
    for (const auto& p : *files) names.push_back(p.filename().string());
    return names;
  }

  base::TempDir temp_{"snapshot_store_test"};
  std::filesystem::path dir_ = temp_.path();
};

std::string Name(std::uint64_t events_applied) {
  std::string digits = std::to_string(events_applied);
  return "snapshot-" + std::string(20 - digits.size(), '0') + digits + ".snap";
}

TEST_F(SnapshotStoreTest, SaveKeepsTheNewestKeepMax) {
  SnapshotStore store(dir_ / "nested", {.keep_max = 3});  // created on first Save
  Driver d;
  State s;
  std::vector<std::uint64_t> saved_at;
  for (int i = 0; i < 5; ++i) {
    d.Must(s, CreateItem{.sku = Sku(absl::StrCat("S", i)), .name = "n"});
    base::NextOffsets offsets = {s.events_applied(), 0};
    ASSERT_TRUE(store.Save(s, offsets).ok());
    saved_at.push_back(s.events_applied());
  }
  EXPECT_EQ(Names(store), (std::vector<std::string>{Name(saved_at[2]), Name(saved_at[3]), Name(saved_at[4])}));
  // No temporary file is left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_ / "nested")) ++entries;
  EXPECT_EQ(entries, 3u);
  std::vector<std::string> skipped;
  absl::StatusOr<Snapshot> newest = store.LoadNewest({}, &skipped);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_TRUE(newest->state == s);
  EXPECT_EQ(newest->next_offsets, (base::NextOffsets{saved_at[4], 0}));
  EXPECT_TRUE(skipped.empty());
}

TEST_F(SnapshotStoreTest, LoadNewestSkipsACorruptNewestFile) {
  SnapshotStore store(dir_, {});
  Driver d;
  State s;
  d.Must(s, CreateItem{.sku = Sku("A"), .name = "a"});
  const State older = s;
  ASSERT_TRUE(store.Save(s, base::NextOffsets{1}).ok());
  d.Must(s, CreateItem{.sku = Sku("B"), .name = "b"});
  ASSERT_TRUE(store.Save(s, base::NextOffsets{2}).ok());
  {
    const std::filesystem::path newest = dir_ / Name(s.events_applied());
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(40);
    char c = 0;
    f.read(&c, 1);
    f.seekp(40);
    c = static_cast<char>(c ^ 0x20);
    f.write(&c, 1);
  }
  std::vector<std::string> skipped;
  absl::StatusOr<Snapshot> loaded = store.LoadNewest({}, &skipped);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->state == older);
  EXPECT_EQ(loaded->next_offsets, base::NextOffsets{1});
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find(Name(s.events_applied())), std::string::npos) << skipped[0];
  EXPECT_NE(skipped[0].find("checksum"), std::string::npos) << skipped[0];
}

TEST_F(SnapshotStoreTest, FileWhoseNameDisagreesWithItsContentIsSkipped) {
  SnapshotStore store(dir_, {});
  Driver d;
  State s;
  d.Must(s, CreateItem{.sku = Sku("A"), .name = "a"});
  ASSERT_TRUE(store.Save(s, base::NextOffsets{1}).ok());
  std::filesystem::copy_file(dir_ / Name(1), dir_ / Name(99));
  std::vector<std::string> skipped;
  absl::StatusOr<Snapshot> loaded = store.LoadNewest({}, &skipped);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->state.events_applied(), 1u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("name says 99"), std::string::npos) << skipped[0];
}

TEST_F(SnapshotStoreTest, EmptyOrMissingDirectoryIsNotFound) {
  std::vector<std::string> skipped;
  EXPECT_EQ(SnapshotStore(dir_, {}).LoadNewest({}, &skipped).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(SnapshotStore(dir_ / "missing", {}).LoadNewest({}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(skipped.empty());
  // Files that are not snapshots are ignored; only-corrupt is NOT_FOUND too.
  std::ofstream(dir_ / "README") << "not a snapshot";
  std::ofstream(dir_ / Name(3)) << "garbage";
  absl::StatusOr<Snapshot> none = SnapshotStore(dir_, {}).LoadNewest({}, &skipped);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound) << none.status();
  EXPECT_EQ(skipped.size(), 1u);
}

TEST_F(SnapshotStoreTest, SaveRemovesTemporaryFilesACrashLeft) {
  std::ofstream(dir_ / (Name(7) + ".tmp")) << "half written";
  SnapshotStore store(dir_, {.keep_max = 1});
  State s;
  ASSERT_TRUE(store.Save(s, {}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ / (Name(7) + ".tmp")));
  EXPECT_EQ(Names(store), std::vector<std::string>{Name(0)});
}

}  // namespace
}  // namespace command_api
