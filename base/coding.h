// Fixed-width integer coding, as LevelDB's util/coding.h: the one place that
// turns integers into bytes of a stated order and back, for every byte
// format we own (the embedded log's keys and chunks, snapshot headers, read
// model keys and values, the publisher's position file, page tokens, event
// ids). Each format's grammar, at the top of the file that encodes it, says
// which width and order a field has:
//   fixed32 / fixed64      little-endian (snapshot headers)
//   fixed32be / fixed64be  big-endian: bytewise order is numeric order, so
//                          keys sort by number in RocksDB
// Byte order is explicit, so the bytes are the same on any host.
//
// Encode* write to `dst`, Put* append to a string, Decode* read from `src`.
// REQUIRES: `dst` / `src` hold at least 4 (fixed32) or 8 (fixed64) bytes;
// callers check lengths first, as their grammars demand.
//
// Thread-safety: pure functions.
#ifndef BASE_CODING_H_
#define BASE_CODING_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace base {

namespace coding_internal {

template <typename T>
inline void EncodeLittle(char* dst, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
template <typename T>
inline T DecodeLittle(const char* src) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<unsigned char>(src[i])) << (8 * i);
  return v;
}
template <typename T>
inline void EncodeBig(char* dst, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) dst[i] = static_cast<char>((v >> (8 * (sizeof(T) - 1 - i))) & 0xff);
}
template <typename T>
inline T DecodeBig(const char* src) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | static_cast<unsigned char>(src[i]));
  return v;
}
template <typename T>
inline void PutBig(std::string* dst, T v) {
  char buf[sizeof(T)];
  EncodeBig(buf, v);
  dst->append(buf, sizeof(T));
}

}  // namespace coding_internal

// Little-endian.
inline void EncodeFixed32(char* dst, std::uint32_t v) { coding_internal::EncodeLittle(dst, v); }
inline void EncodeFixed64(char* dst, std::uint64_t v) { coding_internal::EncodeLittle(dst, v); }
inline std::uint32_t DecodeFixed32(const char* src) { return coding_internal::DecodeLittle<std::uint32_t>(src); }
inline std::uint64_t DecodeFixed64(const char* src) { return coding_internal::DecodeLittle<std::uint64_t>(src); }

// Big-endian.
inline void EncodeFixed32Be(char* dst, std::uint32_t v) { coding_internal::EncodeBig(dst, v); }
inline void EncodeFixed64Be(char* dst, std::uint64_t v) { coding_internal::EncodeBig(dst, v); }
inline void PutFixed32Be(std::string* dst, std::uint32_t v) { coding_internal::PutBig(dst, v); }
inline void PutFixed64Be(std::string* dst, std::uint64_t v) { coding_internal::PutBig(dst, v); }
inline std::uint32_t DecodeFixed32Be(const char* src) { return coding_internal::DecodeBig<std::uint32_t>(src); }
inline std::uint64_t DecodeFixed64Be(const char* src) { return coding_internal::DecodeBig<std::uint64_t>(src); }

}  // namespace base

#endif  // BASE_CODING_H_
