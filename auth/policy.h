// Who may call what: principals hold roles, roles allow gRPC methods.
//
// Policy file (`--auth-policy`), one statement a line, `#` starts a comment:
//   role  <role> <method> [<method> ...]     the methods a role allows
//   grant <principal> <role>[,<role> ...]    roles held by a principal
// A method is a full gRPC method name (`/inventory.v1.CommandService/CreateItem`)
// or a prefix ending in `*` (`/inventory.v1.QueryService/*`). A `role` line
// replaces that role's default; roles not named keep the defaults below.
// Granting an undefined role is an error, as is any malformed line (named by
// file and line number).
//
// Default roles (DefaultRoles()):
//   admin    CreateItem UpdateItem DeleteItem BulkCreateItems BulkUpdateItems
//            CreateWarehouse UpdateWarehouse AdjustInventory (receive, adjust, count) TransferInventory
//            BlockSales UnblockSales ExpireReservation (an operator's, now)
//   orders   CheckAndReserveStock BulkReserveStock ReserveStream CommitReservation
//            ReleaseReservedStock ExtendReservation
//   reader   every QueryService method, streams included
//   auditor  every QueryService method (history export: ListMovements)
//
// API key file (`--auth-api-keys`): only SHA-256 hashes of the keys, never the keys:
//   sha256:<64 lowercase hex> <principal> [<role>[,<role> ...]]
// Roles listed on a key line are held in addition to the policy's grants.
//
// Thread-safety: immutable after parsing; share freely.
#ifndef AUTH_POLICY_H_
#define AUTH_POLICY_H_

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace auth {

inline constexpr std::string_view kCommandServicePrefix = "/inventory.v1.CommandService/";
inline constexpr std::string_view kQueryServicePrefix = "/inventory.v1.QueryService/";

// Writes are rate-limited apart from reads.
enum class MethodKind { kRead, kWrite };
MethodKind KindOf(std::string_view method);

struct Identity {
  std::string principal;
  std::set<std::string> roles;
};

class Policy {
 public:
  // The default roles, no grants.
  Policy();
  // `source` names the text in errors (a file path).
  static absl::StatusOr<Policy> Parse(std::string_view text, std::string_view source);

  // Roles granted to `principal` by `grant` lines.
  std::set<std::string> RolesOf(const std::string& principal) const;
  // OK, or PERMISSION_DENIED naming principal and method.
  absl::Status Authorize(const Identity& identity, std::string_view method) const;
  bool HasRole(const std::string& role) const { return roles_.count(role) != 0; }

 private:
  std::map<std::string, std::vector<std::string>> roles_;  // role -> method patterns
  std::map<std::string, std::set<std::string>> grants_;     // principal -> roles
};

std::map<std::string, std::vector<std::string>> DefaultRoles();

// sha256 hex of the key -> identity.
using ApiKeys = std::map<std::string, Identity>;
absl::StatusOr<ApiKeys> ParseApiKeys(std::string_view text, std::string_view source, const Policy& policy);
// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace auth

#endif  // AUTH_POLICY_H_
