// For tests: issues commands one second apart with fresh command ids, and
// applies those that must be accepted (ASSERT on a rejection).
//
// Thread-safety: one test thread.
#ifndef LEDGER_TESTING_COMMAND_DRIVER_H_
#define LEDGER_TESTING_COMMAND_DRIVER_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/command.h"
#include "ledger/evolve.h"
#include "ledger/state.h"

namespace ledger::test_support {

// Drives one or more states with the same commands.
class CommandDriver {
 public:
  static constexpr TimeMs kStartMs = AtEpochMs(1'700'000'000'000);

  Command Next(CommandBody body) {
    now_ms_ += std::chrono::seconds{1};
    return Command{{CommandId(absl::StrCat("c-", ++seq_)), now_ms_, "test", ""}, std::move(body)};
  }
  // Applies a command that must be accepted.
  void Must(State& state, CommandBody body) {
    Decision d = DecideAndApply(state, Next(std::move(body)));
    ASSERT_TRUE(d.accepted()) << "command " << seq_ << ": " << d.rejection->message;
  }
  void Advance(DurationMs by) { now_ms_ += by; }
  TimeMs now_ms() const { return now_ms_; }

 private:
  std::uint64_t seq_ = 0;
  TimeMs now_ms_ = kStartMs;
};

}  // namespace ledger::test_support

#endif  // LEDGER_TESTING_COMMAND_DRIVER_H_
