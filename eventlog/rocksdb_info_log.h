// RocksDB's informational log sent to the process's log (spdlog) instead of
// a LOG file in the database directory.
//
// Why: RocksDB writes its LOG file on the same disk as the data. When that
// disk is full, the LOG file's writer fails first, and the next message
// RocksDB logs about the failure (from its error handler, inside the write
// that hit ENOSPC) trips an assertion in WritableFileWriter in builds with
// assertions on, as Debian's librocksdb is: the process aborts instead of
// answering UNAVAILABLE. Messages in the process log also reach whatever
// collects the service's output, one place for operators to look.
//
// RocksDB's DEBUG, INFO and HEADER lines (many per flush and compaction, and
// the options dump at open) go to spdlog at debug, WARN to warn, ERROR and
// FATAL to error. The logger drops below WARN unless spdlog's level is debug
// or lower when it is made, so routine lines cost no formatting. Processes
// whose stdout is a protocol must send spdlog elsewhere (stderr).
//
// Thread-safety: RocksDB calls Logv from any of its threads; spdlog's default
// logger is thread-safe.
#ifndef EVENTLOG_ROCKSDB_INFO_LOG_H_
#define EVENTLOG_ROCKSDB_INFO_LOG_H_

#include <memory>
#include <string_view>

#include "rocksdb/env.h"

namespace eventlog {

// A logger for rocksdb::DBOptions::info_log; `name` ("event log",
// "read models") prefixes each line.
std::shared_ptr<rocksdb::Logger> RocksDbInfoLog(std::string_view name);

}  // namespace eventlog

#endif  // EVENTLOG_ROCKSDB_INFO_LOG_H_
