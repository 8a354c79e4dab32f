#include "eventlog/testing/fault_file_system.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

namespace eventlog {

// A writable file that asks its file system before every write and sync and
// reports each successful sync's size.
class FaultFileSystem::File final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  File(FaultFileSystem* fs, std::string name, std::unique_ptr<rocksdb::FSWritableFile> target, std::uint64_t size)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), name_(std::move(name)), size_(size) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus allowed = fs_->Check(/*is_sync=*/false);
    if (!allowed.ok()) return allowed;
    rocksdb::IOStatus s = target()->Append(data, options, dbg);
    if (s.ok()) size_ += data.size();
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& /*verification*/, rocksdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus allowed = fs_->Check(/*is_sync=*/false);
    if (!allowed.ok()) return allowed;
    rocksdb::IOStatus s = target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok()) size_ = std::max<std::uint64_t>(size_, offset + data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& /*verification*/,
                                     rocksdb::IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus Truncate(std::uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus allowed = fs_->Check(/*is_sync=*/false);
    if (!allowed.ok()) return allowed;
    rocksdb::IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) size_ = size;
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return Synced(target()->Sync(options, dbg));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return Synced(target()->Fsync(options, dbg));
  }
  rocksdb::IOStatus RangeSync(std::uint64_t offset, std::uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    // A hint to start writeback, not a durability point: allowed or refused
    // like a sync, never counted as one.
    rocksdb::IOStatus allowed = fs_->Check(/*is_sync=*/true);
    if (!allowed.ok()) return allowed;
    return target()->RangeSync(offset, nbytes, options, dbg);
  }

 private:
  rocksdb::IOStatus Synced(rocksdb::IOStatus inner) {
    // The OS got the data before the sync was asked for: with kSyncFails it
    // is in the file (and may or may not survive a power cut).
    rocksdb::IOStatus allowed = fs_->Check(/*is_sync=*/true);
    if (!allowed.ok()) return allowed;
    if (inner.ok()) fs_->OnSynced(name_, size_);
    return inner;
  }

  FaultFileSystem* const fs_;
  const std::string name_;
  std::uint64_t size_;
};

FaultFileSystem::FaultFileSystem(std::shared_ptr<rocksdb::FileSystem> base) : FileSystemWrapper(std::move(base)) {}

void FaultFileSystem::Set(DiskFault fault) {
  fault_.store(fault);
  if (fault == DiskFault::kNone) power_off_.store(false);
}

void FaultFileSystem::PowerLoss() { power_off_.store(true); }

rocksdb::IOStatus FaultFileSystem::Check(bool is_sync) {
  rocksdb::IOStatus refused;
  if (power_off_.load()) {
    refused = rocksdb::IOStatus::IOError("injected fault: the power is off");
  } else {
    switch (fault_.load()) {
      case DiskFault::kNone:
        return rocksdb::IOStatus::OK();
      case DiskFault::kSyncFails:
        if (!is_sync) return rocksdb::IOStatus::OK();
        refused = rocksdb::IOStatus::IOError("injected fault: fsync failed (EIO)");
        break;
      case DiskFault::kWritesFail:
        refused = rocksdb::IOStatus::IOError("injected fault: write failed (EIO)");
        break;
      case DiskFault::kFull:
        refused = rocksdb::IOStatus::NoSpace("injected fault: No space left on device (ENOSPC)");
        break;
    }
  }
  faults_.fetch_add(1);
  return refused;
}

rocksdb::IOStatus FaultFileSystem::Wrap(const std::string& fname, rocksdb::IOStatus opened, bool created,
                                        std::unique_ptr<rocksdb::FSWritableFile>* result) {
  if (!opened.ok()) return opened;
  std::uint64_t size = 0;
  if (!created) {
    std::error_code ec;
    size = std::filesystem::file_size(fname, ec);
    if (ec) size = 0;
  }
  {
    std::lock_guard lock(mu_);
    Tracked& t = files_[fname];
    if (created) t = Tracked{.synced = 0, .created = true, .ever_synced = false};
    if (!created && !t.created) t.synced = size;  // a file from before: its bytes are on disk
  }
  *result = std::make_unique<File>(this, fname, std::move(*result), size);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FaultFileSystem::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   rocksdb::IODebugContext* dbg) {
  if (power_off_.load()) return Check(false);
  return Wrap(fname, target()->NewWritableFile(fname, options, result, dbg), /*created=*/true, result);
}

rocksdb::IOStatus FaultFileSystem::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                      rocksdb::IODebugContext* dbg) {
  if (power_off_.load()) return Check(false);
  return Wrap(fname, target()->ReopenWritableFile(fname, options, result, dbg), /*created=*/false, result);
}

rocksdb::IOStatus FaultFileSystem::ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                                     const rocksdb::FileOptions& options,
                                                     std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                     rocksdb::IODebugContext* dbg) {
  if (power_off_.load()) return Check(false);
  return Wrap(fname, target()->ReuseWritableFile(fname, old_fname, options, result, dbg), /*created=*/true, result);
}

rocksdb::IOStatus FaultFileSystem::RenameFile(const std::string& src, const std::string& target_name,
                                              const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
  if (power_off_.load()) return Check(false);
  rocksdb::IOStatus s = target()->RenameFile(src, target_name, options, dbg);
  if (s.ok()) {
    std::lock_guard lock(mu_);
    auto it = files_.find(src);
    if (it != files_.end()) {
      files_[target_name] = it->second;
      files_.erase(src);
    }
  }
  return s;
}

rocksdb::IOStatus FaultFileSystem::DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                                              rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->DeleteFile(fname, options, dbg);
  if (s.ok()) {
    std::lock_guard lock(mu_);
    files_.erase(fname);
  }
  return s;
}

void FaultFileSystem::OnSynced(const std::string& fname, std::uint64_t size) {
  std::lock_guard lock(mu_);
  Tracked& t = files_[fname];
  t.synced = size;
  t.ever_synced = true;
}

void FaultFileSystem::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  for (const auto& [name, t] : files_) {
    std::error_code ec;
    if (t.created && !t.ever_synced) {
      std::filesystem::remove(name, ec);
    } else if (std::filesystem::exists(name, ec) && std::filesystem::file_size(name, ec) > t.synced) {
      std::filesystem::resize_file(name, t.synced, ec);
    }
  }
  files_.clear();
}

}  // namespace eventlog
