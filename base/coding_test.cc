#include "base/coding.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace base {
namespace {

std::string Bytes(std::initializer_list<unsigned char> bytes) {
  std::string out;
  for (unsigned char b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(Coding, BigEndianPutsTheMostSignificantByteFirst) {
  std::string out;
  PutFixed32Be(&out, 0x01020304u);
  EXPECT_EQ(out, Bytes({0x01, 0x02, 0x03, 0x04}));
  PutFixed64Be(&out, 0x05060708090a0b0cULL);
  EXPECT_EQ(out, Bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c}));
  EXPECT_EQ(DecodeFixed32Be(out.data()), 0x01020304u);
  EXPECT_EQ(DecodeFixed64Be(out.data() + 4), 0x05060708090a0b0cULL);

  char buf[8];
  EncodeFixed64Be(buf, 0xf1f2f3f4f5f6f7f8ULL);
  EXPECT_EQ(std::string(buf, 8), Bytes({0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8}));
  EncodeFixed32Be(buf, 0xfffefdfcu);
  EXPECT_EQ(std::string(buf, 4), Bytes({0xff, 0xfe, 0xfd, 0xfc}));
}

TEST(Coding, LittleEndianPutsTheLeastSignificantByteFirst) {
  char buf[12];
  EncodeFixed32(buf, 0x01020304u);
  EncodeFixed64(buf + 4, 0xf1f2f3f4f5f6f7f8ULL);
  EXPECT_EQ(std::string(buf, 12), Bytes({0x04, 0x03, 0x02, 0x01, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4, 0xf3, 0xf2, 0xf1}));
  EXPECT_EQ(DecodeFixed32(buf), 0x01020304u);
  EXPECT_EQ(DecodeFixed64(buf + 4), 0xf1f2f3f4f5f6f7f8ULL);
}

TEST(Coding, RoundTripsEdgeValuesInBothOrders) {
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0x80}, std::uint64_t{0xff},
                          std::uint64_t{0x7fffffff}, std::uint64_t{0x80000000}, std::uint64_t{0xffffffff},
                          std::uint64_t{1} << 63, std::numeric_limits<std::uint64_t>::max(), std::uint64_t{0x0123456789abcdefULL}}) {
    SCOPED_TRACE(v);
    char buf[8];
    EncodeFixed64(buf, v);
    EXPECT_EQ(DecodeFixed64(buf), v);
    EncodeFixed64Be(buf, v);
    EXPECT_EQ(DecodeFixed64Be(buf), v);
    const auto v32 = static_cast<std::uint32_t>(v);
    EncodeFixed32(buf, v32);
    EXPECT_EQ(DecodeFixed32(buf), v32);
    std::string s;
    PutFixed32Be(&s, v32);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(DecodeFixed32Be(s.data()), v32);
  }
}

// Why keys are big-endian: bytewise comparison then orders by number.
TEST(Coding, BigEndianBytesSortLikeTheirNumbers) {
  std::uint64_t previous = 0;
  std::string previous_bytes;
  PutFixed64Be(&previous_bytes, previous);
  for (std::uint64_t v : {std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{256}, std::uint64_t{65536},
                          std::uint64_t{1} << 40, std::numeric_limits<std::uint64_t>::max()}) {
    std::string bytes;
    PutFixed64Be(&bytes, v);
    EXPECT_LT(previous_bytes, bytes) << previous << " vs " << v;
    previous = v;
    previous_bytes = bytes;
  }
}

}  // namespace
}  // namespace base
