// Stable 64-bit hashing: the same bytes hash the same on every machine, build
// and process (unlike absl::Hash or std::hash, which are seeded or
// unspecified). Used for command fingerprints and event ids, which are stored.
//
// Algorithm: the input is consumed as 64-bit little-endian words (a short
// tail is zero-padded, and strings are length-prefixed); each word is folded
// with state = (state ^ word) * K; state ^= state >> 29, and the result is
// finished with the SplitMix64 mixer so nearby inputs spread over all bits.
// Changing any of this changes stored fingerprints and event ids: don't.
#ifndef LEDGER_HASH_H_
#define LEDGER_HASH_H_

#include <cstdint>
#include <string_view>
#include <utility>

namespace ledger {

class StableHasher {
 public:
  explicit StableHasher(std::uint64_t seed = 0) : state_(kOffset ^ seed) {}

  void AddBytes(std::string_view bytes) {
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) Mix(LoadLittle(bytes.data() + i, 8));
    if (i < bytes.size()) Mix(LoadLittle(bytes.data() + i, bytes.size() - i));
  }
  // Length-prefixed, so ("ab","c") and ("a","bc") differ.
  void AddString(std::string_view s) {
    AddInt(static_cast<std::int64_t>(s.size()));
    AddBytes(s);
  }
  void AddInt(std::int64_t v) { Mix(static_cast<std::uint64_t>(v)); }
  std::uint64_t Finish() const {
    std::uint64_t z = state_ + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  static constexpr std::uint64_t kOffset = 0xcbf29ce484222325ULL;
  static constexpr std::uint64_t kMultiplier = 0x9e3779b97f4a7c15ULL;

  // Byte order made explicit so the hash is the same on any host.
  static std::uint64_t LoadLittle(const char* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
  }
  void Mix(std::uint64_t word) {
    state_ = (state_ ^ word) * kMultiplier;
    state_ ^= state_ >> 29;
  }

  std::uint64_t state_;
};

// Two independent 64-bit hashes of one string, for a 128-bit name; the seeds
// pick which names a caller gets (never change a caller's seeds).
inline std::pair<std::uint64_t, std::uint64_t> StableHash128(std::string_view s, std::uint64_t seed_hi,
                                                             std::uint64_t seed_lo) {
  StableHasher hi(seed_hi), lo(seed_lo);
  hi.AddString(s);
  lo.AddString(s);
  return {hi.Finish(), lo.Finish()};
}

}  // namespace ledger

#endif  // LEDGER_HASH_H_
