// A fresh directory for a test, removed with everything in it when the
// object goes away: the one helper every test that needs files uses.
//
//   base::TempDir dir("writer_test");      // $TMPDIR/writer_test-XXXXXX
//   options.path = dir.path() + "/log";     // a std::string, for options
//   SnapshotStore store(dir / "snapshots"); // a std::filesystem::path
//
// The name comes from mkdtemp(3): unique even across test processes that
// run at once (ctest -j), created with mode 0700. Failing to create it is a
// broken machine, not a test result: it aborts (INV_CHECK) naming the path.
//
// Thread-safety: a value owned by one test; path() may be read from any
// thread.
#ifndef BASE_TESTING_TEMP_DIR_H_
#define BASE_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "base/check.h"

namespace base {

class TempDir {
 public:
  // `prefix` names the directory for whoever finds it ("<prefix>-XXXXXX").
  explicit TempDir(std::string_view prefix = "inventory-test") {
    std::error_code ec;
    std::filesystem::path root = std::filesystem::temp_directory_path(ec);
    INV_CHECK(!ec) << "no temp directory: " << ec.message();
    std::string name = (root / (std::string(prefix) + "-XXXXXX")).string();
    INV_CHECK(::mkdtemp(name.data()) != nullptr) << "mkdtemp " << name << ": " << std::strerror(errno);
    path_ = std::move(name);
  }
  ~TempDir() {
    if (keep_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // best effort: a test's result does not depend on it
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory, absolute.
  const std::string& path() const { return path_; }
  // path() / name.
  std::filesystem::path operator/(std::string_view name) const { return std::filesystem::path(path_) / name; }

  // Leaves the directory in place when the object goes away, to look at
  // after a failed test.
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

}  // namespace base

#endif  // BASE_TESTING_TEMP_DIR_H_
