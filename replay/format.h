// Text in and out for inventoryctl: times, position vectors, CSV fields and
// JSON strings, and a row writer that streams one table as CSV, JSON Lines or
// aligned text.
//
// Formats:
//   time      := epoch_ms | date | date "T" hh ":" mm ":" ss ["." fraction] [zone]
//   epoch_ms  := digit+                       (Unix epoch milliseconds)
//   date      := yyyy "-" mm "-" dd           (midnight UTC)
//   zone      := "Z" | ("+" | "-") hh ":" mm  (none = UTC)
//   positions := position ("," position)*
//   position  := partition ":" offset         (that record included)
// CSV follows RFC 4180: a field holding a comma, quote, CR or LF (or leading
// or trailing spaces) is quoted, quotes doubled; lines end in "\n".
// JSON strings and times are base/json_text.h's: quote, backslash and every
// control character escaped, other bytes unchanged.
//
// Thread-safety: pure functions; a RowWriter is used by one thread.
#ifndef REPLAY_FORMAT_H_
#define REPLAY_FORMAT_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/log_position.h"
#include "ledger/types.h"

namespace replay {

// INVALID_ARGUMENT naming the accepted forms when `text` is neither.
absl::StatusOr<ledger::TimeMs> ParseTime(std::string_view text);
// "2026-03-01T12:00:00.000Z" (base::FormatRfc3339Ms).
std::string FormatTime(ledger::TimeMs t);

// Exclusive per-partition bounds ("next offset") of a position list: each
// named record is included; partitions not named contribute nothing.
// INVALID_ARGUMENT on syntax, an unknown partition or a repeated partition.
absl::StatusOr<base::NextOffsets> ParsePositions(std::string_view text, uint32_t partition_count);
// "0:17,1:4": the inverse of ParsePositions for bounds > 0.
std::string FormatBounds(const base::NextOffsets& bounds);

std::string CsvField(std::string_view value);
// A quoted JSON string (base::JsonString).
std::string JsonString(std::string_view value);

enum class TableFormat : uint8_t { kText, kCsv, kJsonl };
// "text", "csv", "jsonl"; INVALID_ARGUMENT otherwise.
absl::StatusOr<TableFormat> ParseTableFormat(std::string_view name);

// A cell: text, or a number written unquoted in JSON.
struct Cell {
  enum class Type : uint8_t { kString, kNumber, kNull } type = Type::kNull;
  std::string text;
  static Cell Str(std::string s) { return {Type::kString, std::move(s)}; }
  static Cell Num(int64_t v) { return {Type::kNumber, std::to_string(v)}; }
  static Cell Null() { return {}; }
};

// Streams rows of fixed columns to a FILE* (not owned). CSV writes a header
// line; JSON Lines writes one object per row (null cells omitted); text pads
// each column to the header's width (min 8) and writes a header.
class RowWriter {
 public:
  RowWriter(std::FILE* out, TableFormat format, std::vector<std::string> columns);
  // REQUIRES: cells.size() == columns.size().
  void Write(const std::vector<Cell>& cells);
  // False when a write to `out` failed.
  bool ok() const;

 private:
  std::FILE* out_;
  TableFormat format_;
  std::vector<std::string> columns_;
  std::vector<size_t> widths_;
  std::string line_;
};

}  // namespace replay

#endif  // REPLAY_FORMAT_H_
