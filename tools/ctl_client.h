// inventoryctl's client subcommands: writes, reads and the live stream over
// gRPC to a running inventoryd (--server), plus CSV imports and the demo seed
// through the command API. See docs/inventoryctl.md.
#ifndef TOOLS_CTL_CLIENT_H_
#define TOOLS_CTL_CLIENT_H_

#include <memory>
#include <optional>

#include "CLI/CLI.hpp"

namespace ctl {

// Exit status of the client subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;      // the service refused (gRPC code and Rejection printed)
inline constexpr int kExitUsage = 2;        // bad usage or input
inline constexpr int kExitUnreachable = 3;  // no answer from --server

class ClientCommands {
 public:
  // Adds item, warehouse, stock, reserve, commit, release, levels,
  // reservation, watch, import and seed to `app`.
  explicit ClientCommands(CLI::App& app);
  ~ClientCommands();
  ClientCommands(const ClientCommands&) = delete;
  ClientCommands& operator=(const ClientCommands&) = delete;

  // After app.parse: the exit status of the client subcommand that was
  // parsed, or nullopt when none of them was.
  std::optional<int> Run();

 private:
  struct Args;
  std::unique_ptr<Args> args_;
};

}  // namespace ctl

#endif  // TOOLS_CTL_CLIENT_H_
