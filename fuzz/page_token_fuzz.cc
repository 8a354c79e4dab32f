// libFuzzer target: page tokens (query-api/page_token.h), which clients hand
// back verbatim and may tamper with.
//
// Input: one byte choosing the method (PageKind), eight bytes of filter hash,
// then the token text. Properties: no crash or sanitizer report; a refusal is
// INVALID_ARGUMENT naming page_token; an accepted token carries a key that
// re-encodes to a token decoding to the same key, and is refused by any
// other method and for any other filters.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "query-api/page_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  auto kind = static_cast<query_api::PageKind>(1 + data[0] % 4);
  uint64_t filter_hash = 0;
  std::memcpy(&filter_hash, data + 1, sizeof filter_hash);
  std::string_view token(reinterpret_cast<const char*>(data + 9), size - 9);
  absl::StatusOr<std::string> key = query_api::DecodePageToken(token, kind, filter_hash);
  if (!key.ok()) {
    FUZZ_CHECK(key.status().code() == absl::StatusCode::kInvalidArgument, "a bad token is INVALID_ARGUMENT");
    FUZZ_CHECK(key.status().message().find("page_token") != std::string_view::npos, "the refusal names page_token");
    return 0;
  }
  if (token.empty()) {
    FUZZ_CHECK(key->empty(), "the empty token starts at the beginning");
    return 0;
  }
  std::string again = query_api::EncodePageToken(kind, filter_hash, *key);
  absl::StatusOr<std::string> round = query_api::DecodePageToken(again, kind, filter_hash);
  FUZZ_CHECK(round.ok() && *round == *key, "a re-encoded token decodes to the same key");
  auto other_kind = static_cast<query_api::PageKind>(1 + (data[0] + 1) % 4);
  FUZZ_CHECK(!query_api::DecodePageToken(token, other_kind, filter_hash).ok(), "another method refuses the token");
  FUZZ_CHECK(!query_api::DecodePageToken(token, kind, filter_hash ^ 1).ok(), "other filters refuse the token");
  return 0;
}
