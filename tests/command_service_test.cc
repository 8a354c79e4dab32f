// The command service end to end inside one process: a real gRPC server on
// 127.0.0.1:0 over the single writer, a MemoryLog and a ManualClock, driven
// through real CommandService stubs. Covers every method, every rejection's
// gRPC code, field path and Rejection metadata, that rejections append
// nothing, consistency tokens, oversell under concurrency, idempotency under
// concurrency, expiry by the manual clock, and bulk reservation.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "command-api/command_service.h"
#include "command-api/expiry.h"
#include "command-api/translate.h"
#include "command-api/writer.h"
#include "gtest/gtest.h"
#include "ledger/codec.h"
#include "ledger/event.h"
#include "eventlog/memory_log.h"
#include "proto/command_service.grpc.pb.h"

namespace {

namespace pb = inventory::v1;
using command_api::CommandServiceImpl;
using command_api::ExpiryScheduler;
using command_api::Writer;
using command_api::WriterOptions;
using Stub = pb::CommandService::Stub;

constexpr std::int64_t kStartMs = 1'700'000'000'000;
constexpr auto kRpcDeadline = std::chrono::seconds(10);

// What one unary call returned.
template <typename Resp>
struct Outcome {
  grpc::Status status;
  Resp resp;
  std::optional<pb::Rejection> rejection;  // from "inventory-rejection-bin"
};

template <typename Req, typename Resp>
Outcome<Resp> CallStub(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                       const Req& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  Outcome<Resp> out;
  out.status = (stub->*method)(&ctx, req, &out.resp);
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(command_api::kRejectionMetadataKey);
  if (it != trailers.end()) {
    pb::Rejection rejection;
    EXPECT_TRUE(rejection.ParseFromString(std::string(it->second.data(), it->second.size())));
    out.rejection = rejection;
  }
  return out;
}

pb::CommandContext Context(const std::string& command_id) {
  pb::CommandContext c;
  c.set_command_id(command_id);
  c.set_actor("tester");
  return c;
}

pb::CheckAndReserveStockRequest ReserveRequest(const std::string& command_id,
                                               const std::vector<std::pair<std::string, std::int64_t>>& lines,
                                               std::int64_t ttl_ms = 0) {
  pb::CheckAndReserveStockRequest r;
  *r.mutable_context() = Context(command_id);
  r.set_order_id("order-" + command_id);
  for (const auto& [sku, quantity] : lines) {
    pb::OrderLine* line = r.add_lines();
    line->set_sku(sku);
    line->set_quantity(quantity);
  }
  r.set_ttl_ms(ttl_ms);
  return r;
}

std::string Describe(const grpc::Status& s) {
  return std::to_string(static_cast<int>(s.error_code())) + " " + s.error_message();
}

class CommandServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventlog::MemoryLogOptions log_options;
    log_options.partition_count = 4;
    auto log = eventlog::MemoryLog::Open(log_options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    clock_ = std::make_unique<base::ManualClock>(kStartMs);
    auto writer = Writer::Open(log_.get(), nullptr, clock_.get(), WriterOptions{});
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = std::move(*writer);
    expiry_ = std::make_unique<ExpiryScheduler>(writer_.get(), clock_.get());
    expiry_->Start();
    service_ = std::make_unique<CommandServiceImpl>(writer_.get(), service_options_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
    stub_ = pb::CommandService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (expiry_) expiry_->Stop();
    if (writer_) writer_->Stop();
    if (log_) { EXPECT_TRUE(log_->Close().ok()); }
  }

  template <typename Req, typename Resp>
  Outcome<Resp> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req) {
    return CallStub(stub_.get(), method, req);
  }

  base::NextOffsets EndOffsets() {
    auto end = log_->EndOffsets();
    EXPECT_TRUE(end.ok()) << end.status();
    return end.ok() ? *end : base::NextOffsets{};
  }

  // Every event in the log, decoded, partition by partition.
  std::vector<ledger::Event> AllEvents() {
    std::vector<ledger::Event> events;
    for (std::uint32_t p = 0; p < log_->partition_count(); ++p) {
      auto records = log_->Read(p, 0, 1'000'000);
      EXPECT_TRUE(records.ok()) << records.status();
      if (!records.ok()) continue;
      for (const eventlog::StoredRecord& r : *records) {
        auto event = ledger::Decode(r.payload);
        EXPECT_TRUE(event.ok()) << event.status();
        if (event.ok()) events.push_back(std::move(*event));
      }
    }
    return events;
  }

  template <typename Payload>
  int CountEvents(const std::function<bool(const Payload&)>& match) {
    int n = 0;
    for (const ledger::Event& e : AllEvents()) {
      if (const auto* p = std::get_if<Payload>(&e.payload); p != nullptr && match(*p)) ++n;
    }
    return n;
  }

  // Every position of the token names a record in the log.
  void ExpectTokenInLog(const pb::CommandResult& result, bool expect_positions = true) {
    if (expect_positions) { EXPECT_GT(result.token().positions_size(), 0); }
    for (const pb::LogPosition& p : result.token().positions()) {
      ASSERT_LT(p.partition(), log_->partition_count());
      auto records = log_->Read(p.partition(), p.offset(), 1);
      ASSERT_TRUE(records.ok()) << records.status();
      ASSERT_EQ(records->size(), 1u) << "token position " << p.partition() << ":" << p.offset() << " not in the log";
      EXPECT_EQ((*records)[0].position.offset, p.offset())
          << "token position " << p.partition() << ":" << p.offset() << " is not a record";
    }
  }

  // Calls `method` and expects a rejection with `code`, a message containing
  // `message_part`, and (when given) Rejection metadata with `reason`/`field`.
  // The log must not grow.
  template <typename Req, typename Resp>
  Outcome<Resp> ExpectRejected(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
                               grpc::StatusCode code, const std::string& message_part,
                               std::optional<pb::Rejection::Reason> reason = std::nullopt,
                               const std::string& field = "") {
    base::NextOffsets before = EndOffsets();
    Outcome<Resp> out = Call(method, req);
    EXPECT_EQ(out.status.error_code(), code) << Describe(out.status) << " for " << req.ShortDebugString();
    EXPECT_NE(out.status.error_message().find(message_part), std::string::npos)
        << "message \"" << out.status.error_message() << "\" lacks \"" << message_part << "\"";
    if (reason) {
      EXPECT_TRUE(out.rejection.has_value()) << "no inventory-rejection-bin for " << req.ShortDebugString();
      if (out.rejection) {
        EXPECT_EQ(out.rejection->reason(), *reason) << out.rejection->ShortDebugString();
        if (!field.empty()) { EXPECT_EQ(out.rejection->field(), field) << out.rejection->ShortDebugString(); }
      }
    }
    EXPECT_EQ(EndOffsets(), before) << "a rejected " << req.GetDescriptor()->name() << " appended events";
    return out;
  }

  // --- set-up helpers (each asserts success) ---
  void CreateWarehouse(const std::string& code, int priority = 1, bool active = true) {
    pb::CreateWarehouseRequest r;
    *r.mutable_context() = Context("wh-" + code);
    r.mutable_warehouse()->set_warehouse(code);
    r.mutable_warehouse()->set_name("Warehouse " + code);
    r.mutable_warehouse()->set_region("eu");
    r.mutable_warehouse()->set_priority(priority);
    r.mutable_warehouse()->set_active(active);
    auto out = Call(&Stub::CreateWarehouse, r);
    ASSERT_TRUE(out.status.ok()) << Describe(out.status);
  }
  void CreateItem(const std::string& sku) {
    pb::CreateItemRequest r;
    *r.mutable_context() = Context("item-" + sku);
    r.mutable_item()->set_sku(sku);
    r.mutable_item()->set_name("Item " + sku);
    auto out = Call(&Stub::CreateItem, r);
    ASSERT_TRUE(out.status.ok()) << Describe(out.status);
  }
  pb::StockLevel Receive(const std::string& sku, const std::string& wh, std::int64_t quantity) {
    pb::AdjustInventoryRequest r;
    *r.mutable_context() = Context("recv-" + sku + "-" + wh + "-" + std::to_string(next_id_++));
    r.set_sku(sku);
    r.set_warehouse(wh);
    r.set_receive_quantity(quantity);
    auto out = Call(&Stub::AdjustInventory, r);
    EXPECT_TRUE(out.status.ok()) << Describe(out.status);
    return out.resp.level();
  }
  // The current level, observed by receiving one unit and adjusting it away.
  pb::StockLevel Probe(const std::string& sku, const std::string& wh) {
    Receive(sku, wh, 1);
    pb::AdjustInventoryRequest r;
    *r.mutable_context() = Context("probe-" + std::to_string(next_id_++));
    r.set_sku(sku);
    r.set_warehouse(wh);
    r.set_adjust_delta(-1);
    r.set_reason(pb::ADJUSTMENT_REASON_CORRECTION);
    auto out = Call(&Stub::AdjustInventory, r);
    EXPECT_TRUE(out.status.ok()) << Describe(out.status);
    return out.resp.level();
  }

  std::unique_ptr<eventlog::MemoryLog> log_;
  std::unique_ptr<base::ManualClock> clock_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<ExpiryScheduler> expiry_;
  command_api::CommandServiceOptions service_options_;  // set before SetUp
  std::unique_ptr<CommandServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
  int next_id_ = 0;
};

TEST_F(CommandServiceTest, CreateUpdateDeleteItem) {
  pb::CreateItemRequest create;
  *create.mutable_context() = Context("create-1");
  create.mutable_item()->set_sku("SKU-1");
  create.mutable_item()->set_name("Widget");
  create.mutable_item()->set_category("tools");
  create.mutable_item()->set_reorder_point(5);
  create.mutable_item()->set_reorder_quantity(20);
  pb::Attribute* color = create.mutable_item()->add_attributes();
  color->set_key("color");
  color->set_value("red");
  auto created = Call(&Stub::CreateItem, create);
  ASSERT_TRUE(created.status.ok()) << Describe(created.status);
  EXPECT_FALSE(created.resp.result().duplicate());
  ExpectTokenInLog(created.resp.result());
  EXPECT_EQ(created.resp.item().sku(), "SKU-1");
  EXPECT_EQ(created.resp.item().name(), "Widget");
  EXPECT_EQ(created.resp.item().category(), "tools");
  EXPECT_EQ(created.resp.item().reorder_point(), 5);
  EXPECT_EQ(created.resp.item().reorder_quantity(), 20);
  ASSERT_EQ(created.resp.item().attributes_size(), 1);
  EXPECT_EQ(created.resp.item().attributes(0).key(), "color");
  EXPECT_EQ(created.resp.item().status(), pb::ITEM_STATUS_ACTIVE);

  // The same command again: a duplicate, nothing written.
  base::NextOffsets before = EndOffsets();
  auto again = Call(&Stub::CreateItem, create);
  ASSERT_TRUE(again.status.ok()) << Describe(again.status);
  EXPECT_TRUE(again.resp.result().duplicate());
  ExpectTokenInLog(again.resp.result());
  EXPECT_EQ(EndOffsets(), before);

  // The same command id for different content.
  pb::CreateItemRequest reused = create;
  reused.mutable_item()->set_name("Other");
  ExpectRejected(&Stub::CreateItem, reused, grpc::StatusCode::INVALID_ARGUMENT, "context.command_id",
                 pb::Rejection::REASON_IDEMPOTENCY_KEY_REUSED, "context.command_id");
  // The same SKU under a new command id.
  pb::CreateItemRequest taken = create;
  taken.mutable_context()->set_command_id("create-2");
  ExpectRejected(&Stub::CreateItem, taken, grpc::StatusCode::ALREADY_EXISTS, "SKU-1",
                 pb::Rejection::REASON_ALREADY_EXISTS);
  // Bad fields.
  pb::CreateItemRequest bad_sku = create;
  bad_sku.mutable_context()->set_command_id("create-3");
  bad_sku.mutable_item()->set_sku("bad sku!");
  ExpectRejected(&Stub::CreateItem, bad_sku, grpc::StatusCode::INVALID_ARGUMENT, "item.sku",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "item.sku");
  pb::CreateItemRequest no_name = create;
  no_name.mutable_context()->set_command_id("create-4");
  no_name.mutable_item()->set_sku("SKU-2");
  no_name.mutable_item()->clear_name();
  ExpectRejected(&Stub::CreateItem, no_name, grpc::StatusCode::INVALID_ARGUMENT, "item.name",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "item.name");
  pb::CreateItemRequest negative = create;
  negative.mutable_context()->set_command_id("create-5");
  negative.mutable_item()->set_sku("SKU-2");
  negative.mutable_item()->set_reorder_point(-1);
  ExpectRejected(&Stub::CreateItem, negative, grpc::StatusCode::INVALID_ARGUMENT, "item.reorder_point",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "item.reorder_point");
  pb::CreateItemRequest no_command = create;
  no_command.mutable_context()->clear_command_id();
  no_command.mutable_item()->set_sku("SKU-2");
  ExpectRejected(&Stub::CreateItem, no_command, grpc::StatusCode::INVALID_ARGUMENT, "context.command_id",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "context.command_id");
  pb::CreateItemRequest bad_command = no_command;
  bad_command.mutable_context()->set_command_id("has space");
  ExpectRejected(&Stub::CreateItem, bad_command, grpc::StatusCode::INVALID_ARGUMENT, "context.command_id",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "context.command_id");

  // UpdateItem.
  pb::UpdateItemRequest update;
  *update.mutable_context() = Context("update-1");
  update.set_sku("SKU-1");
  update.set_name("Widget v2");
  update.set_reorder_point(7);
  auto updated = Call(&Stub::UpdateItem, update);
  ASSERT_TRUE(updated.status.ok()) << Describe(updated.status);
  ExpectTokenInLog(updated.resp.result());
  EXPECT_EQ(updated.resp.item().name(), "Widget v2");
  EXPECT_EQ(updated.resp.item().category(), "tools");
  EXPECT_EQ(updated.resp.item().reorder_point(), 7);
  EXPECT_EQ(updated.resp.item().attributes_size(), 1);
  pb::UpdateItemRequest attrs;
  *attrs.mutable_context() = Context("update-2");
  attrs.set_sku("SKU-1");
  attrs.set_replace_attributes(true);  // no attributes: clears them
  auto cleared = Call(&Stub::UpdateItem, attrs);
  ASSERT_TRUE(cleared.status.ok()) << Describe(cleared.status);
  EXPECT_EQ(cleared.resp.item().attributes_size(), 0);

  pb::UpdateItemRequest unknown = update;
  unknown.mutable_context()->set_command_id("update-3");
  unknown.set_sku("NOPE");
  ExpectRejected(&Stub::UpdateItem, unknown, grpc::StatusCode::NOT_FOUND, "NOPE", pb::Rejection::REASON_UNKNOWN_ITEM);
  pb::UpdateItemRequest nothing;
  *nothing.mutable_context() = Context("update-4");
  nothing.set_sku("SKU-1");
  ExpectRejected(&Stub::UpdateItem, nothing, grpc::StatusCode::INVALID_ARGUMENT, "update",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "update");
  pb::UpdateItemRequest empty_name = nothing;
  empty_name.set_name("");
  ExpectRejected(&Stub::UpdateItem, empty_name, grpc::StatusCode::INVALID_ARGUMENT, "name",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "name");
  pb::UpdateItemRequest attrs_without_replace = nothing;
  pb::Attribute* a = attrs_without_replace.add_attributes();
  a->set_key("k");
  a->set_value("v");
  ExpectRejected(&Stub::UpdateItem, attrs_without_replace, grpc::StatusCode::INVALID_ARGUMENT, "replace_attributes");
  pb::UpdateItemRequest dup_attrs = attrs_without_replace;
  dup_attrs.set_replace_attributes(true);
  *dup_attrs.add_attributes() = *a;
  ExpectRejected(&Stub::UpdateItem, dup_attrs, grpc::StatusCode::INVALID_ARGUMENT, "attributes[1].key",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "attributes[1].key");

  // DeleteItem discontinues: no more receiving or reserving.
  CreateWarehouse("W1");
  Receive("SKU-1", "W1", 10);
  pb::DeleteItemRequest del;
  *del.mutable_context() = Context("delete-1");
  del.set_sku("SKU-1");
  auto deleted = Call(&Stub::DeleteItem, del);
  ASSERT_TRUE(deleted.status.ok()) << Describe(deleted.status);
  ExpectTokenInLog(deleted.resp.result());
  auto deleted_again = Call(&Stub::DeleteItem, del);
  ASSERT_TRUE(deleted_again.status.ok()) << Describe(deleted_again.status);
  EXPECT_TRUE(deleted_again.resp.result().duplicate());
  pb::DeleteItemRequest del2 = del;
  del2.mutable_context()->set_command_id("delete-2");
  ExpectRejected(&Stub::DeleteItem, del2, grpc::StatusCode::FAILED_PRECONDITION, "discontinued",
                 pb::Rejection::REASON_ITEM_DISCONTINUED);
  pb::DeleteItemRequest del_unknown = del;
  del_unknown.mutable_context()->set_command_id("delete-3");
  del_unknown.set_sku("NOPE");
  ExpectRejected(&Stub::DeleteItem, del_unknown, grpc::StatusCode::NOT_FOUND, "NOPE",
                 pb::Rejection::REASON_UNKNOWN_ITEM);
  pb::DeleteItemRequest del_bad = del;
  del_bad.mutable_context()->set_command_id("delete-4");
  del_bad.clear_sku();
  ExpectRejected(&Stub::DeleteItem, del_bad, grpc::StatusCode::INVALID_ARGUMENT, "sku",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "sku");
  pb::AdjustInventoryRequest receive;
  *receive.mutable_context() = Context("recv-discontinued");
  receive.set_sku("SKU-1");
  receive.set_warehouse("W1");
  receive.set_receive_quantity(1);
  ExpectRejected(&Stub::AdjustInventory, receive, grpc::StatusCode::FAILED_PRECONDITION, "discontinued",
                 pb::Rejection::REASON_ITEM_DISCONTINUED);
  ExpectRejected(&Stub::CheckAndReserveStock, ReserveRequest("res-discontinued", {{"SKU-1", 1}}),
                 grpc::StatusCode::FAILED_PRECONDITION, "lines[0]", pb::Rejection::REASON_ITEM_DISCONTINUED);
  // Still updatable: its history stays.
  pb::UpdateItemRequest after = update;
  after.mutable_context()->set_command_id("update-after-delete");
  auto upd_after = Call(&Stub::UpdateItem, after);
  ASSERT_TRUE(upd_after.status.ok()) << Describe(upd_after.status);
  EXPECT_EQ(upd_after.resp.item().status(), pb::ITEM_STATUS_DISCONTINUED);
}

TEST_F(CommandServiceTest, BulkCreateAndUpdateItems) {
  CreateItem("EXISTING");
  pb::BulkCreateItemsRequest bulk;
  *bulk.mutable_context() = Context("bulk-create");
  for (int i = 0; i < 6; ++i) {
    pb::Item* item = bulk.add_items();
    item->set_sku("B-" + std::to_string(i));
    item->set_name("Bulk " + std::to_string(i));
  }
  bulk.mutable_items(2)->set_sku("bad sku");
  bulk.mutable_items(4)->set_sku("EXISTING");
  bulk.mutable_items(5)->clear_name();
  base::NextOffsets before = EndOffsets();
  auto out = Call(&Stub::BulkCreateItems, bulk);
  ASSERT_TRUE(out.status.ok()) << Describe(out.status);
  ASSERT_EQ(out.resp.results_size(), 6);
  const std::vector<int> want = {0, 0, 3, 0, 6, 3};
  for (int i = 0; i < 6; ++i) {
    const pb::BulkItemResult& r = out.resp.results(i);
    EXPECT_EQ(r.sku(), bulk.items(i).sku()) << i;
    EXPECT_EQ(r.code(), want[static_cast<std::size_t>(i)]) << i << ": " << r.ShortDebugString();
    if (r.code() == 0) {
      EXPECT_FALSE(r.result().duplicate());
      ExpectTokenInLog(r.result());
    } else {
      EXPECT_FALSE(r.error().empty());
    }
  }
  EXPECT_NE(out.resp.results(2).error().find("item.sku"), std::string::npos) << out.resp.results(2).error();
  EXPECT_NE(out.resp.results(5).error().find("item.name"), std::string::npos) << out.resp.results(5).error();
  // Exactly the three created items' events were appended.
  std::uint64_t grown = 0;
  base::NextOffsets after = EndOffsets();
  for (std::size_t p = 0; p < after.size(); ++p) grown += after[p] - before[p];
  EXPECT_GE(grown, 3u);
  EXPECT_EQ(CountEvents<ledger::ItemCreated>([](const ledger::ItemCreated&) { return true; }), 4);

  // Re-sent: the created ones are duplicates, the rest fail again.
  auto again = Call(&Stub::BulkCreateItems, bulk);
  ASSERT_TRUE(again.status.ok());
  ASSERT_EQ(again.resp.results_size(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(again.resp.results(i).code(), want[static_cast<std::size_t>(i)]) << i;
    if (want[static_cast<std::size_t>(i)] == 0) { EXPECT_TRUE(again.resp.results(i).result().duplicate()) << i; }
  }
  EXPECT_EQ(CountEvents<ledger::ItemCreated>([](const ledger::ItemCreated&) { return true; }), 4);

  pb::BulkCreateItemsRequest no_command = bulk;
  no_command.mutable_context()->clear_command_id();
  ExpectRejected(&Stub::BulkCreateItems, no_command, grpc::StatusCode::INVALID_ARGUMENT, "context.command_id");
  pb::BulkCreateItemsRequest empty;
  *empty.mutable_context() = Context("bulk-empty");
  ExpectRejected(&Stub::BulkCreateItems, empty, grpc::StatusCode::INVALID_ARGUMENT, "items: must hold 1..");

  // BulkUpdateItems.
  pb::BulkUpdateItemsRequest updates;
  *updates.mutable_context() = Context("bulk-update");
  for (const char* sku : {"B-0", "NOPE", "B-1", "B-3"}) {
    pb::UpdateItemRequest* u = updates.add_updates();
    u->set_sku(sku);
    u->set_category("bulk");
  }
  updates.mutable_updates(2)->clear_category();  // names no field
  pb::Attribute* attr = updates.mutable_updates(3)->add_attributes();  // attributes without replace
  attr->set_key("k");
  attr->set_value("v");
  auto updated = Call(&Stub::BulkUpdateItems, updates);
  ASSERT_TRUE(updated.status.ok()) << Describe(updated.status);
  ASSERT_EQ(updated.resp.results_size(), 4);
  const std::vector<int> want_update = {0, 5, 3, 3};
  for (int i = 0; i < 4; ++i) {
    const pb::BulkItemResult& r = updated.resp.results(i);
    EXPECT_EQ(r.sku(), updates.updates(i).sku());
    EXPECT_EQ(r.code(), want_update[static_cast<std::size_t>(i)]) << i << ": " << r.ShortDebugString();
  }
  ExpectTokenInLog(updated.resp.results(0).result());
  EXPECT_NE(updated.resp.results(1).error().find("NOPE"), std::string::npos) << updated.resp.results(1).error();
  EXPECT_NE(updated.resp.results(2).error().find("update"), std::string::npos) << updated.resp.results(2).error();
  EXPECT_NE(updated.resp.results(3).error().find("replace_attributes"), std::string::npos)
      << updated.resp.results(3).error();
  EXPECT_EQ(CountEvents<ledger::ItemUpdated>([](const ledger::ItemUpdated&) { return true; }), 1);
  pb::BulkUpdateItemsRequest no_cmd_update = updates;
  no_cmd_update.mutable_context()->clear_command_id();
  ExpectRejected(&Stub::BulkUpdateItems, no_cmd_update, grpc::StatusCode::INVALID_ARGUMENT, "context.command_id");
  pb::BulkUpdateItemsRequest no_updates;
  *no_updates.mutable_context() = Context("bulk-update-empty");
  ExpectRejected(&Stub::BulkUpdateItems, no_updates, grpc::StatusCode::INVALID_ARGUMENT, "updates: must hold 1..");
}

TEST_F(CommandServiceTest, CreateWarehouse) {
  pb::CreateWarehouseRequest r;
  *r.mutable_context() = Context("wh-1");
  r.mutable_warehouse()->set_warehouse("BER-1");
  r.mutable_warehouse()->set_name("Berlin");
  r.mutable_warehouse()->set_region("eu-central");
  r.mutable_warehouse()->set_priority(3);
  r.mutable_warehouse()->set_active(true);
  auto out = Call(&Stub::CreateWarehouse, r);
  ASSERT_TRUE(out.status.ok()) << Describe(out.status);
  ExpectTokenInLog(out.resp.result());
  EXPECT_EQ(out.resp.warehouse().warehouse(), "BER-1");
  EXPECT_EQ(out.resp.warehouse().name(), "Berlin");
  EXPECT_EQ(out.resp.warehouse().region(), "eu-central");
  EXPECT_EQ(out.resp.warehouse().priority(), 3);
  EXPECT_TRUE(out.resp.warehouse().active());
  auto dup = Call(&Stub::CreateWarehouse, r);
  ASSERT_TRUE(dup.status.ok());
  EXPECT_TRUE(dup.resp.result().duplicate());

  pb::CreateWarehouseRequest taken = r;
  taken.mutable_context()->set_command_id("wh-2");
  ExpectRejected(&Stub::CreateWarehouse, taken, grpc::StatusCode::ALREADY_EXISTS, "BER-1",
                 pb::Rejection::REASON_ALREADY_EXISTS);
  pb::CreateWarehouseRequest bad_code = taken;
  bad_code.mutable_warehouse()->set_warehouse("BER 2");
  ExpectRejected(&Stub::CreateWarehouse, bad_code, grpc::StatusCode::INVALID_ARGUMENT, "warehouse.warehouse",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "warehouse.warehouse");
  pb::CreateWarehouseRequest bad_priority = taken;
  bad_priority.mutable_warehouse()->set_warehouse("BER-2");
  bad_priority.mutable_warehouse()->set_priority(-1);
  ExpectRejected(&Stub::CreateWarehouse, bad_priority, grpc::StatusCode::INVALID_ARGUMENT, "warehouse.priority",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "warehouse.priority");

  // An inactive warehouse takes no stock.
  CreateWarehouse("OFF", 1, /*active=*/false);
  CreateItem("SKU-W");
  pb::AdjustInventoryRequest receive;
  *receive.mutable_context() = Context("recv-off");
  receive.set_sku("SKU-W");
  receive.set_warehouse("OFF");
  receive.set_receive_quantity(5);
  ExpectRejected(&Stub::AdjustInventory, receive, grpc::StatusCode::FAILED_PRECONDITION, "inactive",
                 pb::Rejection::REASON_WAREHOUSE_INACTIVE);
}

TEST_F(CommandServiceTest, AdjustInventoryReceiveAdjustCount) {
  CreateWarehouse("W1");
  CreateItem("SKU-A");
  pb::AdjustInventoryRequest r;
  *r.mutable_context() = Context("adj-1");
  r.set_sku("SKU-A");
  r.set_warehouse("W1");
  r.set_receive_quantity(100);
  r.set_reference("PO-1");
  auto received = Call(&Stub::AdjustInventory, r);
  ASSERT_TRUE(received.status.ok()) << Describe(received.status);
  ExpectTokenInLog(received.resp.result());
  EXPECT_EQ(received.resp.level().sku(), "SKU-A");
  EXPECT_EQ(received.resp.level().warehouse(), "W1");
  EXPECT_EQ(received.resp.level().on_hand(), 100);
  EXPECT_EQ(received.resp.level().available(), 100);
  auto dup = Call(&Stub::AdjustInventory, r);
  ASSERT_TRUE(dup.status.ok());
  EXPECT_TRUE(dup.resp.result().duplicate());
  EXPECT_EQ(dup.resp.level().on_hand(), 100);

  pb::AdjustInventoryRequest damage;
  *damage.mutable_context() = Context("adj-2");
  damage.set_sku("SKU-A");
  damage.set_warehouse("W1");
  damage.set_adjust_delta(-5);
  damage.set_reason(pb::ADJUSTMENT_REASON_DAMAGE);
  auto damaged = Call(&Stub::AdjustInventory, damage);
  ASSERT_TRUE(damaged.status.ok()) << Describe(damaged.status);
  EXPECT_EQ(damaged.resp.level().on_hand(), 95);
  pb::AdjustInventoryRequest found = damage;
  found.mutable_context()->set_command_id("adj-3");
  found.set_adjust_delta(3);
  found.set_reason(pb::ADJUSTMENT_REASON_FOUND);
  auto founded = Call(&Stub::AdjustInventory, found);
  ASSERT_TRUE(founded.status.ok()) << Describe(founded.status);
  EXPECT_EQ(founded.resp.level().on_hand(), 98);
  pb::AdjustInventoryRequest count;
  *count.mutable_context() = Context("adj-4");
  count.set_sku("SKU-A");
  count.set_warehouse("W1");
  count.set_counted_quantity(90);
  auto counted = Call(&Stub::AdjustInventory, count);
  ASSERT_TRUE(counted.status.ok()) << Describe(counted.status);
  ExpectTokenInLog(counted.resp.result());
  EXPECT_EQ(counted.resp.level().on_hand(), 90);
  EXPECT_EQ(counted.resp.level().available(), 90);

  // Rejections, each naming the request's own field.
  pb::AdjustInventoryRequest bad = r;
  bad.mutable_context()->set_command_id("adj-bad");
  bad.set_receive_quantity(0);
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::INVALID_ARGUMENT, "receive_quantity",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "receive_quantity");
  bad.set_adjust_delta(0);
  bad.set_reason(pb::ADJUSTMENT_REASON_CORRECTION);
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::INVALID_ARGUMENT, "adjust_delta",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "adjust_delta");
  bad.set_adjust_delta(5);
  bad.set_reason(pb::ADJUSTMENT_REASON_DAMAGE);
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::INVALID_ARGUMENT, "adjust_delta",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "adjust_delta");
  bad.set_reason(pb::ADJUSTMENT_REASON_UNSPECIFIED);
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::INVALID_ARGUMENT, "reason");
  bad.set_counted_quantity(-1);
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::INVALID_ARGUMENT, "counted_quantity",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "counted_quantity");
  bad.clear_change();
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::INVALID_ARGUMENT, "change");
  bad.set_receive_quantity(1);
  bad.set_warehouse("bad wh");
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::INVALID_ARGUMENT, "warehouse",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "warehouse");
  bad.set_warehouse("W1");
  bad.set_reference(std::string("line\nbreak"));
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::INVALID_ARGUMENT, "reference",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "reference");
  bad.clear_reference();
  bad.set_sku("NOPE");
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::NOT_FOUND, "NOPE", pb::Rejection::REASON_UNKNOWN_ITEM);
  bad.set_sku("SKU-A");
  bad.set_warehouse("W9");
  ExpectRejected(&Stub::AdjustInventory, bad, grpc::StatusCode::NOT_FOUND, "W9",
                 pb::Rejection::REASON_UNKNOWN_WAREHOUSE);

  // Below reserved: reserve 80 of 90, then count 50 or remove 20.
  auto reserved = Call(&Stub::CheckAndReserveStock, ReserveRequest("res-80", {{"SKU-A", 80}}));
  ASSERT_TRUE(reserved.status.ok()) << Describe(reserved.status);
  pb::AdjustInventoryRequest low_count = count;
  low_count.mutable_context()->set_command_id("adj-low");
  low_count.set_counted_quantity(50);
  ExpectRejected(&Stub::AdjustInventory, low_count, grpc::StatusCode::FAILED_PRECONDITION, "reserved",
                 pb::Rejection::REASON_BELOW_RESERVED);
  pb::AdjustInventoryRequest loss = damage;
  loss.mutable_context()->set_command_id("adj-loss");
  loss.set_adjust_delta(-20);
  loss.set_reason(pb::ADJUSTMENT_REASON_LOSS);
  ExpectRejected(&Stub::AdjustInventory, loss, grpc::StatusCode::FAILED_PRECONDITION, "reserved",
                 pb::Rejection::REASON_BELOW_RESERVED);

  // OUT_OF_RANGE: a figure past kStockMax.
  CreateItem("SKU-BIG");
  pb::AdjustInventoryRequest huge;
  *huge.mutable_context() = Context("adj-huge");
  huge.set_sku("SKU-BIG");
  huge.set_warehouse("W1");
  huge.set_counted_quantity(ledger::kStockMax);
  auto full = Call(&Stub::AdjustInventory, huge);
  ASSERT_TRUE(full.status.ok()) << Describe(full.status);
  EXPECT_EQ(full.resp.level().on_hand(), ledger::kStockMax);
  pb::AdjustInventoryRequest one_more;
  *one_more.mutable_context() = Context("adj-one-more");
  one_more.set_sku("SKU-BIG");
  one_more.set_warehouse("W1");
  one_more.set_receive_quantity(1);
  ExpectRejected(&Stub::AdjustInventory, one_more, grpc::StatusCode::OUT_OF_RANGE, "on_hand",
                 pb::Rejection::REASON_LIMIT_EXCEEDED);
}

TEST_F(CommandServiceTest, AdjustInventoryWithExpectedOnHand) {
  CreateWarehouse("W1");
  CreateItem("SKU-A");
  Receive("SKU-A", "W1", 20);
  pb::AdjustInventoryRequest count;
  *count.mutable_context() = Context("occ-count");
  count.set_sku("SKU-A");
  count.set_warehouse("W1");
  count.set_counted_quantity(18);
  count.set_expected_on_hand(20);
  auto counted = Call(&Stub::AdjustInventory, count);
  ASSERT_TRUE(counted.status.ok()) << Describe(counted.status);
  EXPECT_EQ(counted.resp.level().on_hand(), 18);
  // The retry is a duplicate although its expectation no longer holds.
  auto retried = Call(&Stub::AdjustInventory, count);
  ASSERT_TRUE(retried.status.ok()) << Describe(retried.status);
  EXPECT_TRUE(retried.resp.result().duplicate());
  EXPECT_EQ(retried.resp.level().on_hand(), 18);

  // Stale: ABORTED with the current figure, nothing appended.
  pb::AdjustInventoryRequest stale;
  *stale.mutable_context() = Context("occ-adjust");
  stale.set_sku("SKU-A");
  stale.set_warehouse("W1");
  stale.set_adjust_delta(-2);
  stale.set_reason(pb::ADJUSTMENT_REASON_DAMAGE);
  stale.set_expected_on_hand(20);
  auto refused = ExpectRejected(&Stub::AdjustInventory, stale, grpc::StatusCode::ABORTED, "on hand is 18",
                                pb::Rejection::REASON_ON_HAND_CHANGED);
  ASSERT_TRUE(refused.rejection.has_value());
  ASSERT_TRUE(refused.rejection->has_current_on_hand());
  EXPECT_EQ(refused.rejection->current_on_hand(), 18);
  // Read again, decide again: the same command id with the fresh figure goes through.
  stale.set_expected_on_hand(refused.rejection->current_on_hand());
  auto adjusted = Call(&Stub::AdjustInventory, stale);
  ASSERT_TRUE(adjusted.status.ok()) << Describe(adjusted.status);
  EXPECT_FALSE(adjusted.resp.result().duplicate());
  EXPECT_EQ(adjusted.resp.level().on_hand(), 16);
  // Expecting zero is an expectation too (the field is optional, not 0 = none).
  pb::AdjustInventoryRequest zero = count;
  zero.mutable_context()->set_command_id("occ-zero");
  zero.set_expected_on_hand(0);
  auto zero_refused = ExpectRejected(&Stub::AdjustInventory, zero, grpc::StatusCode::ABORTED, "on hand is 16",
                                     pb::Rejection::REASON_ON_HAND_CHANGED);
  ASSERT_TRUE(zero_refused.rejection.has_value());
  EXPECT_EQ(zero_refused.rejection->current_on_hand(), 16);

  // A receipt takes no expectation; a negative one is malformed.
  pb::AdjustInventoryRequest receipt;
  *receipt.mutable_context() = Context("occ-receive");
  receipt.set_sku("SKU-A");
  receipt.set_warehouse("W1");
  receipt.set_receive_quantity(5);
  receipt.set_expected_on_hand(16);
  ExpectRejected(&Stub::AdjustInventory, receipt, grpc::StatusCode::INVALID_ARGUMENT, "receipt",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "expected_on_hand");
  zero.set_expected_on_hand(-1);
  ExpectRejected(&Stub::AdjustInventory, zero, grpc::StatusCode::INVALID_ARGUMENT, "expected_on_hand",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "expected_on_hand");
  // Other rejections carry no figure.
  auto below = ExpectRejected(&Stub::AdjustInventory, [&] {
    pb::AdjustInventoryRequest r = stale;
    r.mutable_context()->set_command_id("occ-below");
    r.set_adjust_delta(-17);
    r.set_expected_on_hand(16);
    return r;
  }(), grpc::StatusCode::FAILED_PRECONDITION, "reserved", pb::Rejection::REASON_BELOW_RESERVED);
  ASSERT_TRUE(below.rejection.has_value());
  EXPECT_FALSE(below.rejection->has_current_on_hand());
}

TEST_F(CommandServiceTest, TransferInventoryShipAndReceive) {
  CreateWarehouse("FROM");
  CreateWarehouse("TO");
  CreateItem("SKU-T");
  Receive("SKU-T", "FROM", 30);
  pb::TransferInventoryRequest ship;
  *ship.mutable_context() = Context("ship-1");
  ship.set_transfer_id("T-1");
  ship.set_step(pb::TransferInventoryRequest::STEP_SHIP);
  ship.set_sku("SKU-T");
  ship.set_from_warehouse("FROM");
  ship.set_to_warehouse("TO");
  ship.set_quantity(12);
  auto shipped = Call(&Stub::TransferInventory, ship);
  ASSERT_TRUE(shipped.status.ok()) << Describe(shipped.status);
  ExpectTokenInLog(shipped.resp.result());
  EXPECT_EQ(shipped.resp.from_level().warehouse(), "FROM");
  EXPECT_EQ(shipped.resp.from_level().on_hand(), 18);
  EXPECT_EQ(shipped.resp.to_level().warehouse(), "TO");
  EXPECT_EQ(shipped.resp.to_level().on_hand(), 0);
  EXPECT_EQ(shipped.resp.to_level().incoming(), 12);
  auto dup = Call(&Stub::TransferInventory, ship);
  ASSERT_TRUE(dup.status.ok());
  EXPECT_TRUE(dup.resp.result().duplicate());

  pb::TransferInventoryRequest receive;
  *receive.mutable_context() = Context("recv-t-1");
  receive.set_transfer_id("T-1");
  receive.set_step(pb::TransferInventoryRequest::STEP_RECEIVE);
  auto received = Call(&Stub::TransferInventory, receive);
  ASSERT_TRUE(received.status.ok()) << Describe(received.status);
  ExpectTokenInLog(received.resp.result());
  EXPECT_EQ(received.resp.to_level().on_hand(), 12);
  EXPECT_EQ(received.resp.to_level().incoming(), 0);
  EXPECT_EQ(received.resp.from_level().on_hand(), 18);

  pb::TransferInventoryRequest receive_again = receive;
  receive_again.mutable_context()->set_command_id("recv-t-2");
  ExpectRejected(&Stub::TransferInventory, receive_again, grpc::StatusCode::FAILED_PRECONDITION, "T-1",
                 pb::Rejection::REASON_ALREADY_RESOLVED);
  pb::TransferInventoryRequest unknown = receive_again;
  unknown.set_transfer_id("T-404");
  ExpectRejected(&Stub::TransferInventory, unknown, grpc::StatusCode::NOT_FOUND, "T-404",
                 pb::Rejection::REASON_UNKNOWN_TRANSFER);
  pb::TransferInventoryRequest reuse = ship;
  reuse.mutable_context()->set_command_id("ship-2");
  ExpectRejected(&Stub::TransferInventory, reuse, grpc::StatusCode::ALREADY_EXISTS, "T-1",
                 pb::Rejection::REASON_ALREADY_EXISTS);
  pb::TransferInventoryRequest too_much = reuse;
  too_much.set_transfer_id("T-2");
  too_much.set_quantity(19);
  auto insufficient = ExpectRejected(&Stub::TransferInventory, too_much, grpc::StatusCode::FAILED_PRECONDITION,
                                     "insufficient", pb::Rejection::REASON_INSUFFICIENT_STOCK);
  if (insufficient.rejection) {
    ASSERT_EQ(insufficient.rejection->lines_size(), 1);
    EXPECT_EQ(insufficient.rejection->lines(0).requested(), 19);
    EXPECT_EQ(insufficient.rejection->lines(0).available(), 18);
  }
  pb::TransferInventoryRequest same = too_much;
  same.set_quantity(1);
  same.set_to_warehouse("FROM");
  ExpectRejected(&Stub::TransferInventory, same, grpc::StatusCode::INVALID_ARGUMENT, "to_warehouse",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "to_warehouse");
  pb::TransferInventoryRequest zero = too_much;
  zero.set_quantity(0);
  ExpectRejected(&Stub::TransferInventory, zero, grpc::StatusCode::INVALID_ARGUMENT, "quantity",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "quantity");
  pb::TransferInventoryRequest no_step = too_much;
  no_step.set_step(pb::TransferInventoryRequest::STEP_UNSPECIFIED);
  ExpectRejected(&Stub::TransferInventory, no_step, grpc::StatusCode::INVALID_ARGUMENT, "step");
  pb::TransferInventoryRequest no_id = too_much;
  no_id.clear_transfer_id();
  no_id.set_quantity(1);
  ExpectRejected(&Stub::TransferInventory, no_id, grpc::StatusCode::INVALID_ARGUMENT, "transfer_id",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "transfer_id");
  pb::TransferInventoryRequest to_unknown = too_much;
  to_unknown.set_quantity(1);
  to_unknown.set_to_warehouse("NOWHERE");
  ExpectRejected(&Stub::TransferInventory, to_unknown, grpc::StatusCode::NOT_FOUND, "NOWHERE",
                 pb::Rejection::REASON_UNKNOWN_WAREHOUSE);
}

TEST_F(CommandServiceTest, ReserveCommitRelease) {
  CreateWarehouse("W1", 1);
  CreateWarehouse("W2", 2);
  CreateItem("SKU-R1");
  CreateItem("SKU-R2");
  Receive("SKU-R1", "W1", 10);
  Receive("SKU-R2", "W2", 5);

  pb::CheckAndReserveStockRequest req = ReserveRequest("res-1", {{"SKU-R1", 4}, {"SKU-R2", 2}}, 120'000);
  auto reserved = Call(&Stub::CheckAndReserveStock, req);
  ASSERT_TRUE(reserved.status.ok()) << Describe(reserved.status);
  ExpectTokenInLog(reserved.resp.result());
  EXPECT_EQ(reserved.resp.result().token().positions_size(), 2);
  const pb::Reservation& res = reserved.resp.reservation();
  EXPECT_EQ(res.reservation_id(), "r-res-1");
  EXPECT_EQ(res.order_id(), "order-res-1");
  EXPECT_EQ(res.status(), pb::RESERVATION_STATUS_ACTIVE);
  EXPECT_EQ(res.created_at_ms(), kStartMs);
  EXPECT_EQ(res.expires_at_ms(), kStartMs + 120'000);
  ASSERT_EQ(res.allocations_size(), 2);
  std::map<std::uint32_t, pb::Allocation> by_line;
  for (const pb::Allocation& a : res.allocations()) by_line[a.request_line()] = a;
  EXPECT_EQ(by_line[0].sku(), "SKU-R1");
  EXPECT_EQ(by_line[0].warehouse(), "W1");
  EXPECT_EQ(by_line[0].quantity(), 4);
  EXPECT_EQ(by_line[1].sku(), "SKU-R2");
  EXPECT_EQ(by_line[1].warehouse(), "W2");
  EXPECT_EQ(by_line[1].quantity(), 2);
  pb::StockLevel level = Probe("SKU-R1", "W1");
  EXPECT_EQ(level.on_hand(), 10);
  EXPECT_EQ(level.reserved(), 4);
  EXPECT_EQ(level.available(), 6);

  // Insufficient: per-line availability in the metadata.
  auto short_stock = ExpectRejected(&Stub::CheckAndReserveStock,
                                    ReserveRequest("res-2", {{"SKU-R1", 6}, {"SKU-R2", 4}}),
                                    grpc::StatusCode::FAILED_PRECONDITION, "insufficient stock",
                                    pb::Rejection::REASON_INSUFFICIENT_STOCK);
  ASSERT_TRUE(short_stock.rejection.has_value());
  ASSERT_EQ(short_stock.rejection->lines_size(), 2);
  for (const pb::Rejection::LineAvailability& l : short_stock.rejection->lines()) {
    if (l.line() == 0) {
      EXPECT_EQ(l.sku(), "SKU-R1");
      EXPECT_EQ(l.requested(), 6);
      EXPECT_EQ(l.available(), 6);
    } else {
      EXPECT_EQ(l.line(), 1u);
      EXPECT_EQ(l.sku(), "SKU-R2");
      EXPECT_EQ(l.requested(), 4);
      EXPECT_EQ(l.available(), 3);
    }
  }
  EXPECT_NE(short_stock.status.error_message().find("lines[1]"), std::string::npos);

  // Field errors.
  ExpectRejected(&Stub::CheckAndReserveStock, ReserveRequest("res-3", {{"SKU-R1", 0}}),
                 grpc::StatusCode::INVALID_ARGUMENT, "lines[0].quantity", pb::Rejection::REASON_INVALID_ARGUMENT,
                 "lines[0].quantity");
  ExpectRejected(&Stub::CheckAndReserveStock, ReserveRequest("res-3", {{"SKU-R1", 1}, {"bad sku", 1}}),
                 grpc::StatusCode::INVALID_ARGUMENT, "lines[1].sku", pb::Rejection::REASON_INVALID_ARGUMENT,
                 "lines[1].sku");
  ExpectRejected(&Stub::CheckAndReserveStock, ReserveRequest("res-3", {}), grpc::StatusCode::INVALID_ARGUMENT,
                 "lines", pb::Rejection::REASON_INVALID_ARGUMENT, "lines");
  // An over-long order id is reported as order_id, the field the client sent
  // (not as context.correlation_id, which the order id would have filled).
  pb::CheckAndReserveStockRequest long_order = ReserveRequest("res-3", {{"SKU-R1", 1}});
  long_order.set_order_id(std::string(200, 'o'));
  ExpectRejected(&Stub::CheckAndReserveStock, long_order, grpc::StatusCode::INVALID_ARGUMENT, "order_id",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "order_id");
  ExpectRejected(&Stub::CheckAndReserveStock, ReserveRequest("res-3", {{"SKU-R1", 1}}, 10),
                 grpc::StatusCode::INVALID_ARGUMENT, "ttl_ms", pb::Rejection::REASON_INVALID_ARGUMENT, "ttl_ms");
  pb::CheckAndReserveStockRequest no_cmd = ReserveRequest("", {{"SKU-R1", 1}});
  no_cmd.set_reservation_id("explicit-1");
  ExpectRejected(&Stub::CheckAndReserveStock, no_cmd, grpc::StatusCode::INVALID_ARGUMENT, "context.command_id",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "context.command_id");
  ExpectRejected(&Stub::CheckAndReserveStock, ReserveRequest("res-3", {{"NOPE", 1}}), grpc::StatusCode::NOT_FOUND,
                 "lines[0]", pb::Rejection::REASON_UNKNOWN_ITEM);
  pb::CheckAndReserveStockRequest pinned = ReserveRequest("res-3", {{"SKU-R1", 1}});
  pinned.mutable_lines(0)->set_warehouse("W404");
  ExpectRejected(&Stub::CheckAndReserveStock, pinned, grpc::StatusCode::NOT_FOUND, "W404",
                 pb::Rejection::REASON_UNKNOWN_WAREHOUSE);
  pb::CheckAndReserveStockRequest taken = ReserveRequest("res-4", {{"SKU-R1", 1}});
  taken.set_reservation_id("r-res-1");
  ExpectRejected(&Stub::CheckAndReserveStock, taken, grpc::StatusCode::ALREADY_EXISTS, "r-res-1",
                 pb::Rejection::REASON_ALREADY_EXISTS);
  pb::CheckAndReserveStockRequest reused = req;
  reused.mutable_lines(0)->set_quantity(5);
  ExpectRejected(&Stub::CheckAndReserveStock, reused, grpc::StatusCode::INVALID_ARGUMENT, "context.command_id",
                 pb::Rejection::REASON_IDEMPOTENCY_KEY_REUSED, "context.command_id");

  // Commit.
  pb::CommitReservationRequest commit;
  *commit.mutable_context() = Context("commit-1");
  commit.set_reservation_id("r-res-1");
  auto committed = Call(&Stub::CommitReservation, commit);
  ASSERT_TRUE(committed.status.ok()) << Describe(committed.status);
  ExpectTokenInLog(committed.resp.result());
  EXPECT_EQ(committed.resp.reservation().status(), pb::RESERVATION_STATUS_COMMITTED);
  EXPECT_EQ(committed.resp.reservation().allocations_size(), 2);
  EXPECT_EQ(committed.resp.reservation().resolved_at_ms(), kStartMs);
  auto commit_dup = Call(&Stub::CommitReservation, commit);
  ASSERT_TRUE(commit_dup.status.ok()) << Describe(commit_dup.status);
  EXPECT_TRUE(commit_dup.resp.result().duplicate());
  EXPECT_EQ(commit_dup.resp.reservation().status(), pb::RESERVATION_STATUS_COMMITTED);
  level = Probe("SKU-R1", "W1");
  EXPECT_EQ(level.on_hand(), 6);
  EXPECT_EQ(level.reserved(), 0);
  pb::CommitReservationRequest commit_again = commit;
  commit_again.mutable_context()->set_command_id("commit-2");
  ExpectRejected(&Stub::CommitReservation, commit_again, grpc::StatusCode::FAILED_PRECONDITION, "committed",
                 pb::Rejection::REASON_ALREADY_RESOLVED);
  pb::CommitReservationRequest commit_unknown = commit_again;
  commit_unknown.set_reservation_id("r-404");
  ExpectRejected(&Stub::CommitReservation, commit_unknown, grpc::StatusCode::NOT_FOUND, "r-404",
                 pb::Rejection::REASON_UNKNOWN_RESERVATION);
  pb::CommitReservationRequest commit_bad = commit_again;
  commit_bad.set_reservation_id("bad id");
  ExpectRejected(&Stub::CommitReservation, commit_bad, grpc::StatusCode::INVALID_ARGUMENT, "reservation_id",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "reservation_id");
  pb::ReleaseReservedStockRequest release_committed;
  *release_committed.mutable_context() = Context("release-0");
  release_committed.set_reservation_id("r-res-1");
  ExpectRejected(&Stub::ReleaseReservedStock, release_committed, grpc::StatusCode::FAILED_PRECONDITION, "committed",
                 pb::Rejection::REASON_ALREADY_RESOLVED);

  // Release.
  auto second = Call(&Stub::CheckAndReserveStock, ReserveRequest("res-5", {{"SKU-R1", 6}}));
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(second.resp.reservation().expires_at_ms(), kStartMs + 15 * 60 * 1000);  // the default TTL
  pb::ReleaseReservedStockRequest release;
  *release.mutable_context() = Context("release-1");
  release.set_reservation_id("r-res-5");
  release.set_reason(pb::RELEASE_REASON_PAYMENT_FAILED);
  auto released = Call(&Stub::ReleaseReservedStock, release);
  ASSERT_TRUE(released.status.ok()) << Describe(released.status);
  ExpectTokenInLog(released.resp.result());
  EXPECT_EQ(released.resp.reservation().status(), pb::RESERVATION_STATUS_RELEASED);
  auto release_dup = Call(&Stub::ReleaseReservedStock, release);
  ASSERT_TRUE(release_dup.status.ok());
  EXPECT_TRUE(release_dup.resp.result().duplicate());
  level = Probe("SKU-R1", "W1");
  EXPECT_EQ(level.on_hand(), 6);
  EXPECT_EQ(level.reserved(), 0);
  EXPECT_EQ(level.available(), 6);
  pb::ReleaseReservedStockRequest release_unknown = release;
  release_unknown.mutable_context()->set_command_id("release-2");
  release_unknown.set_reservation_id("r-404");
  ExpectRejected(&Stub::ReleaseReservedStock, release_unknown, grpc::StatusCode::NOT_FOUND, "r-404",
                 pb::Rejection::REASON_UNKNOWN_RESERVATION);
  pb::ReleaseReservedStockRequest release_again = release_unknown;
  release_again.set_reservation_id("r-res-5");
  ExpectRejected(&Stub::ReleaseReservedStock, release_again, grpc::StatusCode::FAILED_PRECONDITION, "released",
                 pb::Rejection::REASON_ALREADY_RESOLVED);
  pb::CommitReservationRequest commit_released = commit_again;
  commit_released.mutable_context()->set_command_id("commit-3");
  commit_released.set_reservation_id("r-res-5");
  ExpectRejected(&Stub::CommitReservation, commit_released, grpc::StatusCode::FAILED_PRECONDITION, "released",
                 pb::Rejection::REASON_ALREADY_RESOLVED);

  // Explicit reservation id, split across warehouses.
  Receive("SKU-R1", "W2", 4);
  pb::CheckAndReserveStockRequest split = ReserveRequest("res-6", {{"SKU-R1", 9}});
  split.set_reservation_id("explicit-split");
  split.set_allow_split(true);
  auto split_out = Call(&Stub::CheckAndReserveStock, split);
  ASSERT_TRUE(split_out.status.ok()) << Describe(split_out.status);
  EXPECT_EQ(split_out.resp.reservation().reservation_id(), "explicit-split");
  std::int64_t total = 0;
  std::set<std::string> warehouses;
  for (const pb::Allocation& a : split_out.resp.reservation().allocations()) {
    total += a.quantity();
    warehouses.insert(a.warehouse());
    EXPECT_EQ(a.request_line(), 0u);
  }
  EXPECT_EQ(total, 9);
  EXPECT_EQ(warehouses.size(), 2u);
  ExpectTokenInLog(split_out.resp.result());
}

TEST_F(CommandServiceTest, PartialCommitShipsTheLinesAndReleasesTheRest) {
  CreateWarehouse("W1");
  CreateItem("SKU-P1");
  CreateItem("SKU-P2");
  Receive("SKU-P1", "W1", 10);
  Receive("SKU-P2", "W1", 5);
  auto reserved = Call(&Stub::CheckAndReserveStock, ReserveRequest("pres-1", {{"SKU-P1", 6}, {"SKU-P2", 2}}));
  ASSERT_TRUE(reserved.status.ok()) << Describe(reserved.status);

  pb::CommitReservationRequest commit;
  *commit.mutable_context() = Context("pcommit-1");
  commit.set_reservation_id("r-pres-1");
  // Refusals name the request's own field and append nothing.
  pb::CommitLine* line = commit.add_lines();
  line->set_sku("SKU-P1");
  line->set_warehouse("W1");
  line->set_quantity(7);
  ExpectRejected(&Stub::CommitReservation, commit, grpc::StatusCode::INVALID_ARGUMENT, "more than the 6 reserved",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "lines[0].quantity");
  line->set_quantity(0);
  ExpectRejected(&Stub::CommitReservation, commit, grpc::StatusCode::INVALID_ARGUMENT, "lines[0].quantity",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "lines[0].quantity");
  line->set_quantity(4);
  line->set_warehouse("W9");
  ExpectRejected(&Stub::CommitReservation, commit, grpc::StatusCode::INVALID_ARGUMENT, "names nothing",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "lines[0].sku");
  line->set_warehouse("W1");
  pb::CommitLine* by_index = commit.add_lines();
  by_index->set_request_line(0);
  by_index->set_quantity(1);
  ExpectRejected(&Stub::CommitReservation, commit, grpc::StatusCode::INVALID_ARGUMENT, "lines[0] names already",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "lines[1].request_line");
  by_index->set_request_line(7);
  ExpectRejected(&Stub::CommitReservation, commit, grpc::StatusCode::INVALID_ARGUMENT, "names nothing",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "lines[1].request_line");
  commit.mutable_lines()->RemoveLast();

  // 4 of SKU-P1 ship; its other 2 and SKU-P2's 2 are released.
  auto committed = Call(&Stub::CommitReservation, commit);
  ASSERT_TRUE(committed.status.ok()) << Describe(committed.status);
  ExpectTokenInLog(committed.resp.result());
  const pb::Reservation& r = committed.resp.reservation();
  EXPECT_EQ(r.status(), pb::RESERVATION_STATUS_COMMITTED);
  ASSERT_EQ(r.allocations_size(), 2);
  EXPECT_EQ(r.allocations(0).quantity(), 6);
  EXPECT_EQ(r.allocations(0).released_quantity(), 2);
  EXPECT_EQ(r.allocations(1).released_quantity(), 2);
  EXPECT_EQ(CountEvents<ledger::ReservationCommitted>([](const ledger::ReservationCommitted& e) {
              return e.reservation_id.value() == "r-pres-1";
            }),
            2);
  auto dup = Call(&Stub::CommitReservation, commit);
  ASSERT_TRUE(dup.status.ok()) << Describe(dup.status);
  EXPECT_TRUE(dup.resp.result().duplicate());
  pb::StockLevel p1 = Probe("SKU-P1", "W1");
  EXPECT_EQ(p1.on_hand(), 6);
  EXPECT_EQ(p1.reserved(), 0);
  pb::StockLevel p2 = Probe("SKU-P2", "W1");
  EXPECT_EQ(p2.on_hand(), 5);
  EXPECT_EQ(p2.available(), 5);
  // The same command id with other lines is another request.
  commit.mutable_lines(0)->set_quantity(3);
  ExpectRejected(&Stub::CommitReservation, commit, grpc::StatusCode::INVALID_ARGUMENT, "command_id",
                 pb::Rejection::REASON_IDEMPOTENCY_KEY_REUSED, "context.command_id");
}

// 64 client threads fight over 10 hot SKUs: never more reservations than stock.
TEST_F(CommandServiceTest, ConcurrentReservationsNeverOversell) {
  constexpr int kSkus = 10;
  constexpr int kStock = 50;
  constexpr int kThreads = 64;
  constexpr int kAttemptsPerThread = 12;  // 768 attempts for 500 units
  CreateWarehouse("W1", 1);
  CreateWarehouse("W2", 2);
  for (int s = 0; s < kSkus; ++s) {
    std::string sku = "HOT-" + std::to_string(s);
    CreateItem(sku);
    Receive(sku, "W1", kStock / 2);
    Receive(sku, "W2", kStock - kStock / 2);
  }
  std::vector<std::atomic<int>> successes(kSkus);
  std::vector<std::atomic<int>> attempts(kSkus);
  std::atomic<int> other_failures{0};
  std::mutex mu;
  std::vector<std::string> problems;
  std::set<std::string> reservation_ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = pb::CommandService::NewStub(channel_);
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        int s = (t * 7 + i) % kSkus;
        std::string cmd = "hot-" + std::to_string(t) + "-" + std::to_string(i);
        auto out = CallStub(stub.get(), &Stub::CheckAndReserveStock,
                            ReserveRequest(cmd, {{"HOT-" + std::to_string(s), 1}}));
        attempts[static_cast<std::size_t>(s)].fetch_add(1);
        if (out.status.ok()) {
          successes[static_cast<std::size_t>(s)].fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          reservation_ids.insert(out.resp.reservation().reservation_id());
          if (out.resp.result().duplicate() || out.resp.reservation().allocations_size() != 1) {
            problems.push_back("odd success " + out.resp.ShortDebugString());
          }
        } else if (out.status.error_code() != grpc::StatusCode::FAILED_PRECONDITION || !out.rejection ||
                   out.rejection->reason() != pb::Rejection::REASON_INSUFFICIENT_STOCK ||
                   out.rejection->lines_size() != 1 || out.rejection->lines(0).available() != 0) {
          other_failures.fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          problems.push_back(Describe(out.status));
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(other_failures.load(), 0);
  for (std::size_t i = 0; i < problems.size() && i < 5; ++i) ADD_FAILURE() << problems[i];
  int total = 0;
  for (int s = 0; s < kSkus; ++s) {
    std::string sku = "HOT-" + std::to_string(s);
    ASSERT_GT(attempts[static_cast<std::size_t>(s)].load(), kStock) << sku;
    EXPECT_EQ(successes[static_cast<std::size_t>(s)].load(), kStock) << sku;
    total += successes[static_cast<std::size_t>(s)].load();
    pb::StockLevel w1 = Probe(sku, "W1");
    pb::StockLevel w2 = Probe(sku, "W2");
    EXPECT_EQ(w1.reserved() + w2.reserved(), kStock) << sku;
    EXPECT_EQ(w1.available() + w2.available(), 0) << sku;
  }
  EXPECT_EQ(reservation_ids.size(), static_cast<std::size_t>(total));
  EXPECT_EQ(CountEvents<ledger::ReservationLineReserved>([](const ledger::ReservationLineReserved&) { return true; }),
            kSkus * kStock);
}

// One command sent 10 times at once: one reservation, ten identical answers.
TEST_F(CommandServiceTest, ConcurrentDuplicatesReserveOnce) {
  CreateWarehouse("W1");
  CreateItem("SKU-D");
  Receive("SKU-D", "W1", 20);
  constexpr int kCallers = 10;
  const pb::CheckAndReserveStockRequest req = ReserveRequest("dup-cmd", {{"SKU-D", 3}});
  std::vector<Outcome<pb::CheckAndReserveStockResponse>> outcomes(kCallers);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kCallers; ++t) {
    threads.emplace_back([&, t] {
      auto stub = pb::CommandService::NewStub(channel_);
      ready.fetch_add(1);
      auto start = std::chrono::steady_clock::now();
      while (ready.load() < kCallers && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
        std::this_thread::yield();
      }
      outcomes[static_cast<std::size_t>(t)] = CallStub(stub.get(), &Stub::CheckAndReserveStock, req);
    });
  }
  for (std::thread& th : threads) th.join();
  int originals = 0;
  for (const auto& out : outcomes) {
    ASSERT_TRUE(out.status.ok()) << Describe(out.status);
    if (!out.resp.result().duplicate()) ++originals;
    ExpectTokenInLog(out.resp.result());
    EXPECT_EQ(out.resp.reservation().reservation_id(), "r-dup-cmd");
    EXPECT_EQ(out.resp.reservation().allocations().size(), outcomes[0].resp.reservation().allocations().size());
    for (int a = 0; a < out.resp.reservation().allocations_size(); ++a) {
      EXPECT_EQ(out.resp.reservation().allocations(a).SerializeAsString(),
                outcomes[0].resp.reservation().allocations(a).SerializeAsString());
    }
    EXPECT_EQ(out.resp.reservation().created_at_ms(), outcomes[0].resp.reservation().created_at_ms());
  }
  EXPECT_EQ(originals, 1);
  EXPECT_EQ(CountEvents<ledger::ReservationLineReserved>(
                [](const ledger::ReservationLineReserved& e) { return e.reservation_id.value() == "r-dup-cmd"; }),
            1);
  pb::StockLevel level = Probe("SKU-D", "W1");
  EXPECT_EQ(level.reserved(), 3);
  EXPECT_EQ(level.available(), 17);
}

// The manual clock passes the TTL: the scheduler expires the reservation once.
TEST_F(CommandServiceTest, ReservationExpiresByTheManualClock) {
  CreateWarehouse("W1");
  CreateItem("SKU-E");
  Receive("SKU-E", "W1", 7);
  auto reserved = Call(&Stub::CheckAndReserveStock, ReserveRequest("exp-1", {{"SKU-E", 7}}, 60'000));
  ASSERT_TRUE(reserved.status.ok()) << Describe(reserved.status);
  EXPECT_EQ(reserved.resp.reservation().expires_at_ms(), kStartMs + 60'000);
  ExpectRejected(&Stub::CheckAndReserveStock, ReserveRequest("exp-2", {{"SKU-E", 1}}),
                 grpc::StatusCode::FAILED_PRECONDITION, "insufficient", pb::Rejection::REASON_INSUFFICIENT_STOCK);
  auto expired_count = [this] {
    return CountEvents<ledger::ReservationExpired>(
        [](const ledger::ReservationExpired& e) { return e.reservation_id.value() == "r-exp-1"; });
  };
  // Not before its time.
  clock_->Advance(59'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(expired_count(), 0);

  clock_->Advance(1'001);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (expired_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(expired_count(), 1) << "not expired within 5 s of the clock passing its TTL";

  pb::CommitReservationRequest commit;
  *commit.mutable_context() = Context("exp-commit");
  commit.set_reservation_id("r-exp-1");
  ExpectRejected(&Stub::CommitReservation, commit, grpc::StatusCode::FAILED_PRECONDITION, "expired",
                 pb::Rejection::REASON_ALREADY_RESOLVED);
  pb::ReleaseReservedStockRequest release;
  *release.mutable_context() = Context("exp-release");
  release.set_reservation_id("r-exp-1");
  ExpectRejected(&Stub::ReleaseReservedStock, release, grpc::StatusCode::FAILED_PRECONDITION, "expired",
                 pb::Rejection::REASON_ALREADY_RESOLVED);
  // The stock is free again: the whole of it can be reserved.
  auto again = Call(&Stub::CheckAndReserveStock, ReserveRequest("exp-3", {{"SKU-E", 7}}));
  ASSERT_TRUE(again.status.ok()) << Describe(again.status);
  // Re-sending the original reserve is a duplicate that shows it expired.
  auto original = Call(&Stub::CheckAndReserveStock, ReserveRequest("exp-1", {{"SKU-E", 7}}, 60'000));
  ASSERT_TRUE(original.status.ok()) << Describe(original.status);
  EXPECT_TRUE(original.resp.result().duplicate());
  EXPECT_EQ(original.resp.reservation().status(), pb::RESERVATION_STATUS_EXPIRED);

  // More time and more scheduler turns: still expired exactly once.
  clock_->Advance(10'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(expired_count(), 1);
  EXPECT_EQ(CountEvents<ledger::ReservationExpired>([](const ledger::ReservationExpired&) { return true; }), 1);
}

// 100 reservations in one call, some failing: one result per entry, in order.
TEST_F(CommandServiceTest, BulkReserveStockAnswersEachEntryInOrder) {
  constexpr int kEntries = 100;
  constexpr int kStock = 60;
  CreateWarehouse("W1");
  CreateItem("SKU-BULK");
  Receive("SKU-BULK", "W1", kStock);
  pb::BulkReserveStockRequest bulk;
  std::vector<int> want(kEntries);
  int valid_seen = 0;
  for (int i = 0; i < kEntries; ++i) {
    std::string cmd = "bulk-" + std::to_string(i);
    std::vector<std::pair<std::string, std::int64_t>> lines = {{"SKU-BULK", 1}};
    if (i % 10 == 3) {
      lines[0].second = 0;
      want[static_cast<std::size_t>(i)] = static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT);
    } else if (i % 10 == 7) {
      lines[0].first = "NOPE";
      want[static_cast<std::size_t>(i)] = static_cast<int>(grpc::StatusCode::NOT_FOUND);
    } else if (i == 51) {
      cmd.clear();
      want[static_cast<std::size_t>(i)] = static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT);
    } else {
      want[static_cast<std::size_t>(i)] =
          valid_seen++ < kStock ? 0 : static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION);
    }
    *bulk.add_reservations() = ReserveRequest(cmd, lines);
  }
  bulk.mutable_reservations(51)->set_reservation_id("explicit-51");
  ASSERT_GT(valid_seen, kStock);
  auto check = [&](const pb::BulkReserveStockResponse& resp, bool resent) {
    ASSERT_EQ(resp.results_size(), kEntries);
    for (int i = 0; i < kEntries; ++i) {
      const pb::BulkReserveResult& r = resp.results(i);
      int expected = want[static_cast<std::size_t>(i)];
      EXPECT_EQ(r.code(), expected) << "entry " << i << ": " << r.ShortDebugString();
      if (expected == 0) {
        EXPECT_EQ(r.response().reservation().reservation_id(), "r-bulk-" + std::to_string(i));
        ASSERT_EQ(r.response().reservation().allocations_size(), 1) << i;
        EXPECT_EQ(r.response().reservation().allocations(0).quantity(), 1);
        EXPECT_EQ(r.response().result().duplicate(), resent) << i;
        ExpectTokenInLog(r.response().result());
      } else {
        EXPECT_FALSE(r.error().empty()) << i;
        EXPECT_FALSE(r.has_response()) << i;
      }
      if (expected == static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION)) {
        EXPECT_EQ(r.rejection().reason(), pb::Rejection::REASON_INSUFFICIENT_STOCK) << i;
        ASSERT_EQ(r.rejection().lines_size(), 1) << i;
        EXPECT_EQ(r.rejection().lines(0).available(), 0) << i;
      }
      if (expected == static_cast<int>(grpc::StatusCode::NOT_FOUND)) {
        EXPECT_EQ(r.rejection().reason(), pb::Rejection::REASON_UNKNOWN_ITEM) << i;
      }
      if (i % 10 == 3) { EXPECT_NE(r.error().find("lines[0].quantity"), std::string::npos) << r.error(); }
      if (i == 51) { EXPECT_NE(r.error().find("command_id"), std::string::npos) << r.error(); }
      if (i == 51) { EXPECT_EQ(r.rejection().reason(), pb::Rejection::REASON_INVALID_ARGUMENT) << i; }
    }
  };
  auto out = Call(&Stub::BulkReserveStock, bulk);
  ASSERT_TRUE(out.status.ok()) << Describe(out.status);
  check(out.resp, false);
  EXPECT_EQ(CountEvents<ledger::ReservationLineReserved>([](const ledger::ReservationLineReserved&) { return true; }),
            kStock);
  pb::StockLevel level = Probe("SKU-BULK", "W1");
  EXPECT_EQ(level.reserved(), kStock);

  // Re-sent as a whole: the reserved ones are duplicates, nothing more reserved.
  auto again = Call(&Stub::BulkReserveStock, bulk);
  ASSERT_TRUE(again.status.ok()) << Describe(again.status);
  check(again.resp, true);
  EXPECT_EQ(CountEvents<ledger::ReservationLineReserved>([](const ledger::ReservationLineReserved&) { return true; }),
            kStock);

  pb::BulkReserveStockRequest empty;
  ExpectRejected(&Stub::BulkReserveStock, empty, grpc::StatusCode::INVALID_ARGUMENT, "reservations");
  pb::BulkReserveStockRequest too_many;
  for (int i = 0; i < 1001; ++i) {
    *too_many.add_reservations() = ReserveRequest("x" + std::to_string(i), {{"SKU-BULK", 1}});
  }
  ExpectRejected(&Stub::BulkReserveStock, too_many, grpc::StatusCode::INVALID_ARGUMENT, "reservations");
}

// ReserveStream: sends `requests` on one stream from a writing thread while
// this one reads, half-closes, and returns every answer in arrival order.
struct StreamOutcome {
  grpc::Status status;
  std::vector<pb::ReserveStreamAnswer> answers;
  int messages = 0;  // response messages the answers came in
};

StreamOutcome StreamReservations(Stub* stub, const std::vector<pb::CheckAndReserveStockRequest>& requests) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  auto stream = stub->ReserveStream(&ctx);
  std::thread sender([&] {
    for (const auto& r : requests) {
      if (!stream->Write(r)) break;
    }
    stream->WritesDone();
  });
  StreamOutcome out;
  pb::ReserveStreamResponse resp;
  while (stream->Read(&resp)) {
    ++out.messages;
    out.answers.insert(out.answers.end(), resp.answers().begin(), resp.answers().end());
  }
  sender.join();
  out.status = stream->Finish();
  return out;
}

// The bulk test's mix (reservable, zero quantity, unknown item, no command
// id, more than the stock), one reservation per message: every request is
// answered once, in request order, carrying its command id, with what a bulk
// entry gets; re-sent, the reserved ones are duplicates.
void ExpectStreamAnswersInOrder(Stub* stub, int entries, int stock,
                                const std::function<std::vector<ledger::Event>()>& all_events) {
  std::vector<pb::CheckAndReserveStockRequest> requests;
  std::vector<int> want;
  int valid_seen = 0;
  for (int i = 0; i < entries; ++i) {
    std::string cmd = "stream-" + std::to_string(i);
    std::vector<std::pair<std::string, std::int64_t>> lines = {{"SKU-STREAM", 1}};
    int code = 0;
    if (i % 10 == 3) {
      lines[0].second = 0;
      code = static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT);
    } else if (i % 10 == 7) {
      lines[0].first = "NOPE";
      code = static_cast<int>(grpc::StatusCode::NOT_FOUND);
    } else if (i == 51) {
      cmd.clear();
      code = static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT);
    } else {
      code = valid_seen++ < stock ? 0 : static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION);
    }
    want.push_back(code);
    requests.push_back(ReserveRequest(cmd, lines));
  }
  requests[51].set_reservation_id("explicit-51");
  ASSERT_GT(valid_seen, stock);
  auto count_reserved = [&] {
    int n = 0;
    for (const ledger::Event& e : all_events()) n += std::holds_alternative<ledger::ReservationLineReserved>(e.payload);
    return n;
  };
  for (bool resent : {false, true}) {
    StreamOutcome out = StreamReservations(stub, requests);
    ASSERT_TRUE(out.status.ok()) << Describe(out.status);
    ASSERT_EQ(out.answers.size(), requests.size());
    EXPECT_LE(out.messages, entries);
    for (int i = 0; i < entries; ++i) {
      const pb::ReserveStreamAnswer& a = out.answers[static_cast<std::size_t>(i)];
      EXPECT_EQ(a.command_id(), requests[static_cast<std::size_t>(i)].context().command_id()) << i;
      EXPECT_EQ(a.result().code(), want[static_cast<std::size_t>(i)]) << "request " << i << ": " << a.ShortDebugString();
      if (want[static_cast<std::size_t>(i)] == 0) {
        EXPECT_EQ(a.result().response().reservation().reservation_id(), "r-stream-" + std::to_string(i));
        EXPECT_EQ(a.result().response().result().duplicate(), resent) << i;
        EXPECT_GT(a.result().response().result().token().positions_size(), 0) << i;
      } else {
        EXPECT_FALSE(a.result().error().empty()) << i;
        EXPECT_FALSE(a.result().has_response()) << i;
      }
      if (want[static_cast<std::size_t>(i)] == static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION)) {
        EXPECT_EQ(a.result().rejection().reason(), pb::Rejection::REASON_INSUFFICIENT_STOCK) << i;
      }
      if (i % 10 == 3) { EXPECT_NE(a.result().error().find("lines[0].quantity"), std::string::npos) << a.result().error(); }
      if (i == 51) { EXPECT_EQ(a.result().rejection().reason(), pb::Rejection::REASON_INVALID_ARGUMENT) << i; }
    }
    EXPECT_EQ(count_reserved(), stock) << (resent ? "re-sent" : "first");
  }
}

TEST_F(CommandServiceTest, ReserveStreamAnswersEachRequestInOrder) {
  CreateWarehouse("W1");
  CreateItem("SKU-STREAM");
  Receive("SKU-STREAM", "W1", 60);
  ExpectStreamAnswersInOrder(stub_.get(), 100, 60, [this] { return AllEvents(); });
  EXPECT_EQ(Probe("SKU-STREAM", "W1").reserved(), 60);
}

// A window of 3: the server stops reading after 3 unanswered requests and
// resumes as answers are written; nothing is lost, doubled or reordered.
class ReserveStreamSmallWindowTest : public CommandServiceTest {
 protected:
  void SetUp() override {
    service_options_.stream_window = 3;
    CommandServiceTest::SetUp();
  }
};

TEST_F(ReserveStreamSmallWindowTest, PausesReadingAndKeepsOrder) {
  CreateWarehouse("W1");
  CreateItem("SKU-STREAM");
  Receive("SKU-STREAM", "W1", 600);
  ExpectStreamAnswersInOrder(stub_.get(), 1000, 600, [this] { return AllEvents(); });
  EXPECT_EQ(Probe("SKU-STREAM", "W1").reserved(), 600);
}

// Many streams at once on a scarce SKU: never more reserved than stock, and
// every request answered exactly once.
TEST_F(CommandServiceTest, ConcurrentReserveStreamsNeverOversell) {
  constexpr int kStreams = 8;
  constexpr int kPerStream = 250;
  constexpr int kStock = 700;
  CreateWarehouse("W1");
  CreateItem("SKU-HOT");
  Receive("SKU-HOT", "W1", kStock);
  std::vector<StreamOutcome> outcomes(kStreams);
  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      std::vector<pb::CheckAndReserveStockRequest> requests;
      for (int i = 0; i < kPerStream; ++i) {
        requests.push_back(ReserveRequest("hot-" + std::to_string(s) + "-" + std::to_string(i), {{"SKU-HOT", 1}}));
      }
      outcomes[static_cast<std::size_t>(s)] = StreamReservations(stub_.get(), requests);
    });
  }
  for (auto& t : threads) t.join();
  int reserved = 0;
  for (int s = 0; s < kStreams; ++s) {
    const StreamOutcome& out = outcomes[static_cast<std::size_t>(s)];
    ASSERT_TRUE(out.status.ok()) << Describe(out.status);
    ASSERT_EQ(out.answers.size(), static_cast<std::size_t>(kPerStream));
    for (int i = 0; i < kPerStream; ++i) {
      const auto& a = out.answers[static_cast<std::size_t>(i)];
      EXPECT_EQ(a.command_id(), "hot-" + std::to_string(s) + "-" + std::to_string(i));
      if (a.result().code() == 0) {
        ++reserved;
      } else {
        EXPECT_EQ(a.result().code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION)) << a.ShortDebugString();
      }
    }
  }
  EXPECT_EQ(reserved, kStock);
  EXPECT_EQ(Probe("SKU-HOT", "W1").reserved(), kStock);
}

// A client that cancels mid-stream: the call ends CANCELLED, the server keeps
// serving, and what the writer did take stays consistent (each reservation
// event belongs to a request that was sent, none twice).
TEST_F(CommandServiceTest, ReserveStreamCancelledMidwayLosesNothingAcknowledged) {
  CreateWarehouse("W1");
  CreateItem("SKU-C");
  Receive("SKU-C", "W1", 100000);
  std::set<std::string> acknowledged;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    auto stream = stub_->ReserveStream(&ctx);
    for (int i = 0; i < 2000; ++i) {
      if (!stream->Write(ReserveRequest("c-" + std::to_string(i), {{"SKU-C", 1}}))) break;
    }
    pb::ReserveStreamResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    for (const auto& a : resp.answers()) {
      if (a.result().code() == 0) acknowledged.insert("r-" + a.command_id());
    }
    ctx.TryCancel();
    while (stream->Read(&resp)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The server still answers, and a new stream works.
  StreamOutcome after = StreamReservations(stub_.get(), {ReserveRequest("after", {{"SKU-C", 1}})});
  ASSERT_TRUE(after.status.ok()) << Describe(after.status);
  ASSERT_EQ(after.answers.size(), 1u);
  EXPECT_EQ(after.answers[0].result().code(), 0);
  std::map<std::string, int> reserved;
  for (const ledger::Event& e : AllEvents()) {
    if (const auto* r = std::get_if<ledger::ReservationLineReserved>(&e.payload)) ++reserved[r->reservation_id.value()];
  }
  for (const std::string& id : acknowledged) EXPECT_EQ(reserved[id], 1) << id;
  for (const auto& [id, n] : reserved) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(Probe("SKU-C", "W1").reserved(), static_cast<std::int64_t>(reserved.size()));
}

// A bulk entry's field errors name the request's own field paths, as the
// unary call does ("context.command_id", not the ledger's "command_id").
TEST_F(CommandServiceTest, BulkReserveStockNamesRequestFieldPaths) {
  CreateWarehouse("W1");
  CreateItem("SKU-P");
  Receive("SKU-P", "W1", 5);
  pb::BulkReserveStockRequest bulk;
  *bulk.add_reservations() = ReserveRequest("", {{"SKU-P", 1}});
  bulk.mutable_reservations(0)->set_reservation_id("explicit-p");
  auto unary = ExpectRejected(&Stub::CheckAndReserveStock, bulk.reservations(0), grpc::StatusCode::INVALID_ARGUMENT,
                              "context.command_id", pb::Rejection::REASON_INVALID_ARGUMENT, "context.command_id");
  auto out = Call(&Stub::BulkReserveStock, bulk);
  ASSERT_TRUE(out.status.ok()) << Describe(out.status);
  ASSERT_EQ(out.resp.results_size(), 1);
  const pb::BulkReserveResult& r = out.resp.results(0);
  EXPECT_EQ(r.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(r.error(), unary.status.error_message());
  EXPECT_EQ(r.rejection().field(), "context.command_id") << r.ShortDebugString();
}

}  // namespace

namespace {

TEST_F(CommandServiceTest, BlockAndUnblockSales) {
  CreateWarehouse("W1", 1);
  CreateWarehouse("W2", 2);
  CreateItem("SKU-B");
  Receive("SKU-B", "W1", 10);
  Receive("SKU-B", "W2", 10);

  pb::BlockSalesRequest block;
  *block.mutable_context() = Context("block-1");
  block.set_sku("SKU-B");
  block.set_warehouse("W1");
  block.set_reason("recall lot 7");
  auto blocked = Call(&Stub::BlockSales, block);
  ASSERT_TRUE(blocked.status.ok()) << Describe(blocked.status);
  ExpectTokenInLog(blocked.resp.result());
  EXPECT_EQ(blocked.resp.block().sku(), "SKU-B");
  EXPECT_EQ(blocked.resp.block().warehouse(), "W1");
  EXPECT_EQ(blocked.resp.block().reason(), "recall lot 7");
  EXPECT_EQ(blocked.resp.block().actor(), "tester");
  EXPECT_EQ(blocked.resp.block().blocked_at_ms(), kStartMs);
  EXPECT_EQ(CountEvents<ledger::SalesBlocked>([](const ledger::SalesBlocked& e) { return e.reason == "recall lot 7"; }),
            1);
  // The same command again is a duplicate; another with the same scope is refused.
  auto again = Call(&Stub::BlockSales, block);
  ASSERT_TRUE(again.status.ok()) << Describe(again.status);
  EXPECT_TRUE(again.resp.result().duplicate());
  pb::BlockSalesRequest twice = block;
  *twice.mutable_context() = Context("block-2");
  ExpectRejected(&Stub::BlockSales, twice, grpc::StatusCode::ALREADY_EXISTS, "already",
                 pb::Rejection::REASON_ALREADY_EXISTS);
  pb::BlockSalesRequest no_reason = block;
  *no_reason.mutable_context() = Context("block-3");
  no_reason.clear_reason();
  ExpectRejected(&Stub::BlockSales, no_reason, grpc::StatusCode::INVALID_ARGUMENT, "reason",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "reason");

  // Naming the blocked warehouse is refused with the block; a free line goes to W2.
  pb::CheckAndReserveStockRequest named = ReserveRequest("res-b1", {{"SKU-B", 1}});
  named.mutable_lines(0)->set_warehouse("W1");
  ExpectRejected(&Stub::CheckAndReserveStock, named, grpc::StatusCode::FAILED_PRECONDITION,
                 "lines[0]: sales of SKU-B are blocked at W1: recall lot 7", pb::Rejection::REASON_SALES_BLOCKED);
  auto free_line = Call(&Stub::CheckAndReserveStock, ReserveRequest("res-b2", {{"SKU-B", 3}}));
  ASSERT_TRUE(free_line.status.ok()) << Describe(free_line.status);
  ASSERT_EQ(free_line.resp.reservation().allocations_size(), 1);
  EXPECT_EQ(free_line.resp.reservation().allocations(0).warehouse(), "W2");

  pb::UnblockSalesRequest unblock;
  *unblock.mutable_context() = Context("unblock-1");
  unblock.set_sku("SKU-B");
  ExpectRejected(&Stub::UnblockSales, unblock, grpc::StatusCode::FAILED_PRECONDITION,
                 "sales of SKU-B are not blocked everywhere", pb::Rejection::REASON_NOT_BLOCKED);
  *unblock.mutable_context() = Context("unblock-2");
  unblock.set_warehouse("W1");
  auto lifted = Call(&Stub::UnblockSales, unblock);
  ASSERT_TRUE(lifted.status.ok()) << Describe(lifted.status);
  ExpectTokenInLog(lifted.resp.result());
  auto after = Call(&Stub::CheckAndReserveStock, named);
  ASSERT_TRUE(after.status.ok()) << Describe(after.status);
}

}  // namespace

namespace {

TEST_F(CommandServiceTest, OperatorExpiryAndExtension) {
  CreateWarehouse("W1", 1);
  CreateItem("SKU-X");
  Receive("SKU-X", "W1", 10);
  auto reserved = Call(&Stub::CheckAndReserveStock, ReserveRequest("res-x", {{"SKU-X", 4}}, 60'000));
  ASSERT_TRUE(reserved.status.ok()) << Describe(reserved.status);

  pb::ExtendReservationRequest extend;
  *extend.mutable_context() = Context("ext-1");
  extend.set_reservation_id("r-res-x");
  extend.set_ttl_ms(3'600'000);
  auto extended = Call(&Stub::ExtendReservation, extend);
  ASSERT_TRUE(extended.status.ok()) << Describe(extended.status);
  ExpectTokenInLog(extended.resp.result());
  EXPECT_EQ(extended.resp.reservation().expires_at_ms(), kStartMs + 3'600'000);
  EXPECT_EQ(extended.resp.reservation().status(), pb::RESERVATION_STATUS_ACTIVE);
  *extend.mutable_context() = Context("ext-2");
  extend.set_ttl_ms(120'000);
  ExpectRejected(&Stub::ExtendReservation, extend, grpc::StatusCode::FAILED_PRECONDITION, "is not later",
                 pb::Rejection::REASON_EXPIRY_NOT_LATER);
  *extend.mutable_context() = Context("ext-3");
  extend.set_ttl_ms(5);
  ExpectRejected(&Stub::ExtendReservation, extend, grpc::StatusCode::INVALID_ARGUMENT, "ttl_ms",
                 pb::Rejection::REASON_INVALID_ARGUMENT, "ttl_ms");

  pb::ExpireReservationRequest expire;
  *expire.mutable_context() = Context("exp-1");
  expire.set_reservation_id("r-res-x");
  auto expired = Call(&Stub::ExpireReservation, expire);
  ASSERT_TRUE(expired.status.ok()) << Describe(expired.status);
  EXPECT_EQ(expired.resp.reservation().status(), pb::RESERVATION_STATUS_EXPIRED);
  EXPECT_EQ(Probe("SKU-X", "W1").available(), 10);
  *expire.mutable_context() = Context("exp-2");
  ExpectRejected(&Stub::ExpireReservation, expire, grpc::StatusCode::FAILED_PRECONDITION, "already",
                 pb::Rejection::REASON_ALREADY_RESOLVED);
  *expire.mutable_context() = Context("exp-3");
  expire.set_reservation_id("r-none");
  ExpectRejected(&Stub::ExpireReservation, expire, grpc::StatusCode::NOT_FOUND, "unknown reservation",
                 pb::Rejection::REASON_UNKNOWN_RESERVATION);
}

}  // namespace
