// Byte layout of a page token before base64url (no padding):
//   token := magic:'P' version:0x01 kind:u8 filter_hash:fixed64be last_key:bytes
#include "query-api/page_token.h"

#include "absl/strings/escaping.h"
#include "base/coding.h"
#include "base/status.h"

namespace query_api {
namespace {

constexpr char kMagic = 'P';
constexpr char kVersion = 1;
constexpr size_t kHeaderBytes = 3 + 8;

}  // namespace

FilterHash& FilterHash::Add(std::string_view s) {
  // FNV-1a over the length then the bytes, so ("ab","") != ("a","b").
  Add(static_cast<int64_t>(s.size()));
  for (unsigned char c : s) {
    h_ ^= c;
    h_ *= 1099511628211ULL;
  }
  return *this;
}

FilterHash& FilterHash::Add(int64_t v) {
  for (int i = 0; i < 8; ++i) {
    h_ ^= static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i));
    h_ *= 1099511628211ULL;
  }
  return *this;
}

std::string EncodePageToken(PageKind kind, uint64_t filter_hash, std::string_view last_key) {
  std::string raw;
  raw.reserve(kHeaderBytes + last_key.size());
  raw.push_back(kMagic);
  raw.push_back(kVersion);
  raw.push_back(static_cast<char>(kind));
  base::PutFixed64Be(&raw, filter_hash);
  raw.append(last_key);
  std::string out;
  absl::WebSafeBase64Escape(base::AsAbsl(raw), &out);
  return out;
}

absl::StatusOr<std::string> DecodePageToken(std::string_view token, PageKind kind, uint64_t filter_hash) {
  if (token.empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(base::AsAbsl(token), &raw) || raw.size() <= kHeaderBytes || raw[0] != kMagic ||
      raw[1] != kVersion) {
    return base::InvalidField("page_token", "malformed; pass back next_page_token exactly as returned");
  }
  if (raw[2] != static_cast<char>(kind)) {
    return base::InvalidField("page_token", "was issued by another method");
  }
  if (base::DecodeFixed64Be(raw.data() + 3) != filter_hash) {
    return base::InvalidField("page_token", "was issued for different filters; keep the filters while paging");
  }
  return raw.substr(kHeaderBytes);
}

}  // namespace query_api
