#include "base/json_text.h"

#include <string>

#include "gtest/gtest.h"

namespace base {
namespace {

TEST(JsonText, EscapesQuoteAndBackslash) {
  EXPECT_EQ(JsonString("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonString(""), R"("")");
}

TEST(JsonText, EscapesEveryControlCharacter) {
  EXPECT_EQ(JsonString("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(JsonString(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(JsonString("\x0b\x1b"), R"("\u000b\u001b")");
  // Every byte below 0x20 is escaped: none survives raw.
  for (int c = 0; c < 0x20; ++c) {
    const std::string escaped = JsonString(std::string(1, static_cast<char>(c)));
    EXPECT_EQ(escaped.find(static_cast<char>(c)), std::string::npos) << c;
    EXPECT_EQ(escaped[1], '\\') << c;
  }
}

TEST(JsonText, PassesUtf8AndDelThrough) {
  EXPECT_EQ(JsonString("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6\"");
  EXPECT_EQ(JsonString("\x7f"), "\"\x7f\"");
  EXPECT_EQ(JsonString(" ~"), R"(" ~")");
}

TEST(JsonText, AppendsToWhatIsThere) {
  std::string out = "{\"k\":";
  AppendJsonString(&out, "v\n");
  EXPECT_EQ(out, R"({"k":"v\n")");
}

TEST(JsonText, FormatsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339Ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Ms(1'772'323'200'250), "2026-03-01T00:00:00.250Z");
  EXPECT_EQ(FormatRfc3339Ms(1'772'366'401'007), "2026-03-01T12:00:01.007Z");
  EXPECT_EQ(FormatRfc3339Ms(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace base
