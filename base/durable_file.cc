#include "base/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace base {
namespace {

absl::Status IoError(std::string_view op, const std::filesystem::path& path, int error) {
  const std::string message =
      absl::StrCat(std::string(op), " ", path.string(), ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  return absl::UnavailableError(message);
}

// Closes a file descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, reporting the error a deferred write may surface here.
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

absl::Status WriteAndSync(const std::filesystem::path& path, std::string_view bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return IoError("open", path, errno);
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("write", path, errno);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return IoError("fsync", path, errno);
  if (fd.Close() != 0) return IoError("close", path, errno);
  return absl::OkStatus();
}

}  // namespace

std::filesystem::path TempPathFor(const std::filesystem::path& path) { return path.string() + ".tmp"; }

absl::Status WriteFileDurably(const std::filesystem::path& path, std::string_view bytes) {
  const std::filesystem::path temp = TempPathFor(path);
  if (absl::Status written = WriteAndSync(temp, bytes); !written.ok()) return written;
  if (::rename(temp.c_str(), path.c_str()) != 0) return IoError("rename", temp, errno);
  return SyncDirectory(path.parent_path());
}

absl::Status SyncDirectory(const std::filesystem::path& dir) {
  const std::filesystem::path target = dir.empty() ? std::filesystem::path(".") : dir;
  Fd fd(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("open", target, errno);
  if (::fsync(fd.get()) != 0) return IoError("fsync", target, errno);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("open", path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("stat", path, errno);
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("read", path, errno);
    if (n == 0) break;  // shrank while reading: the caller's decoder reports the truncation
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace base
