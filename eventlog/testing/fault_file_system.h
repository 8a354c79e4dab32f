// A rocksdb::FileSystem for tests that forwards to another (the default: the
// real disk) and injects disk faults into every file opened for writing:
//  * Set(DiskFault::kSyncFails): Sync and Fsync fail with EIO (the data was
//    handed to the OS; whether it reached the disk is unknown, as with a real
//    failed fsync). Appends still succeed.
//  * Set(DiskFault::kWritesFail): Append and Sync fail with EIO; nothing new
//    reaches the file.
//  * Set(DiskFault::kFull): Append and Sync fail with ENOSPC, as a full disk.
//  * Set(DiskFault::kNone): the disk works again.
//  * PowerLoss(): from now on every write and sync fails and writes nothing
//    (the machine is off). Close the database, then DropUnsyncedData()
//    truncates every file written through this file system to what its last
//    successful Sync/Fsync covered, and deletes files created here that were
//    never synced: what survives a power cut. Set(kNone) turns the power back
//    on. Renames and directory entries are taken as durable (RocksDB syncs
//    the directory after each rename it depends on).
// Reads, listings and deletions go straight to the wrapped file system.
// faults() counts the calls that failed because of an injected fault.
//
// Thread-safety: the controls may be called from any thread; RocksDB calls the
// file methods from its own threads.
#ifndef EVENTLOG_TESTING_FAULT_FILE_SYSTEM_H_
#define EVENTLOG_TESTING_FAULT_FILE_SYSTEM_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "rocksdb/file_system.h"

namespace eventlog {

enum class DiskFault : std::uint8_t { kNone, kSyncFails, kWritesFail, kFull };

class FaultFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFileSystem(std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());

  static const char* kClassName() { return "InventoryFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  void Set(DiskFault fault);
  void PowerLoss();
  // REQUIRES: no database open on this file system.
  void DropUnsyncedData();
  std::uint64_t faults() const { return faults_.load(); }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

 private:
  class File;
  friend class File;

  // What a file write may do now: OK, or the injected error for `op`.
  rocksdb::IOStatus Check(bool is_sync);
  rocksdb::IOStatus Wrap(const std::string& fname, rocksdb::IOStatus opened, bool created,
                         std::unique_ptr<rocksdb::FSWritableFile>* result);
  void OnSynced(const std::string& fname, std::uint64_t size);

  std::atomic<DiskFault> fault_{DiskFault::kNone};
  std::atomic<bool> power_off_{false};
  std::atomic<std::uint64_t> faults_{0};

  struct Tracked {
    std::uint64_t synced = 0;  // bytes covered by the last successful sync
    bool created = false;      // created through this file system
    bool ever_synced = false;
  };
  std::mutex mu_;
  std::map<std::string, Tracked> files_;  // guarded by mu_
};

}  // namespace eventlog

#endif  // EVENTLOG_TESTING_FAULT_FILE_SYSTEM_H_
