#include "command-api/snapshot_store.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/durable_file.h"
#include "base/status.h"

namespace command_api {

namespace {

constexpr std::string_view kPrefix = "snapshot-";
constexpr std::string_view kSuffix = ".snap";
constexpr std::string_view kTempSuffix = ".snap.tmp";
constexpr std::size_t kDigits = 20;

std::string FileName(std::uint64_t events_applied) {
  char digits[kDigits + 1];
  std::snprintf(digits, sizeof(digits), "%020" PRIu64, events_applied);
  return absl::StrCat(base::AsAbsl(kPrefix), digits, base::AsAbsl(kSuffix));
}

// The events_applied in a snapshot file name; nullopt for any other name.
std::optional<std::uint64_t> ParseFileName(std::string_view name) {
  if (name.size() != kPrefix.size() + kDigits + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char ch : name.substr(kPrefix.size(), kDigits)) {
    if (ch < '0' || ch > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(ch - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

absl::Status IoError(std::string_view op, const std::filesystem::path& path, int error) {
  return absl::UnavailableError(
      absl::StrCat("snapshot store: ", base::AsAbsl(op), " ", path.string(), ": ", std::strerror(error)));
}

// base's file errors, with the store named as the others are.
absl::Status Prefixed(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("snapshot store: ", status.message()));
}

}  // namespace

SnapshotStore::SnapshotStore(std::filesystem::path dir, SnapshotStoreOptions options)
    : dir_(std::move(dir)), options_(options) {
  INV_CHECK(options_.keep_max >= 1) << "SnapshotStoreOptions.keep_max must be at least 1";
}

absl::StatusOr<std::vector<std::filesystem::path>> SnapshotStore::List() const {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return files;
    return IoError("list", dir_, ec.value());
  }
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ParseFileName(it->path().filename().string())) files.push_back(it->path());
  }
  if (ec) return IoError("list", dir_, ec.value());
  // Fixed-width numbers: name order is events_applied order.
  std::sort(files.begin(), files.end());
  return files;
}

absl::Status SnapshotStore::Save(const State& state, std::span<const std::uint64_t> next_offsets) {
  ASSIGN_OR_RETURN(std::string bytes, ledger::EncodeSnapshot(state, next_offsets));
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return IoError("create", dir_, ec.value());
  RETURN_IF_ERROR(Prefixed(base::WriteFileDurably(dir_ / FileName(state.events_applied()), bytes)));
  return Prune();
}

absl::Status SnapshotStore::Prune() {
  ASSIGN_OR_RETURN(std::vector<std::filesystem::path> files, List());
  std::error_code ec;
  for (std::size_t i = 0; i + options_.keep_max < files.size(); ++i) {
    if (!std::filesystem::remove(files[i], ec) && ec) return IoError("remove", files[i], ec.value());
  }
  // Leftovers of a crash between write and rename (a single writer per directory).
  for (std::filesystem::directory_iterator it(dir_, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(kPrefix) && name.ends_with(kTempSuffix)) std::filesystem::remove(it->path(), ec);
  }
  if (ec) return IoError("clean up", dir_, ec.value());
  return absl::OkStatus();
}

absl::StatusOr<Snapshot> SnapshotStore::LoadNewest(LedgerOptions options, std::vector<std::string>* skipped) {
  ASSIGN_OR_RETURN(std::vector<std::filesystem::path> files, List());
  std::size_t passed_over = 0;
  auto skip = [&](const std::filesystem::path& file, std::string_view reason) {
    ++passed_over;
    if (skipped != nullptr) skipped->push_back(absl::StrCat(file.string(), ": ", base::AsAbsl(reason)));
  };
  for (auto file = files.rbegin(); file != files.rend(); ++file) {
    absl::StatusOr<std::string> bytes = base::ReadWholeFile(*file);
    if (!bytes.ok()) {
      skip(*file, bytes.status().ToString());
      continue;
    }
    absl::StatusOr<Snapshot> snapshot = ledger::DecodeSnapshot(*bytes, options);
    if (!snapshot.ok()) {
      skip(*file, snapshot.status().ToString());
      continue;
    }
    const std::uint64_t named = *ParseFileName(file->filename().string());
    if (snapshot->state.events_applied() != named) {
      skip(*file, absl::StrCat("name says ", named, " events applied, content says ",
                               snapshot->state.events_applied()));
      continue;
    }
    return snapshot;
  }
  return absl::NotFoundError(
      absl::StrCat("snapshot store: no valid snapshot in ", dir_.string(), " (", passed_over, " skipped)"));
}

}  // namespace command_api
