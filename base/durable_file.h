// Small files written so a crash leaves either the old content or the new,
// never a torn mix: the snapshot store's snapshots, the publisher's position.
//
// WriteFileDurably(path, bytes):
//   1. write `bytes` to <path>.tmp (created or truncated), every byte, with
//      EINTR and short writes handled;
//   2. fsync it, close it (a deferred write error may surface at close);
//   3. rename it over `path`;
//   4. fsync the directory, so the rename itself survives a power loss.
// Any failure is UNAVAILABLE naming the step and the file, with errno's text;
// the temporary file may be left behind (callers that care clean it up).
//
// Thread-safety: free functions; two writers of the same path at once race on
// its temporary file, so callers keep one writer per path.
#ifndef BASE_DURABLE_FILE_H_
#define BASE_DURABLE_FILE_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace base {

// The temporary name WriteFileDurably writes before its rename: <path>.tmp.
std::filesystem::path TempPathFor(const std::filesystem::path& path);

absl::Status WriteFileDurably(const std::filesystem::path& path, std::string_view bytes);

// fsync of a directory (its entries: creates, renames, removes). An empty
// path is the current directory.
absl::Status SyncDirectory(const std::filesystem::path& dir);

// The whole content of `path`. NOT_FOUND if it does not exist; other
// failures UNAVAILABLE naming the file.
absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path);

}  // namespace base

#endif  // BASE_DURABLE_FILE_H_
