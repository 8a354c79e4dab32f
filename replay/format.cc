#include "replay/format.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cinttypes>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "base/json_text.h"
#include "base/status.h"

namespace replay {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <typename T>
bool ParseUnsigned(std::string_view s, T* out) {
  if (!AllDigits(s)) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

absl::StatusOr<ledger::TimeMs> ParseTime(std::string_view text) {
  int64_t ms = 0;
  if (ParseUnsigned(text, &ms)) return ledger::AtEpochMs(ms);
  const std::string input(text);
  // With zone, fraction optional; without zone (UTC); date only.
  static constexpr const char* kFormats[] = {"%Y-%m-%d%ET%H:%M:%E*S%Ez", "%Y-%m-%d%ET%H:%M:%E*S", "%Y-%m-%d"};
  for (const char* format : kFormats) {
    absl::Time t;
    std::string error;
    if (absl::ParseTime(format, input, absl::UTCTimeZone(), &t, &error))
      return ledger::AtEpochMs(absl::ToUnixMillis(t));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "time '", base::AsAbsl(text),
      "' is neither epoch milliseconds nor RFC 3339 / ISO 8601 (2026-03-01, 2026-03-01T12:00:00Z, "
      "2026-03-01T12:00:00.250+01:00)"));
}

std::string FormatTime(ledger::TimeMs t) { return base::FormatRfc3339Ms(ledger::EpochMs(t)); }

absl::StatusOr<base::NextOffsets> ParsePositions(std::string_view text, uint32_t partition_count) {
  base::NextOffsets bounds = base::NextOffsets::Zero(partition_count);
  std::vector<bool> seen(partition_count, false);
  if (text.empty()) return absl::InvalidArgumentError("position list is empty; want partition:offset[,...]");
  for (absl::string_view part : absl::StrSplit(base::AsAbsl(text), ',')) {
    std::string_view item = base::AsStd(part);
    const size_t colon = item.find(':');
    uint32_t partition = 0;
    uint64_t offset = 0;
    if (colon == std::string_view::npos || !ParseUnsigned(item.substr(0, colon), &partition) ||
        !ParseUnsigned(item.substr(colon + 1), &offset)) {
      return absl::InvalidArgumentError(absl::StrCat("position '", base::AsAbsl(item), "' is not partition:offset"));
    }
    if (partition >= partition_count) {
      return absl::InvalidArgumentError(
          absl::StrCat("position '", base::AsAbsl(item), "' names partition ", partition, "; the log has ", partition_count));
    }
    if (seen[partition]) return absl::InvalidArgumentError(absl::StrCat("partition ", partition, " named twice"));
    if (offset == UINT64_MAX) return absl::InvalidArgumentError(absl::StrCat("offset of '", base::AsAbsl(item), "' too large"));
    seen[partition] = true;
    bounds[partition] = offset + 1;
  }
  return bounds;
}

std::string FormatBounds(const base::NextOffsets& bounds) {
  std::string out;
  for (uint32_t p = 0; p < bounds.size(); ++p) {
    if (bounds[p] == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : ",", p, ":", bounds[p] - 1);
  }
  return out;
}

std::string CsvField(std::string_view value) {
  const bool quote = value.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string JsonString(std::string_view value) { return base::JsonString(value); }

absl::StatusOr<TableFormat> ParseTableFormat(std::string_view name) {
  if (name == "text") return TableFormat::kText;
  if (name == "csv") return TableFormat::kCsv;
  if (name == "jsonl") return TableFormat::kJsonl;
  return absl::InvalidArgumentError(absl::StrCat("format '", base::AsAbsl(name), "' is not one of text, csv, jsonl"));
}

RowWriter::RowWriter(std::FILE* out, TableFormat format, std::vector<std::string> columns)
    : out_(out), format_(format), columns_(std::move(columns)) {
  if (format_ == TableFormat::kCsv) {
    for (size_t i = 0; i < columns_.size(); ++i) absl::StrAppend(&line_, i == 0 ? "" : ",", CsvField(columns_[i]));
  } else if (format_ == TableFormat::kText) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      widths_.push_back(std::max<size_t>(columns_[i].size(), 8));
      std::string cell = columns_[i];
      cell.resize(widths_[i], ' ');
      absl::StrAppend(&line_, i == 0 ? "" : "  ", cell);
    }
  }
  if (format_ != TableFormat::kJsonl) {
    while (!line_.empty() && line_.back() == ' ') line_.pop_back();
    line_.push_back('\n');
    std::fwrite(line_.data(), 1, line_.size(), out_);
  }
}

void RowWriter::Write(const std::vector<Cell>& cells) {
  INV_CHECK(cells.size() == columns_.size()) << cells.size() << " cells for " << columns_.size() << " columns";
  line_.clear();
  switch (format_) {
    case TableFormat::kCsv:
      for (size_t i = 0; i < cells.size(); ++i) absl::StrAppend(&line_, i == 0 ? "" : ",", CsvField(cells[i].text));
      break;
    case TableFormat::kJsonl: {
      line_.push_back('{');
      bool first = true;
      for (size_t i = 0; i < cells.size(); ++i) {
        if (cells[i].type == Cell::Type::kNull) continue;
        absl::StrAppend(&line_, first ? "" : ",", JsonString(columns_[i]), ":",
                        cells[i].type == Cell::Type::kNumber ? cells[i].text : JsonString(cells[i].text));
        first = false;
      }
      line_.push_back('}');
      break;
    }
    case TableFormat::kText:
      for (size_t i = 0; i < cells.size(); ++i) {
        std::string cell = cells[i].text;
        if (cell.size() < widths_[i]) cell.resize(widths_[i], ' ');
        absl::StrAppend(&line_, i == 0 ? "" : "  ", cell);
      }
      while (!line_.empty() && line_.back() == ' ') line_.pop_back();
      break;
  }
  line_.push_back('\n');
  std::fwrite(line_.data(), 1, line_.size(), out_);
}

bool RowWriter::ok() const { return std::ferror(out_) == 0; }

}  // namespace replay
