#include "auth/policy.h"

#include <openssl/evp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace auth {
namespace {

using base::AsAbsl;

bool Matches(std::string_view pattern, std::string_view method) {
  if (!pattern.empty() && pattern.back() == '*') {
    return method.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  }
  return pattern == method;
}

std::vector<std::string> Methods(std::string_view prefix, std::initializer_list<const char*> names) {
  std::vector<std::string> out;
  for (const char* name : names) out.push_back(absl::StrCat(AsAbsl(prefix), name));
  return out;
}

absl::Status LineError(std::string_view source, std::size_t line, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ":", line, ": ", AsAbsl(problem)));
}

// The non-empty, comment-stripped lines of `text`, with their 1-based numbers.
std::vector<std::pair<std::size_t, std::vector<std::string>>> Statements(std::string_view text) {
  std::vector<std::pair<std::size_t, std::vector<std::string>>> out;
  std::size_t number = 0;
  for (absl::string_view line : absl::StrSplit(AsAbsl(text), '\n')) {
    ++number;
    line = line.substr(0, line.find('#'));
    std::vector<std::string> words = absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (!words.empty()) out.emplace_back(number, std::move(words));
  }
  return out;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= ' ' || c == ',' || c == '#') return false;
  }
  return true;
}

absl::StatusOr<std::set<std::string>> RoleList(std::string_view list, const Policy& policy, std::string_view source,
                                              std::size_t line) {
  std::set<std::string> roles;
  for (absl::string_view role : absl::StrSplit(AsAbsl(list), ',')) {
    if (!policy.HasRole(std::string(role))) {
      return LineError(source, line, absl::StrCat("unknown role \"", role, "\""));
    }
    roles.insert(std::string(role));
  }
  return roles;
}

}  // namespace

MethodKind KindOf(std::string_view method) {
  return method.substr(0, kCommandServicePrefix.size()) == kCommandServicePrefix ? MethodKind::kWrite
                                                                                 : MethodKind::kRead;
}

std::map<std::string, std::vector<std::string>> DefaultRoles() {
  std::string queries = absl::StrCat(AsAbsl(kQueryServicePrefix), "*");
  return {
      {"admin", Methods(kCommandServicePrefix, {"CreateItem", "UpdateItem", "DeleteItem", "BulkCreateItems",
                                                "BulkUpdateItems", "CreateWarehouse", "UpdateWarehouse", "AdjustInventory",
                                                "TransferInventory", "BlockSales", "UnblockSales", "ExpireReservation"})},
      {"orders", Methods(kCommandServicePrefix,
                         {"CheckAndReserveStock", "BulkReserveStock", "ReserveStream", "CommitReservation",
                          "ReleaseReservedStock", "ExtendReservation"})},
      {"reader", {queries}},
      {"auditor", {queries}},
  };
}

Policy::Policy() : roles_(DefaultRoles()) {}

absl::StatusOr<Policy> Policy::Parse(std::string_view text, std::string_view source) {
  Policy policy;
  auto statements = Statements(text);
  std::set<std::string> redefined;
  for (const auto& [line, words] : statements) {  // roles first: grants may precede them
    if (words[0] != "role") continue;
    if (words.size() < 3 || !ValidName(words[1])) return LineError(source, line, "expected: role <role> <method>...");
    if (!redefined.insert(words[1]).second) return LineError(source, line, absl::StrCat("role ", words[1], " defined twice"));
    std::vector<std::string> methods(words.begin() + 2, words.end());
    for (const std::string& m : methods) {
      if (m.empty() || m[0] != '/') return LineError(source, line, absl::StrCat("method \"", m, "\" must start with /"));
    }
    policy.roles_[words[1]] = std::move(methods);
  }
  for (const auto& [line, words] : statements) {
    if (words[0] == "role") continue;
    if (words[0] != "grant") return LineError(source, line, absl::StrCat("unknown statement \"", words[0], "\""));
    if (words.size() != 3 || !ValidName(words[1])) return LineError(source, line, "expected: grant <principal> <role>[,<role>]");
    ASSIGN_OR_RETURN(std::set<std::string> roles, RoleList(words[2], policy, source, line));
    policy.grants_[words[1]].insert(roles.begin(), roles.end());
  }
  return policy;
}

std::set<std::string> Policy::RolesOf(const std::string& principal) const {
  auto it = grants_.find(principal);
  return it == grants_.end() ? std::set<std::string>() : it->second;
}

absl::Status Policy::Authorize(const Identity& identity, std::string_view method) const {
  for (const std::string& role : identity.roles) {
    auto it = roles_.find(role);
    if (it == roles_.end()) continue;
    for (const std::string& pattern : it->second) {
      if (Matches(pattern, method)) return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("principal \"", identity.principal, "\" may not call ", AsAbsl(method)));
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

absl::StatusOr<ApiKeys> ParseApiKeys(std::string_view text, std::string_view source, const Policy& policy) {
  ApiKeys keys;
  for (const auto& [line, words] : Statements(text)) {
    if (words.size() < 2 || words.size() > 3) {
      return LineError(source, line, "expected: sha256:<hex> <principal> [<role>[,<role>]]");
    }
    std::string_view hash = words[0];
    bool hex = hash.size() == 7 + 64 && hash.substr(0, 7) == "sha256:";
    for (char c : hash.substr(hex ? 7 : 0)) hex = hex && (absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'));
    if (!hex) return LineError(source, line, "key must be sha256: and 64 lowercase hex digits (the hash, not the key)");
    if (!ValidName(words[1])) return LineError(source, line, "invalid principal");
    Identity identity{words[1], policy.RolesOf(words[1])};
    if (words.size() == 3) {
      ASSIGN_OR_RETURN(std::set<std::string> roles, RoleList(words[2], policy, source, line));
      identity.roles.insert(roles.begin(), roles.end());
    }
    if (!keys.emplace(std::string(hash.substr(7)), std::move(identity)).second) {
      return LineError(source, line, "the same key hash appears twice");
    }
  }
  return keys;
}

}  // namespace auth
