// Opaque page tokens for the List* calls.
//
// A token resumes a scan right after the last key a page returned. It is bound
// to the method and to the request's filters, so a token handed to another
// method or reused with different filters is refused rather than silently
// skipping or repeating rows. Tokens are not secrets: they carry keys the
// caller could read anyway.
//
// Thread-safety: pure functions.
#ifndef QUERY_API_PAGE_TOKEN_H_
#define QUERY_API_PAGE_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace query_api {

enum class PageKind : uint8_t {
  kItems = 1,
  kReservations = 2,
  kMovements = 3,
  kWarehouseLevels = 4,
};

// A fingerprint of the request's filters (not its page size or token).
class FilterHash {
 public:
  FilterHash& Add(std::string_view s);
  FilterHash& Add(int64_t v);
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 14695981039346656037ULL;
};

std::string EncodePageToken(PageKind kind, uint64_t filter_hash, std::string_view last_key);

// The last key of the previous page ("" for an empty token: start at the
// beginning). INVALID_ARGUMENT naming page_token when the token is malformed,
// of another method, or was issued for other filters.
absl::StatusOr<std::string> DecodePageToken(std::string_view token, PageKind kind, uint64_t filter_hash);

}  // namespace query_api

#endif  // QUERY_API_PAGE_TOKEN_H_
