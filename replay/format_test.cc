#include "replay/format.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/progress.h"

namespace replay {
namespace {

using ::testing::HasSubstr;

TEST(ParseTimeTest, AcceptsEpochMillisRfc3339AndDates) {
  EXPECT_EQ(ledger::EpochMs(*ParseTime("1772323200000")), 1'772'323'200'000);
  EXPECT_EQ(ledger::EpochMs(*ParseTime("2026-03-01")), 1'772'323'200'000);
  EXPECT_EQ(ledger::EpochMs(*ParseTime("2026-03-01T00:00:00Z")), 1'772'323'200'000);
  EXPECT_EQ(ledger::EpochMs(*ParseTime("2026-03-01T00:00:00")), 1'772'323'200'000) << "no zone: UTC";
  EXPECT_EQ(ledger::EpochMs(*ParseTime("2026-03-01T01:00:00.250+01:00")), 1'772'323'200'250);
  EXPECT_EQ(ledger::EpochMs(*ParseTime("2026-03-01t00:00:01z")), 1'772'323'201'000);
  EXPECT_EQ(FormatTime(ledger::AtEpochMs(1'772'323'200'250)), "2026-03-01T00:00:00.250Z");
  EXPECT_EQ(*ParseTime(FormatTime(ledger::AtEpochMs(1'772'323'200'250))), ledger::AtEpochMs(1'772'323'200'250));
}

TEST(ParseTimeTest, RefusesGarbageNamingTheForms) {
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-03-01T25:00:00Z", "-5", "12ms"}) {
    absl::StatusOr<ledger::TimeMs> t = ParseTime(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("RFC 3339")) << bad;
  }
}

TEST(ParsePositionsTest, NamedRecordsAreIncludedOthersContributeNothing) {
  absl::StatusOr<base::NextOffsets> b = ParsePositions("0:17,3:0", 4);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, (base::NextOffsets{18, 0, 0, 1}));
  EXPECT_EQ(FormatBounds(*b), "0:17,3:0");
}

TEST(ParsePositionsTest, RefusesBadListsNamingTheProblem) {
  EXPECT_THAT(std::string(ParsePositions("0:1,0:2", 4).status().message()), HasSubstr("named twice"));
  EXPECT_THAT(std::string(ParsePositions("4:1", 4).status().message()), HasSubstr("the log has 4"));
  for (const char* bad : {"", "0", "0:", ":1", "a:1", "0:-1", "0:1,", "0:1;1:2"}) {
    EXPECT_EQ(ParsePositions(bad, 4).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(CsvFieldTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField(" padded"), "\" padded\"");
  EXPECT_EQ(CsvField(""), "");
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonString("\n\t\x01"), "\"\\n\\t\\u0001\"");
  EXPECT_EQ(JsonString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(JsonString("\b\f"), "\"\\b\\f\"");  // base/json_text.h, as the public events
}

TEST(RowWriterTest, WritesCsvJsonlAndText) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  {
    RowWriter csv(out, TableFormat::kCsv, {"a", "b"});
    csv.Write({Cell::Str("x,y"), Cell::Num(-3)});
    RowWriter jsonl(out, TableFormat::kJsonl, {"a", "b"});
    jsonl.Write({Cell::Str("q\""), Cell::Num(5)});
    jsonl.Write({Cell::Null(), Cell::Num(6)});
    RowWriter text(out, TableFormat::kText, {"a", "b"});
    text.Write({Cell::Str("v"), Cell::Num(1)});
  }
  std::fclose(out);
  EXPECT_EQ(std::string(buffer, size),
            "a,b\n\"x,y\",-3\n{\"a\":\"q\\\"\",\"b\":5}\n{\"b\":6}\n"
            "a         b\nv         1\n");
  std::free(buffer);
  EXPECT_EQ(ParseTableFormat("xml").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProgressBarTest, RendersRateAndEta) {
  const std::string line = ProgressBar::Render("audit", 5'000'000, 10'000'000, 4.0, 10);
  EXPECT_EQ(line, "audit [#####     ]  50% 5000000/10000000  1.25M/s  ETA 4s");
  EXPECT_THAT(ProgressBar::Render("x", 0, 10, 0.0, 4), HasSubstr("ETA ?"));
}

TEST(ProgressBarTest, OffWritesNothing) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  {
    ProgressBar bar(out, ProgressMode::kOff, "audit");
    bar.Update(1, 2);
    bar.Finish();
  }
  std::fclose(out);
  EXPECT_EQ(size, 0u);
  std::free(buffer);
}

}  // namespace
}  // namespace replay
