// The command role when its writer is fenced (command-api/command_role.h):
// the log refusing appends for good (FaultLog::FenceFromNow, as KafkaLog once
// a newer writer took the transactional id) turns the health of
// CommandService and of the whole server NOT_SERVING and fenced() non-OK,
// whether the health service is attached before or after; a transient
// UNAVAILABLE does neither. The process exit built on fenced() is
// tests/fenced_writer_test.py's.
#include "command-api/command_role.h"

#include <gmock/gmock.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "base/testing/temp_dir.h"
#include "eventlog/memory_log.h"
#include "eventlog/testing/fault_log.h"

namespace command_api {
namespace {

constexpr char kCommandService[] = "inventory.v1.CommandService";
constexpr char kQueryService[] = "inventory.v1.QueryService";

// Records what the role sets, as grpc's default health service would serve it.
class RecordingHealth final : public grpc::HealthCheckServiceInterface {
 public:
  RecordingHealth() {
    for (const char* name : {"", kCommandService, kQueryService}) serving_[name] = true;
  }
  void SetServingStatus(const std::string& service_name, bool serving) override {
    std::lock_guard<std::mutex> lock(mu_);
    serving_[service_name] = serving;
  }
  void SetServingStatus(bool serving) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, value] : serving_) value = serving;
  }
  bool serving(const std::string& service_name) {
    std::lock_guard<std::mutex> lock(mu_);
    return serving_.at(service_name);
  }

 private:
  std::mutex mu_;
  std::map<std::string, bool> serving_;
};

class CommandRoleFenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<eventlog::MemoryLog>> log = eventlog::MemoryLog::Open({});
    ASSERT_TRUE(log.ok()) << log.status();
    memory_ = std::move(*log);
    faults_ = std::make_unique<eventlog::FaultLog>(memory_.get());
    CommandRoleOptions options;
    options.snapshot_dir = temp_ / "snapshots";
    absl::StatusOr<std::unique_ptr<CommandRole>> role = CommandRole::Start(faults_.get(), &clock_, options);
    ASSERT_TRUE(role.ok()) << role.status();
    role_ = std::move(*role);
  }
  void TearDown() override {
    if (role_) role_->Stop();
  }

  // Submits a warehouse registration and returns its answer.
  absl::Status Register(const std::string& code) {
    ledger::Command command;
    command.meta.command_id = ledger::CommandId("register-" + code);
    command.meta.actor = "command-role-test";
    command.body = ledger::RegisterWarehouse{ledger::WarehouseCode(code), code, "eu", 1, true};
    auto answer = std::make_shared<std::promise<absl::Status>>();
    absl::Status submitted = role_->writer()->Submit(
        std::move(command), [answer](const WriteResult& r, const ledger::State&) { answer->set_value(r.status); });
    if (!submitted.ok()) return submitted;
    std::future<absl::Status> future = answer->get_future();
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      return absl::DeadlineExceededError("no answer");
    }
    return future.get();
  }

  static void ExpectNamesTheFencing(const absl::Status& status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("fenced by another writer")) << status;
  }

  base::TempDir temp_{"command_role_test"};
  base::ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<eventlog::MemoryLog> memory_;
  std::unique_ptr<eventlog::FaultLog> faults_;
  std::unique_ptr<CommandRole> role_;
  RecordingHealth health_;
};

TEST_F(CommandRoleFenceTest, FencingTurnsTheCommandAndOverallHealthNotServing) {
  role_->ReportHealthTo(&health_);
  ASSERT_TRUE(Register("WH-1").ok());
  EXPECT_TRUE(role_->fenced().ok());
  EXPECT_TRUE(health_.serving(""));

  faults_->FenceFromNow();
  ExpectNamesTheFencing(Register("WH-2"));  // the append that met the fencing
  ExpectNamesTheFencing(Register("WH-3"));  // refused at Submit
  ExpectNamesTheFencing(role_->fenced());
  EXPECT_FALSE(health_.serving(kCommandService));
  EXPECT_FALSE(health_.serving(""));
  EXPECT_TRUE(health_.serving(kQueryService)) << "reads of this process's views are still right until it exits";
}

TEST_F(CommandRoleFenceTest, HealthAttachedAfterTheFencingIsNotServingAtOnce) {
  faults_->FenceFromNow();
  ExpectNamesTheFencing(Register("WH-1"));
  EXPECT_TRUE(health_.serving(kCommandService));
  role_->ReportHealthTo(&health_);
  EXPECT_FALSE(health_.serving(kCommandService));
  EXPECT_FALSE(health_.serving(""));
}

TEST_F(CommandRoleFenceTest, ATransientAppendFailureIsNotAFencing) {
  role_->ReportHealthTo(&health_);
  faults_->FailNext(2);
  EXPECT_EQ(Register("WH-1").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Register("WH-1").code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(role_->fenced().ok());
  EXPECT_TRUE(health_.serving(kCommandService));
  EXPECT_TRUE(health_.serving(""));
  EXPECT_TRUE(Register("WH-1").ok()) << "the retry with the same command id is applied";
}

}  // namespace
}  // namespace command_api
