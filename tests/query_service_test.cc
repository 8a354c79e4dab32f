// The query side end to end in one process: commands through the real
// CommandService and single writer into a MemoryLog, the real projector
// folding them into RocksDB read models, and QueryService over gRPC. Every
// read carries the token of the command before it (read-your-writes), and the
// answers are checked against what the commands did. Also: paging movements
// while writes continue, the token wait met and timed out, and
// StreamInventoryUpdates catching up from the views, going live, and resuming
// after a reconnect at a random point.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "command-api/command_service.h"
#include "command-api/writer.h"
#include "eventlog/memory_log.h"
#include "projector/projector.h"
#include "proto/command_service.grpc.pb.h"
#include "query-api/query_service.h"

namespace {

namespace pb = inventory::v1;
using namespace std::chrono_literals;

constexpr int64_t kStartMs = 1'700'000'000'000;

class QueryEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("query_e2e_", getpid(), "_", ++counter_);
    std::filesystem::remove_all(dir_);
    eventlog::MemoryLogOptions log_options;
    log_options.partition_count = 4;
    auto log = eventlog::MemoryLog::Open(log_options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    clock_ = std::make_unique<base::ManualClock>(kStartMs);
    auto writer = command_api::Writer::Open(log_.get(), nullptr, clock_.get(), command_api::WriterOptions{});
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = std::move(*writer);
    projector::ProjectorOptions po;
    po.path = (dir_ / "views").string();
    po.batch_ms = 1ms;
    po.poll_ms = 2ms;
    auto proj = projector::Projector::Start(log_.get(), po);
    ASSERT_TRUE(proj.ok()) << proj.status();
    projector_ = std::move(*proj);
    source_ = query_api::ProjectorSource(projector_.get());
    query_api::QueryServiceOptions qo;
    qo.stream.catch_up_chunk = 16;
    auto query = query_api::QueryServiceImpl::Create(source_.get(), qo);
    ASSERT_TRUE(query.ok()) << query.status();
    query_ = std::move(*query);
    commands_ = std::make_unique<command_api::CommandServiceImpl>(writer_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(commands_.get());
    builder.RegisterService(query_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    cmd_ = pb::CommandService::NewStub(channel);
    q_ = pb::QueryService::NewStub(channel);
  }

  void TearDown() override {
    if (query_) query_->Drain();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 5s);
    query_.reset();
    source_.reset();
    if (projector_) projector_->Stop();
    projector_.reset();
    if (writer_) writer_->Stop();
    std::filesystem::remove_all(dir_);
  }

  pb::CommandContext Ctx() {
    pb::CommandContext c;
    c.set_command_id(absl::StrCat("cmd-", ++commands_sent_));
    c.set_actor("e2e");
    return c;
  }
  // Remembers the command's token for the next read (read-your-writes).
  void Keep(const grpc::Status& st, const pb::CommandResult& result) {
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_GT(result.token().positions_size(), 0);
    token_ = result.token();
  }
  void Warehouse(const std::string& code, const std::string& region, int priority) {
    pb::CreateWarehouseRequest req;
    *req.mutable_context() = Ctx();
    req.mutable_warehouse()->set_warehouse(code);
    req.mutable_warehouse()->set_name(code);
    req.mutable_warehouse()->set_region(region);
    req.mutable_warehouse()->set_priority(priority);
    req.mutable_warehouse()->set_active(true);
    grpc::ClientContext ctx;
    pb::CreateWarehouseResponse resp;
    grpc::Status st = cmd_->CreateWarehouse(&ctx, req, &resp);
    Keep(st, resp.result());
  }
  void Item(const std::string& sku, const std::string& category, int64_t reorder_point) {
    pb::CreateItemRequest req;
    *req.mutable_context() = Ctx();
    req.mutable_item()->set_sku(sku);
    req.mutable_item()->set_name(sku);
    req.mutable_item()->set_category(category);
    req.mutable_item()->set_reorder_point(reorder_point);
    grpc::ClientContext ctx;
    pb::CreateItemResponse resp;
    grpc::Status st = cmd_->CreateItem(&ctx, req, &resp);
    Keep(st, resp.result());
  }
  void Receive(const std::string& sku, const std::string& wh, int64_t quantity) {
    pb::AdjustInventoryRequest req;
    *req.mutable_context() = Ctx();
    req.set_sku(sku);
    req.set_warehouse(wh);
    req.set_receive_quantity(quantity);
    grpc::ClientContext ctx;
    pb::AdjustInventoryResponse resp;
    grpc::Status st = cmd_->AdjustInventory(&ctx, req, &resp);
    Keep(st, resp.result());
  }
  pb::Reservation Reserve(const std::string& id, const std::string& order, const std::string& sku, int64_t quantity,
                          bool split = false) {
    pb::CheckAndReserveStockRequest req;
    *req.mutable_context() = Ctx();
    req.set_reservation_id(id);
    req.set_order_id(order);
    pb::OrderLine* l = req.add_lines();
    l->set_sku(sku);
    l->set_quantity(quantity);
    req.set_allow_split(split);
    grpc::ClientContext ctx;
    pb::CheckAndReserveStockResponse resp;
    grpc::Status st = cmd_->CheckAndReserveStock(&ctx, req, &resp);
    Keep(st, resp.result());
    return resp.reservation();
  }
  void Commit(const std::string& id) {
    pb::CommitReservationRequest req;
    *req.mutable_context() = Ctx();
    req.set_reservation_id(id);
    grpc::ClientContext ctx;
    pb::CommitReservationResponse resp;
    grpc::Status st = cmd_->CommitReservation(&ctx, req, &resp);
    Keep(st, resp.result());
  }
  void Release(const std::string& id) {
    pb::ReleaseReservedStockRequest req;
    *req.mutable_context() = Ctx();
    req.set_reservation_id(id);
    req.set_reason(pb::RELEASE_REASON_PAYMENT_FAILED);
    grpc::ClientContext ctx;
    pb::ReleaseReservedStockResponse resp;
    grpc::Status st = cmd_->ReleaseReservedStock(&ctx, req, &resp);
    Keep(st, resp.result());
  }
  // A read option carrying the last command's token.
  pb::ReadOptions After() const {
    pb::ReadOptions r;
    *r.mutable_min_token() = token_;
    return r;
  }
  // The response reflects the last command.
  void ExpectReflects(const pb::ReadPosition& position) const {
    for (const pb::LogPosition& t : token_.positions()) {
      ASSERT_LT(t.partition(), static_cast<uint32_t>(position.applied_size()));
      EXPECT_GT(position.applied(static_cast<int>(t.partition())).offset(), t.offset());
    }
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<eventlog::MemoryLog> log_;
  std::unique_ptr<base::ManualClock> clock_;
  std::unique_ptr<command_api::Writer> writer_;
  std::unique_ptr<projector::Projector> projector_;
  std::unique_ptr<query_api::ViewSource> source_;
  std::unique_ptr<query_api::QueryServiceImpl> query_;
  std::unique_ptr<command_api::CommandServiceImpl> commands_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::CommandService::Stub> cmd_;
  std::unique_ptr<pb::QueryService::Stub> q_;
  pb::ConsistencyToken token_;
  int commands_sent_ = 0;
};

// A small ledger: W1 (eu, priority 1), W2 (us, 2); A (tools, reorder at 5),
// B (food), C (tools, never stocked); r1 committed, r2 released, r3 active
// and split across both warehouses.
class QueryMethodsTest : public QueryEndToEndTest {
 protected:
  void SetUp() override {
    QueryEndToEndTest::SetUp();
    if (HasFatalFailure()) return;
    Warehouse("W1", "eu", 1);
    Warehouse("W2", "us", 2);
    Item("A", "tools", 5);
    Item("B", "food", 0);
    Item("C", "tools", 0);
    Receive("A", "W1", 10);
    Receive("A", "W2", 4);
    Receive("B", "W2", 3);
    clock_->Advance(1000);
    Reserve("r1", "o1", "A", 3);
    Reserve("r2", "o1", "B", 1);
    Commit("r1");
    Release("r2");
  }
};

TEST_F(QueryMethodsTest, CheckAvailabilityPredictsTheReservationTheCommandSideMakes) {
  pb::CheckAvailabilityRequest check;
  *check.mutable_read() = After();
  pb::OrderLine* l = check.add_lines();
  l->set_sku("A");
  l->set_quantity(8);
  check.set_allow_split(true);
  grpc::ClientContext ctx;
  pb::CheckAvailabilityResponse predicted;
  ASSERT_TRUE(q_->CheckAvailability(&ctx, check, &predicted).ok());
  ExpectReflects(predicted.position());
  EXPECT_TRUE(predicted.can_fulfil());
  ASSERT_EQ(predicted.lines_size(), 1);
  EXPECT_EQ(predicted.lines(0).available(), 8);

  pb::Reservation made = Reserve("r3", "o2", "A", 8, /*split=*/true);
  ASSERT_EQ(made.allocations_size(), predicted.allocations_size());
  ASSERT_EQ(made.allocations_size(), 2) << "7 from W1 (priority 1), 1 from W2";
  for (int i = 0; i < made.allocations_size(); ++i) {
    EXPECT_EQ(made.allocations(i).warehouse(), predicted.allocations(i).warehouse());
    EXPECT_EQ(made.allocations(i).quantity(), predicted.allocations(i).quantity());
  }

  grpc::ClientContext ctx2;
  check.mutable_lines(0)->set_quantity(4);
  *check.mutable_read() = After();
  ASSERT_TRUE(q_->CheckAvailability(&ctx2, check, &predicted).ok());
  EXPECT_FALSE(predicted.can_fulfil()) << "only 3 of A left after r3";
  EXPECT_EQ(predicted.lines(0).available(), 3);
  EXPECT_EQ(predicted.allocations_size(), 0);
}

TEST_F(QueryMethodsTest, ItemsLevelsReservationsAndReportReflectTheCommands) {
  Reserve("r3", "o2", "A", 8, /*split=*/true);
  {
    pb::GetItemRequest req;
    *req.mutable_read() = After();
    req.set_sku("A");
    grpc::ClientContext ctx;
    pb::GetItemResponse resp;
    ASSERT_TRUE(q_->GetItem(&ctx, req, &resp).ok());
    ExpectReflects(resp.position());
    EXPECT_EQ(resp.item().category(), "tools");
    EXPECT_EQ(resp.item().reorder_point(), 5);
  }
  auto list = [&](pb::ListItemsRequest req) {
    *req.mutable_read() = After();
    std::vector<std::string> skus;
    grpc::ClientContext ctx;
    pb::ListItemsResponse resp;
    EXPECT_TRUE(q_->ListItems(&ctx, req, &resp).ok());
    for (const auto& i : resp.items()) skus.push_back(i.sku());
    return skus;
  };
  pb::ListItemsRequest by_category;
  by_category.set_category("tools");
  EXPECT_EQ(list(by_category), (std::vector<std::string>{"A", "C"}));
  pb::ListItemsRequest by_warehouse;
  by_warehouse.set_warehouse("W2");
  EXPECT_EQ(list(by_warehouse), (std::vector<std::string>{"A", "B"}));
  pb::ListItemsRequest low;
  low.set_low_stock_only(true);
  EXPECT_EQ(list(low), (std::vector<std::string>{"A", "C"})) << "A: 3 available <= 5; C: 0 <= 0";
  {
    pb::GetInventoryLevelsRequest req;
    *req.mutable_read() = After();
    req.add_skus("A");
    req.add_skus("C");
    grpc::ClientContext ctx;
    pb::GetInventoryLevelsResponse resp;
    ASSERT_TRUE(q_->GetInventoryLevels(&ctx, req, &resp).ok());
    ExpectReflects(resp.position());
    ASSERT_EQ(resp.levels_size(), 2);
    const pb::SkuLevels& a = resp.levels(0);
    EXPECT_EQ(a.total().on_hand(), 11);  // 14 received, 3 committed (shipped)
    EXPECT_EQ(a.total().reserved(), 8);
    EXPECT_EQ(a.total().available(), 3);
    ASSERT_EQ(a.warehouses_size(), 2);
    EXPECT_EQ(a.warehouses(0).warehouse(), "W1");
    EXPECT_EQ(a.warehouses(0).available(), 0);
    EXPECT_EQ(a.warehouses(1).available(), 3);
    EXPECT_EQ(resp.levels(1).total().on_hand(), 0);
  }
  {
    pb::GetReservationRequest req;
    *req.mutable_read() = After();
    req.set_reservation_id("r1");
    grpc::ClientContext ctx;
    pb::GetReservationResponse resp;
    ASSERT_TRUE(q_->GetReservation(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.reservation().status(), pb::RESERVATION_STATUS_COMMITTED);
    EXPECT_EQ(resp.reservation().order_id(), "o1");
  }
  auto reservations = [&](const std::string& order, pb::ReservationStatus status) {
    pb::ListReservationsRequest req;
    *req.mutable_read() = After();
    req.set_order_id(order);
    req.set_status(status);
    req.set_page_size(1);  // one per page: paging is exercised too
    std::vector<std::string> ids;
    do {
      grpc::ClientContext ctx;
      pb::ListReservationsResponse resp;
      EXPECT_TRUE(q_->ListReservations(&ctx, req, &resp).ok());
      for (const auto& r : resp.reservations()) ids.push_back(r.reservation_id());
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return ids;
  };
  EXPECT_EQ(reservations("o1", pb::RESERVATION_STATUS_UNSPECIFIED), (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(reservations("", pb::RESERVATION_STATUS_ACTIVE), (std::vector<std::string>{"r3"}));
  EXPECT_EQ(reservations("", pb::RESERVATION_STATUS_RELEASED), (std::vector<std::string>{"r2"}));
  {
    pb::GetInventoryReportRequest req;
    *req.mutable_read() = After();
    grpc::ClientContext ctx;
    pb::GetInventoryReportResponse resp;
    ASSERT_TRUE(q_->GetInventoryReport(&ctx, req, &resp).ok());
    ExpectReflects(resp.position());
    EXPECT_EQ(resp.active_reservations(), 1);
    EXPECT_EQ(resp.committed_reservations(), 1);
    EXPECT_EQ(resp.released_reservations(), 1);
    EXPECT_EQ(resp.expired_reservations(), 0);
    EXPECT_EQ(resp.expiry_rate(), 0.0);
    std::map<std::string, pb::LevelTotals> wh;
    for (const auto& t : resp.by_warehouse()) wh[t.key()] = t;
    EXPECT_EQ(wh["W1"].on_hand(), 7);
    EXPECT_EQ(wh["W2"].on_hand(), 7);  // A 4 + B 3
    EXPECT_EQ(wh["W2"].reserved(), 1);
    std::map<std::string, pb::LevelTotals> cat;
    for (const auto& t : resp.by_category()) cat[t.key()] = t;
    EXPECT_EQ(cat["tools"].available(), 3);
    EXPECT_EQ(cat["food"].available(), 3);
    EXPECT_NE(std::find(resp.low_stock_skus().begin(), resp.low_stock_skus().end(), "A"),
              resp.low_stock_skus().end());
  }
}

TEST_F(QueryMethodsTest, WarehousesUpdateListAndHoldTheirLevels) {
  {
    pb::UpdateWarehouseRequest req;
    *req.mutable_context() = Ctx();
    req.set_warehouse("W2");
    req.set_name("West 2");
    req.set_active(false);
    grpc::ClientContext ctx;
    pb::UpdateWarehouseResponse resp;
    grpc::Status st = cmd_->UpdateWarehouse(&ctx, req, &resp);
    Keep(st, resp.result());
    EXPECT_EQ(resp.warehouse().name(), "West 2");
    EXPECT_EQ(resp.warehouse().region(), "us") << "unset fields keep their value";
    EXPECT_EQ(resp.warehouse().priority(), 2);
    EXPECT_FALSE(resp.warehouse().active());
  }
  {
    pb::GetWarehouseRequest req;
    *req.mutable_read() = After();
    req.set_warehouse("W2");
    grpc::ClientContext ctx;
    pb::GetWarehouseResponse resp;
    ASSERT_TRUE(q_->GetWarehouse(&ctx, req, &resp).ok());
    ExpectReflects(resp.position());
    EXPECT_EQ(resp.warehouse().name(), "West 2");
    grpc::ClientContext ctx2;
    req.set_warehouse("NOPE");
    EXPECT_EQ(q_->GetWarehouse(&ctx2, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    pb::ListWarehousesRequest req;
    grpc::ClientContext ctx;
    pb::ListWarehousesResponse resp;
    ASSERT_TRUE(q_->ListWarehouses(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.warehouses_size(), 2);
    EXPECT_EQ(resp.warehouses(0).warehouse(), "W1");
    EXPECT_EQ(resp.warehouses(1).warehouse(), "W2");
  }
  {
    // W2 holds A (4) and B (3, one reserved then released); page by one.
    pb::GetWarehouseInventoryRequest req;
    req.set_warehouse("W2");
    req.set_page_size(1);
    std::vector<std::pair<std::string, int64_t>> seen;
    for (int page = 0; page < 5; ++page) {
      grpc::ClientContext ctx;
      pb::GetWarehouseInventoryResponse resp;
      ASSERT_TRUE(q_->GetWarehouseInventory(&ctx, req, &resp).ok());
      for (const pb::StockLevel& l : resp.levels()) seen.emplace_back(l.sku(), l.on_hand());
      if (resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    EXPECT_EQ(seen, (std::vector<std::pair<std::string, int64_t>>{{"A", 4}, {"B", 3}}));
  }
}

TEST_F(QueryMethodsTest, BulkCheckAvailabilityAnswersEachCheck) {
  pb::BulkCheckAvailabilityRequest req;
  *req.mutable_read() = After();
  auto add = [&](const std::string& sku, int64_t quantity) {
    pb::OrderLine* l = req.add_checks()->add_lines();
    l->set_sku(sku);
    l->set_quantity(quantity);
  };
  add("A", 7);   // 11 available over W1 and W2, 7 in W1 alone
  add("A", 9);   // more than any one warehouse
  add("B", 3);
  grpc::ClientContext ctx;
  pb::BulkCheckAvailabilityResponse resp;
  ASSERT_TRUE(q_->BulkCheckAvailability(&ctx, req, &resp).ok());
  ExpectReflects(resp.position());
  ASSERT_EQ(resp.results_size(), 3);
  EXPECT_TRUE(resp.results(0).can_fulfil());
  EXPECT_FALSE(resp.results(1).can_fulfil());
  EXPECT_TRUE(resp.results(2).can_fulfil());
  req.mutable_checks(1)->mutable_lines(0)->set_quantity(0);
  grpc::ClientContext ctx2;
  grpc::Status bad = q_->BulkCheckAvailability(&ctx2, req, &resp);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message().rfind("checks[1].lines[0].quantity:", 0), 0u) << bad.error_message();
}

TEST_F(QueryMethodsTest, UnknownThingsAreNotFoundAndBadFieldsAreNamed) {
  grpc::ClientContext c1;
  pb::GetReservationRequest gr;
  gr.set_reservation_id("nope");
  pb::GetReservationResponse grr;
  EXPECT_EQ(q_->GetReservation(&c1, gr, &grr).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c2;
  pb::ListMovementsRequest lm;
  lm.set_sku("A");
  lm.set_since_ms(10);
  lm.set_until_ms(5);
  pb::ListMovementsResponse lmr;
  grpc::Status st = q_->ListMovements(&c2, lm, &lmr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("until_ms:", 0), 0u) << st.error_message();
  grpc::ClientContext c3;
  pb::ListReservationsRequest lr;
  lr.set_page_token("garbage!");
  pb::ListReservationsResponse lrr;
  st = q_->ListReservations(&c3, lr, &lrr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("page_token:", 0), 0u) << st.error_message();
}

TEST_F(QueryEndToEndTest, MovementsPageByTimeRangeWhileWritesContinue) {
  Warehouse("W1", "eu", 1);
  Item("A", "tools", 0);
  for (int i = 0; i < 40; ++i) {
    clock_->Advance(10);
    Receive("A", "W1", 1);
  }
  int64_t until = clock_->NowMs() + 1;
  std::atomic<bool> stop{false};
  std::thread writer([&] {  // later movements, outside the range being paged
    for (int i = 0; !stop.load() && i < 500; ++i) {
      clock_->Advance(10);
      pb::AdjustInventoryRequest req;
      *req.mutable_context() = Ctx();
      req.set_sku("A");
      req.set_warehouse("W1");
      req.set_receive_quantity(1);
      grpc::ClientContext ctx;
      pb::AdjustInventoryResponse resp;
      cmd_->AdjustInventory(&ctx, req, &resp);
    }
  });
  pb::ListMovementsRequest req;
  *req.mutable_read() = After();
  req.set_sku("A");
  req.set_since_ms(kStartMs + 100);  // the 10th receive on
  req.set_until_ms(until);
  req.set_page_size(7);
  std::vector<pb::Movement> got;
  do {
    grpc::ClientContext ctx;
    pb::ListMovementsResponse resp;
    ASSERT_TRUE(q_->ListMovements(&ctx, req, &resp).ok());
    EXPECT_LE(resp.movements_size(), 7);
    got.insert(got.end(), resp.movements().begin(), resp.movements().end());
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  stop = true;
  writer.join();
  ASSERT_EQ(got.size(), 31u) << "receives 10..40";
  std::set<std::string> ids;
  for (size_t i = 0; i < got.size(); ++i) {
    ids.insert(got[i].event_id());
    EXPECT_EQ(got[i].kind(), "received");
    EXPECT_GE(got[i].occurred_at_ms(), kStartMs + 100);
    EXPECT_LT(got[i].occurred_at_ms(), until);
    if (i > 0) {
      EXPECT_GT(got[i].occurred_at_ms(), got[i - 1].occurred_at_ms());
    }
  }
  EXPECT_EQ(ids.size(), got.size());
}

TEST_F(QueryEndToEndTest, ConsistencyTokenIsMetOrTimesOutSayingHowFarBehind) {
  Warehouse("W1", "eu", 1);
  Item("A", "tools", 0);
  for (int i = 0; i < 20; ++i) {
    Receive("A", "W1", 1);
    pb::GetInventoryLevelsRequest req;
    *req.mutable_read() = After();  // read right after the write: must see it
    req.add_skus("A");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    pb::GetInventoryLevelsResponse resp;
    ASSERT_TRUE(q_->GetInventoryLevels(&ctx, req, &resp).ok());
    ExpectReflects(resp.position());
    EXPECT_EQ(resp.levels(0).total().on_hand(), i + 1);
  }
  pb::GetItemRequest req;
  req.set_sku("A");
  pb::LogPosition* far = req.mutable_read()->mutable_min_token()->add_positions();
  far->set_partition(token_.positions(0).partition());
  far->set_offset(1'000'000);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 300ms);
  pb::GetItemResponse resp;
  grpc::Status st = q_->GetItem(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(st.error_message().find("offset 1000000 not applied"), std::string::npos) << st.error_message();
}

TEST_F(QueryEndToEndTest, StreamCatchesUpGoesLiveAndResumesAtARandomPoint) {
  Warehouse("W1", "eu", 1);
  std::vector<std::string> skus;
  for (int i = 0; i < 8; ++i) {
    skus.push_back(absl::StrCat("S", i));
    Item(skus.back(), "c", 0);
  }
  for (int i = 0; i < 120; ++i) Receive(skus[i % 8], "W1", 1);
  constexpr size_t kTotal = 240;
  std::thread writer([&] {
    for (int i = 0; i < 120; ++i) {
      pb::AdjustInventoryRequest req;
      *req.mutable_context() = Ctx();
      req.set_sku(skus[i % 8]);
      req.set_warehouse("W1");
      req.set_receive_quantity(1);
      grpc::ClientContext ctx;
      pb::AdjustInventoryResponse resp;
      cmd_->AdjustInventory(&ctx, req, &resp);
    }
  });
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  size_t cut_at = 1 + rng() % (kTotal - 1);
  std::vector<pb::InventoryUpdate> got;
  pb::StreamInventoryUpdatesRequest req;
  req.set_from_beginning(true);
  req.add_kinds("received");
  auto read = [&](size_t until) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 60s);
    auto reader = q_->StreamInventoryUpdates(&ctx, req);
    pb::InventoryUpdate u;
    while (got.size() < until && reader->Read(&u)) got.push_back(u);
    ctx.TryCancel();
    reader->Finish();
  };
  read(cut_at);
  ASSERT_EQ(got.size(), cut_at);
  std::map<uint32_t, uint64_t> last;
  for (const auto& u : got) last[u.position().partition()] = u.position().offset();
  req.set_from_beginning(false);
  for (auto [p, o] : last) {
    pb::LogPosition* pos = req.mutable_start_after()->add_positions();
    pos->set_partition(p);
    pos->set_offset(o);
  }
  read(kTotal);
  writer.join();
  ASSERT_EQ(got.size(), kTotal) << "cut at " << cut_at;
  std::set<std::string> ids;
  std::map<uint32_t, int64_t> prev;
  for (const auto& u : got) {
    ids.insert(u.movement().event_id());
    EXPECT_EQ(u.movement().kind(), "received");
    auto [it, fresh] = prev.try_emplace(u.position().partition(), -1);
    EXPECT_GT(static_cast<int64_t>(u.position().offset()), it->second) << "log order within a partition";
    it->second = static_cast<int64_t>(u.position().offset());
  }
  EXPECT_EQ(ids.size(), kTotal) << "no duplicate across the reconnect (cut at " << cut_at << ")";
}

}  // namespace
