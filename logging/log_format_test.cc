// Log lines in both formats: JSON one object per line with escaped text and
// the scoped fields; text with key=value fields.
#include "logging/log_format.h"

#include <gtest/gtest.h>

#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace logging {
namespace {

std::string LogOnce(LogFormat format, const std::function<void(spdlog::logger&)>& body) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(MakeFormatter(format, "command"));
  spdlog::logger logger("inventoryd", sink);
  body(logger);
  return out.str();
}

TEST(LogFormatTest, JsonIsOneObjectPerLineWithFields) {
  std::string line = LogOnce(LogFormat::kJson, [](spdlog::logger& l) {
    ScopedLogFields outer({{"command_id", "c-1"}});
    ScopedLogFields inner({{"sku", "MUG \"blue\""}});
    l.warn("line one\nline two");
  });
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
  EXPECT_NE(line.find("\"level\":\"warning\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"role\":\"command\""), std::string::npos);
  EXPECT_NE(line.find("\"message\":\"line one\\nline two\""), std::string::npos);
  EXPECT_NE(line.find("\"command_id\":\"c-1\",\"sku\":\"MUG \\\"blue\\\"\"}"), std::string::npos) << line;
  EXPECT_EQ(line.rfind("{\"time\":\"", 0), 0u);
}

TEST(LogFormatTest, FieldsEndWithTheirScope) {
  std::string lines = LogOnce(LogFormat::kText, [](spdlog::logger& l) {
    {
      ScopedLogFields f({{"trace_id", "abc"}});
      l.info("inside");
    }
    l.info("outside");
  });
  EXPECT_NE(lines.find("inside trace_id=abc\n"), std::string::npos) << lines;
  EXPECT_NE(lines.find("outside\n"), std::string::npos);
  EXPECT_EQ(lines.find("outside trace_id"), std::string::npos);
}

TEST(LogFormatTest, ParseNamesTheBadValue) {
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_NE(ParseLogFormat("xml").status().message().find("'xml'"), std::string::npos);
}

TEST(LogFormatTest, JsonEscapeHandlesControlCharacters) {
  EXPECT_EQ(JsonEscape(std::string("a\x01" "b\\", 4)), "a\\u0001b\\\\");
}

}  // namespace
}  // namespace logging
