// Stable 64-bit hashing: the same bytes hash the same on every machine, build
// and process (unlike absl::Hash or std::hash, which are seeded or
// unspecified). Used for command fingerprints and event ids, which are stored.
//
// Algorithm: FNV-1a 64 over the bytes, finished with the SplitMix64 mixer so
// nearby inputs spread over all bits.
#ifndef LEDGER_HASH_H_
#define LEDGER_HASH_H_

#include <cstdint>
#include <string_view>

namespace ledger {

class StableHasher {
 public:
  explicit StableHasher(std::uint64_t seed = 0) : state_(kOffset ^ seed) {}

  void AddBytes(std::string_view bytes) {
    for (char c : bytes) {
      state_ ^= static_cast<unsigned char>(c);
      state_ *= kPrime;
    }
  }
  // Length-prefixed, so ("ab","c") and ("a","bc") differ.
  void AddString(std::string_view s) {
    AddInt(static_cast<std::int64_t>(s.size()));
    AddBytes(s);
  }
  void AddInt(std::int64_t v) {
    auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) {
      state_ ^= (u >> (8 * i)) & 0xff;
      state_ *= kPrime;
    }
  }
  std::uint64_t Finish() const {
    std::uint64_t z = state_ + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  static constexpr std::uint64_t kOffset = 0xcbf29ce484222325ULL;
  static constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  std::uint64_t state_;
};

}  // namespace ledger

#endif  // LEDGER_HASH_H_
