// export round-trips: what export writes, a CSV reader (RFC 4180) or a JSON
// parser (simdjson) reads back cell for cell, awkward text included.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "eventlog/rocksdb_log.h"
#include "replay/rows.h"
#include "replay/test_history.h"
#include "simdjson.h"

namespace replay {
namespace {

// A strict RFC 4180 reader: fields, quoted fields with doubled quotes and
// embedded newlines, "\n" line ends.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      rows.back().push_back(std::move(field));
      field.clear();
      rows.emplace_back();
    } else {
      field.push_back(c);
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote";
  EXPECT_TRUE(rows.back().empty() && field.empty()) << "last line not terminated";
  rows.pop_back();
  return rows;
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = testing::OpenTestLog(dir_, 3);
    history_ = std::make_unique<testing::HistoryGenerator>(log_.get());
    history_->Generate(300, 0);
    for (const testing::LoggedEvent& e : history_->events()) expected_[e.position] = EventRow(e.position, e.event);
  }

  std::string Export(TableFormat format) {
    char* buffer = nullptr;
    size_t size = 0;
    std::FILE* out = ::open_memstream(&buffer, &size);
    {
      RowWriter writer(out, format, EventColumns());
      absl::StatusOr<FoldResult> result = ExportEvents(*log_, writer);
      EXPECT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->records_read, history_->events().size());
      EXPECT_EQ(result->violations_total, 0u);
    }
    std::fclose(out);
    std::string text(buffer, size);
    std::free(buffer);
    return text;
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::RocksDbLog> log_;
  std::unique_ptr<testing::HistoryGenerator> history_;
  std::map<eventlog::LogPosition, std::vector<Cell>> expected_;
};

TEST_F(ExportTest, CsvRoundTripsEveryEventCellForCell) {
  const std::vector<std::vector<std::string>> rows = ParseCsv(Export(TableFormat::kCsv));
  ASSERT_EQ(rows.size(), history_->events().size() + 1);
  EXPECT_EQ(rows[0], EventColumns());
  bool saw_awkward = false;
  for (size_t r = 1; r < rows.size(); ++r) {
    ASSERT_EQ(rows[r].size(), EventColumns().size()) << "row " << r;
    const eventlog::LogPosition position{static_cast<uint32_t>(std::stoul(rows[r][0])), std::stoull(rows[r][1])};
    ASSERT_TRUE(expected_.contains(position)) << rows[r][0] << ":" << rows[r][1];
    const std::vector<Cell>& cells = expected_[position];
    for (size_t c = 0; c < cells.size(); ++c) {
      EXPECT_EQ(rows[r][c], cells[c].text) << "row " << r << " column " << EventColumns()[c];
      saw_awkward |= cells[c].text.find_first_of(",\"\\") != std::string::npos;
    }
    expected_.erase(position);
  }
  EXPECT_TRUE(expected_.empty()) << expected_.size() << " events not exported";
  EXPECT_TRUE(saw_awkward) << "the history must exercise quoting";
}

TEST_F(ExportTest, JsonLinesRoundTripEveryEventFieldForField) {
  const std::string text = Export(TableFormat::kJsonl);
  simdjson::ondemand::parser parser;
  size_t lines = 0;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    simdjson::padded_string line(text.substr(start, end - start));
    start = end + 1;
    ++lines;
    simdjson::ondemand::document doc = parser.iterate(line);
    simdjson::ondemand::object object = doc.get_object();
    std::map<std::string, std::string> fields;
    for (auto field : object) {
      std::string key(std::string_view(field.unescaped_key().value()));
      simdjson::ondemand::value value = field.value();
      if (value.type() == simdjson::ondemand::json_type::string) {
        fields[key] = std::string(std::string_view(value.get_string().value()));
      } else {
        fields[key] = std::to_string(int64_t(value.get_int64().value()));
      }
    }
    const eventlog::LogPosition position{static_cast<uint32_t>(std::stoul(fields["partition"])),
                                       std::stoull(fields["offset"])};
    ASSERT_TRUE(expected_.contains(position));
    const std::vector<Cell>& cells = expected_[position];
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string& column = EventColumns()[c];
      if (cells[c].type == Cell::Type::kNull) {
        EXPECT_FALSE(fields.contains(column)) << column;
      } else {
        EXPECT_EQ(fields[column], cells[c].text) << column;
      }
    }
    expected_.erase(position);
  }
  EXPECT_EQ(lines, history_->events().size());
  EXPECT_TRUE(expected_.empty());
}

TEST_F(ExportTest, LevelsCsvRoundTripsTheFoldedState) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  {
    RowWriter writer(out, TableFormat::kCsv, LevelColumns());
    WriteLevels(history_->state(), {}, writer);
  }
  std::fclose(out);
  const std::vector<std::vector<std::string>> rows = ParseCsv(std::string(buffer, size));
  std::free(buffer);
  ASSERT_GT(rows.size(), 1u);
  size_t levels = 0;
  for (const ledger::ItemState& item : history_->state().items()) levels += item.levels.size();
  EXPECT_EQ(rows.size(), levels + 1);
  for (size_t r = 1; r < rows.size(); ++r) {
    const ledger::StockLevel l = history_->state().Level(ledger::Sku(rows[r][0]), ledger::WarehouseCode(rows[r][1]));
    EXPECT_EQ(rows[r][2], std::to_string(l.on_hand));
    EXPECT_EQ(rows[r][3], std::to_string(l.reserved));
    EXPECT_EQ(rows[r][4], std::to_string(l.available()));
    EXPECT_EQ(rows[r][5], std::to_string(l.incoming));
    if (r > 1) {
      EXPECT_LT(rows[r - 1][0] + "\x01" + rows[r - 1][1], rows[r][0] + "\x01" + rows[r][1]) << "sorted";
    }
  }
}

}  // namespace
}  // namespace replay
