// Authentication on the command service, in one process: a real gRPC server
// over the single writer and a MemoryLog, with an Authenticator holding API
// key hashes and a policy. Every CommandService method without credentials,
// with a wrong key and with a key of the wrong role is refused with the right
// code and appends nothing; an admitted call records the principal as the
// actor, not context.actor; the write rate limit answers RESOURCE_EXHAUSTED
// with grpc-retry-pushback-ms.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "auth/authenticator.h"
#include "base/clock.h"
#include "command-api/command_service.h"
#include "command-api/writer.h"
#include "eventlog/memory_log.h"
#include "gtest/gtest.h"
#include "ledger/codec.h"
#include "proto/command_service.grpc.pb.h"

namespace {

namespace pb = inventory::v1;
using Stub = pb::CommandService::Stub;

constexpr std::int64_t kStartMs = 1'700'000'000'000;

// One call per CommandService method.
using Call = std::function<grpc::Status(Stub*, grpc::ClientContext*)>;

template <typename Req>
void SetContext(Req& req) {
  static int next_id = 0;
  req.mutable_context()->set_command_id(absl::StrCat("cmd-", ++next_id));
  req.mutable_context()->set_actor("body-actor");
}

template <typename Req, typename Resp>
Call Make(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), Req req) {
  if constexpr (!std::is_same_v<Req, pb::BulkReserveStockRequest>) SetContext(req);
  return [method, req](Stub* stub, grpc::ClientContext* ctx) {
    Resp resp;
    return (stub->*method)(ctx, req, &resp);
  };
}

// Sends `requests` on one ReserveStream, half-closes, reads every answer
// (into `answers` when given) and returns the stream's status.
grpc::Status StreamAll(Stub* stub, grpc::ClientContext* ctx, const std::vector<pb::CheckAndReserveStockRequest>& requests,
                       std::vector<pb::ReserveStreamAnswer>* answers) {
  auto stream = stub->ReserveStream(ctx);
  for (const auto& r : requests) {
    if (!stream->Write(r)) break;
  }
  stream->WritesDone();
  pb::ReserveStreamResponse resp;
  while (stream->Read(&resp)) {
    if (answers) answers->insert(answers->end(), resp.answers().begin(), resp.answers().end());
  }
  return stream->Finish();
}

grpc::Status StreamOne(Stub* stub, grpc::ClientContext* ctx, const pb::CheckAndReserveStockRequest& request,
                       std::vector<pb::ReserveStreamAnswer>* answers) {
  return StreamAll(stub, ctx, {request}, answers);
}

std::vector<std::pair<std::string, Call>> Methods() {
  pb::CreateWarehouseRequest warehouse;
  warehouse.mutable_warehouse()->set_warehouse("BER-1");
  warehouse.mutable_warehouse()->set_name("Berlin");
  pb::CreateItemRequest item;
  item.mutable_item()->set_sku("MUG");
  item.mutable_item()->set_name("Mug");
  pb::BulkCreateItemsRequest bulk_items;
  *bulk_items.add_items() = item.item();
  pb::BulkUpdateItemsRequest bulk_updates;
  bulk_updates.add_updates()->set_sku("MUG");
  pb::UpdateItemRequest update;
  update.set_sku("MUG");
  pb::UpdateWarehouseRequest update_warehouse;
  update_warehouse.set_warehouse("BER-1");
  pb::DeleteItemRequest del;
  del.set_sku("MUG");
  pb::AdjustInventoryRequest adjust;
  adjust.set_sku("MUG");
  adjust.set_warehouse("BER-1");
  pb::TransferInventoryRequest transfer;
  transfer.set_sku("MUG");
  pb::CheckAndReserveStockRequest reserve;
  reserve.set_order_id("o-1");
  reserve.add_lines()->set_sku("MUG");
  SetContext(reserve);
  pb::BulkReserveStockRequest bulk_reserve;
  *bulk_reserve.add_reservations() = reserve;
  pb::CommitReservationRequest commit;
  commit.set_reservation_id("r-1");
  pb::ReleaseReservedStockRequest release;
  release.set_reservation_id("r-1");
  return {
      {"CreateWarehouse", Make(&Stub::CreateWarehouse, warehouse)},
      {"UpdateWarehouse", Make(&Stub::UpdateWarehouse, update_warehouse)},
      {"CreateItem", Make(&Stub::CreateItem, item)},
      {"UpdateItem", Make(&Stub::UpdateItem, update)},
      {"DeleteItem", Make(&Stub::DeleteItem, del)},
      {"BulkCreateItems", Make(&Stub::BulkCreateItems, bulk_items)},
      {"BulkUpdateItems", Make(&Stub::BulkUpdateItems, bulk_updates)},
      {"AdjustInventory", Make(&Stub::AdjustInventory, adjust)},
      {"TransferInventory", Make(&Stub::TransferInventory, transfer)},
      {"CheckAndReserveStock", Make(&Stub::CheckAndReserveStock, reserve)},
      {"BulkReserveStock", Make(&Stub::BulkReserveStock, bulk_reserve)},
      {"ReserveStream", [reserve](Stub* stub, grpc::ClientContext* ctx) { return StreamOne(stub, ctx, reserve, nullptr); }},
      {"CommitReservation", Make(&Stub::CommitReservation, commit)},
      {"ReleaseReservedStock", Make(&Stub::ReleaseReservedStock, release)},
  };
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("auth_service_test_", getpid());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "keys") << "sha256:" << auth::Sha256Hex("admin-key") << " ops admin\n"
                                 << "sha256:" << auth::Sha256Hex("reader-key") << " dashboard reader\n"
                                 << "sha256:" << auth::Sha256Hex("shop-key") << " shop orders\n";
    auth::AuthOptions options{.api_keys_file = (dir_ / "keys").string(),
                              .rate = {.writes = {.per_second = 1, .burst = 3}}};
    auto authenticator = auth::Authenticator::Create(options, &clock_);
    ASSERT_TRUE(authenticator.ok()) << authenticator.status();
    authenticator_ = std::move(*authenticator);
    auto log = eventlog::MemoryLog::Open(eventlog::MemoryLogOptions{});
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    auto writer = command_api::Writer::Open(log_.get(), nullptr, &clock_, command_api::WriterOptions{});
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = std::move(*writer);
    service_ = std::make_unique<command_api::CommandServiceImpl>(
        writer_.get(), command_api::CommandServiceOptions{.authenticator = authenticator_.get()});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = pb::CommandService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (writer_) writer_->Stop();
    if (log_) {
      EXPECT_TRUE(log_->Close().ok());
    }
    std::filesystem::remove_all(dir_);
  }
  base::NextOffsets EndOffsets() { return *log_->EndOffsets(); }
  grpc::Status Run(const Call& call, const std::string& key_header, const std::string& key,
                   std::multimap<std::string, std::string>* trailers = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!key_header.empty()) ctx.AddMetadata(key_header, key);
    grpc::Status s = call(stub_.get(), &ctx);
    // Copied: the string_refs point into ctx, which dies here.
    if (trailers) {
      for (const auto& [name, value] : ctx.GetServerTrailingMetadata()) {
        trailers->emplace(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
      }
    }
    return s;
  }

  std::filesystem::path dir_;
  base::ManualClock clock_{kStartMs};
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<eventlog::MemoryLog> log_;
  std::unique_ptr<command_api::Writer> writer_;
  std::unique_ptr<command_api::CommandServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(AuthServiceTest, EveryMethodRefusedWithoutValidCredentialsAndNothingAppended) {
  base::NextOffsets before = EndOffsets();
  for (const auto& [name, call] : Methods()) {
    EXPECT_EQ(Run(call, "", "").error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    EXPECT_EQ(Run(call, "x-api-key", "not-a-key").error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    EXPECT_EQ(Run(call, "authorization", "Bearer a.b.c").error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    grpc::Status denied = Run(call, "x-api-key", "reader-key");
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << name;
    EXPECT_NE(denied.error_message().find("/inventory.v1.CommandService/" + name), std::string::npos) << name;
  }
  EXPECT_EQ(EndOffsets(), before);
  EXPECT_EQ(authenticator_->counters().permission_denied.load(), 14);
  EXPECT_EQ(authenticator_->counters().unauthenticated.load(), 42);
}

TEST_F(AuthServiceTest, ActorIsThePrincipalAndWritesAreRateLimited) {
  auto methods = Methods();
  ASSERT_TRUE(Run(methods[0].second, "x-api-key", "admin-key").ok());  // CreateWarehouse
  std::vector<eventlog::StoredRecord> events;
  for (std::uint32_t p = 0; p < log_->partition_count(); ++p) {
    auto records = log_->Read(p, 0, 10);
    ASSERT_TRUE(records.ok());
    events.insert(events.end(), records->begin(), records->end());
  }
  ASSERT_EQ(events.size(), 1u);
  auto event = ledger::Decode(events[0].payload);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->envelope.actor, "ops");  // not "body-actor"
  ASSERT_TRUE(Run(methods[0].second, "x-api-key", "admin-key").ok());  // a duplicate
  Run(methods[2].second, "x-api-key", "admin-key");  // admitted whatever its outcome: the burst of 3 is used
  base::NextOffsets before = EndOffsets();
  std::multimap<std::string, std::string> trailers;
  grpc::Status limited = Run(methods[0].second, "x-api-key", "admin-key", &trailers);
  EXPECT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << limited.error_message();
  auto pushback = trailers.find(auth::kRetryPushbackKey);
  ASSERT_NE(pushback, trailers.end());
  EXPECT_EQ(pushback->second, "1000");
  EXPECT_EQ(EndOffsets(), before);
  clock_.Advance(1000);
  EXPECT_EQ(Run(methods[0].second, "x-api-key", "admin-key").error_code(), grpc::StatusCode::OK);  // a token again: a duplicate
}

// A stream is one call at its start; each message after the first is
// charged to the same write bucket, so a stream cannot outrun the rate limit.
// A refused message is answered in its place and the stream goes on.
TEST_F(AuthServiceTest, ReserveStreamMessagesAreRateLimitedOneByOne) {
  std::vector<pb::CheckAndReserveStockRequest> requests;
  for (int i = 0; i < 5; ++i) {
    pb::CheckAndReserveStockRequest r;
    r.set_order_id(absl::StrCat("o-", i));
    r.add_lines()->set_sku("MUG");
    r.mutable_lines(0)->set_quantity(1);
    SetContext(r);
    requests.push_back(r);
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ctx.AddMetadata("x-api-key", "shop-key");
  std::vector<pb::ReserveStreamAnswer> answers;
  grpc::Status status = StreamAll(stub_.get(), &ctx, requests, &answers);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(answers.size(), requests.size());
  for (std::size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].command_id(), requests[i].context().command_id()) << i;
    // The burst of 3: the stream's start and messages 2 and 3 (to an
    // unknown item: admitted, then refused by the ledger); 4 and 5 are over.
    int want = i < 3 ? static_cast<int>(grpc::StatusCode::NOT_FOUND) : static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(answers[i].result().code(), want) << i << ": " << answers[i].ShortDebugString();
  }
  EXPECT_NE(answers[3].result().error().find("rate limit for \"shop\""), std::string::npos) << answers[3].result().error();
  EXPECT_EQ(authenticator_->counters().rate_limited.load(), 2);
}

}  // namespace
