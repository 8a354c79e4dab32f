// QueryService over an in-memory ViewSource, through a real in-process gRPC
// server: request validation, paging while writes continue, the consistency
// token wait, and StreamInventoryUpdates (catch-up then live, reconnects,
// slow subscribers, bounds, 1,000 subscribers). The same service over the real
// projector is tested end to end in tests/query_service_test.cc.
#include "query-api/query_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "query-api/memory_views.h"

namespace query_api {
namespace {

using namespace std::chrono_literals;

class QueryServiceTest : public ::testing::Test {
 protected:
  void Start(QueryServiceOptions options = {}, uint32_t partitions = 4) {
    views_ = std::make_unique<MemoryViews>(partitions);
    auto service = QueryServiceImpl::Create(views_.get(), options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = pb::QueryService::NewStub(Channel(0));
  }
  void TearDown() override {
    if (service_) service_->Drain();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 5s);
    service_.reset();
  }
  // A separate connection per `n` (streams spread over connections).
  std::shared_ptr<grpc::Channel> Channel(int n) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", n);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args);
  }

  // One event with one update: sku, warehouse, kind; its id names it.
  uint64_t Apply(uint32_t partition, const std::string& sku, const std::string& wh = "W1",
                 const std::string& kind = "received", bool low = false, size_t payload = 0) {
    pb::InventoryUpdate u;
    pb::Movement* m = u.mutable_movement();
    m->set_sku(sku);
    m->set_warehouse(wh);
    m->set_kind(kind);
    m->set_actor(std::string(payload, 'x'));
    m->set_event_id(absl::StrCat("e", next_event_.fetch_add(1)));
    u.set_low_stock(low);
    return views_->Apply(partition, {u});
  }

  static std::string Key(const pb::InventoryUpdate& u) {
    return absl::StrCat(u.position().partition(), ":", u.position().offset());
  }

  std::unique_ptr<MemoryViews> views_;
  std::unique_ptr<QueryServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::QueryService::Stub> stub_;
  int port_ = 0;
  std::atomic<int> next_event_{0};
};

void AddItem(MemoryData& d, const std::string& sku, const std::string& category) {
  pb::Item& item = d.items[sku];
  item.set_sku(sku);
  item.set_category(category);
  item.set_status(pb::ITEM_STATUS_ACTIVE);
}

// ---- unary reads -----------------------------------------------------------

TEST_F(QueryServiceTest, GetItemAnswersWithItsPositionOrNotFound) {
  Start();
  views_->Edit([](MemoryData& d) { AddItem(d, "A", "tools"); });
  Apply(2, "A");
  grpc::ClientContext ctx;
  pb::GetItemRequest req;
  req.set_sku("A");
  pb::GetItemResponse resp;
  ASSERT_TRUE(stub_->GetItem(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.item().category(), "tools");
  ASSERT_EQ(resp.position().applied_size(), 4);
  EXPECT_EQ(resp.position().applied(2).offset(), 1u);

  grpc::ClientContext ctx2;
  req.set_sku("B");
  grpc::Status st = stub_->GetItem(&ctx2, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("sku"), std::string::npos);

  grpc::ClientContext ctx3;
  req.clear_sku();
  st = stub_->GetItem(&ctx3, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("sku:", 0), 0u) << st.error_message();
}

TEST_F(QueryServiceTest, ListItemsPagesWithoutGapOrRepeatWhileWritesContinue) {
  Start();
  views_->Edit([](MemoryData& d) {
    for (int i = 0; i < 250; ++i) AddItem(d, absl::StrCat("S", 1000 + i), i % 2 ? "odd" : "even");
  });
  std::atomic<bool> stop{false};
  std::thread writer([&] {  // new items keep arriving, before and after the cursor
    for (int i = 0; !stop.load(); ++i) {
      views_->Edit([i](MemoryData& d) { AddItem(d, absl::StrCat("S", i % 2 ? 0 : 9, 500 + i), "even"); });
      std::this_thread::yield();
    }
  });
  std::vector<std::string> seen;
  pb::ListItemsRequest req;
  req.set_page_size(7);
  req.set_category("odd");
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    pb::ListItemsResponse resp;
    ASSERT_TRUE(stub_->ListItems(&ctx, req, &resp).ok());
    EXPECT_LE(resp.items_size(), 7);
    for (const pb::Item& item : resp.items()) {
      EXPECT_EQ(item.category(), "odd");
      seen.push_back(item.sku());
    }
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!req.page_token().empty());
  stop = true;
  writer.join();
  EXPECT_GE(pages, 18);
  ASSERT_EQ(seen.size(), 125u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 125u);
}

TEST_F(QueryServiceTest, ListItemsRefusesBadPageTokenAndPageSize) {
  Start();
  pb::ListItemsRequest req;
  req.set_page_token("not-a-token");
  grpc::ClientContext ctx;
  pb::ListItemsResponse resp;
  grpc::Status st = stub_->ListItems(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("page_token:", 0), 0u) << st.error_message();

  for (int size : {-1, 1001}) {
    grpc::ClientContext c;
    pb::ListItemsRequest r;
    r.set_page_size(size);
    st = stub_->ListItems(&c, r, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message().rfind("page_size:", 0), 0u) << st.error_message();
  }
}

TEST_F(QueryServiceTest, ListItemsTokenIsBoundToItsFilters) {
  Start();
  views_->Edit([](MemoryData& d) {
    for (int i = 0; i < 5; ++i) AddItem(d, absl::StrCat("S", i), "c");
  });
  pb::ListItemsRequest req;
  req.set_page_size(2);
  req.set_category("c");
  grpc::ClientContext ctx;
  pb::ListItemsResponse resp;
  ASSERT_TRUE(stub_->ListItems(&ctx, req, &resp).ok());
  ASSERT_FALSE(resp.next_page_token().empty());
  req.set_page_token(resp.next_page_token());
  req.set_category("other");
  grpc::ClientContext ctx2;
  grpc::Status st = stub_->ListItems(&ctx2, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("page_token"), std::string::npos);
}

TEST_F(QueryServiceTest, GetInventoryLevelsBoundsAndUnknownSku) {
  Start();
  views_->Edit([](MemoryData& d) {
    AddItem(d, "A", "c");
    AddItem(d, "NOSTOCK", "c");
    pb::StockLevel& l = d.levels[{"A", "W1"}];
    l.set_sku("A");
    l.set_warehouse("W1");
    l.set_on_hand(5);
    l.set_reserved(2);
  });
  pb::GetInventoryLevelsRequest req;
  req.add_skus("A");
  req.add_skus("NOSTOCK");
  grpc::ClientContext ctx;
  pb::GetInventoryLevelsResponse resp;
  ASSERT_TRUE(stub_->GetInventoryLevels(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.levels_size(), 2);
  EXPECT_EQ(resp.levels(0).total().available(), 3);
  ASSERT_EQ(resp.levels(0).warehouses_size(), 1);
  EXPECT_EQ(resp.levels(1).total().on_hand(), 0);
  EXPECT_EQ(resp.levels(1).warehouses_size(), 0);

  req.add_skus("GHOST");
  grpc::ClientContext ctx2;
  grpc::Status st = stub_->GetInventoryLevels(&ctx2, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message().rfind("skus[2]:", 0), 0u) << st.error_message();

  pb::GetInventoryLevelsRequest too_many;
  for (int i = 0; i < 1001; ++i) too_many.add_skus("A");
  grpc::ClientContext ctx3;
  st = stub_->GetInventoryLevels(&ctx3, too_many, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("skus:", 0), 0u) << st.error_message();
}

TEST_F(QueryServiceTest, SalesBlocksShowInLevelsReportAndAvailability) {
  QueryServiceOptions options;
  options.report_skus_max = 2;
  Start(options);
  views_->Edit([](MemoryData& d) {
    AddItem(d, "A", "c");
    AddItem(d, "B", "c");
    for (const char* wh : {"W1", "W2"}) {
      pb::Warehouse& w = d.warehouses[wh];
      w.set_warehouse(wh);
      w.set_active(true);
      w.set_priority(wh[1] == '1' ? 1 : 2);
      pb::StockLevel& l = d.levels[{"A", wh}];
      l.set_sku("A");
      l.set_warehouse(wh);
      l.set_on_hand(5);
    }
    pb::SalesBlock* b = d.items["A"].add_sales_blocks();
    b->set_sku("A");
    b->set_warehouse("W1");
    b->set_reason("audit");
    for (const char* reason : {"recall", "price error"}) {
      pb::SalesBlock* everywhere = d.items["B"].add_sales_blocks();
      everywhere->set_sku("B");
      everywhere->set_warehouse(reason[0] == 'r' ? "" : "W2");
      everywhere->set_reason(reason);
    }
  });
  pb::GetInventoryLevelsRequest req;
  req.add_skus("A");
  grpc::ClientContext ctx;
  pb::GetInventoryLevelsResponse levels;
  ASSERT_TRUE(stub_->GetInventoryLevels(&ctx, req, &levels).ok());
  ASSERT_EQ(levels.levels(0).sales_blocks_size(), 1);
  EXPECT_EQ(levels.levels(0).sales_blocks(0).reason(), "audit");

  grpc::ClientContext report_ctx;
  pb::GetInventoryReportResponse report;
  ASSERT_TRUE(stub_->GetInventoryReport(&report_ctx, pb::GetInventoryReportRequest(), &report).ok());
  ASSERT_EQ(report.sales_blocks_size(), 2) << "cut at report_skus_max";
  EXPECT_EQ(report.sales_blocks(0).sku(), "A");
  EXPECT_EQ(report.sales_blocks(1).reason(), "recall");
  EXPECT_TRUE(report.sales_blocks_truncated());

  // W1 is blocked for A: allocation takes W2; naming W1 cannot be fulfilled.
  pb::CheckAvailabilityRequest check;
  pb::OrderLine* line = check.add_lines();
  line->set_sku("A");
  line->set_quantity(2);
  grpc::ClientContext check_ctx;
  pb::CheckAvailabilityResponse got;
  ASSERT_TRUE(stub_->CheckAvailability(&check_ctx, check, &got).ok());
  EXPECT_TRUE(got.can_fulfil());
  ASSERT_EQ(got.allocations_size(), 1);
  EXPECT_EQ(got.allocations(0).warehouse(), "W2");
  EXPECT_EQ(got.lines(0).sales_block(), "");
  line->set_warehouse("W1");
  grpc::ClientContext named_ctx;
  ASSERT_TRUE(stub_->CheckAvailability(&named_ctx, check, &got).ok());
  EXPECT_FALSE(got.can_fulfil());
  EXPECT_EQ(got.lines(0).available(), 2) << "what W1 holds is still reported";
  EXPECT_EQ(got.lines(0).sales_block(), "sales of A are blocked at W1: audit");
  line->set_sku("B");
  line->clear_warehouse();
  grpc::ClientContext everywhere_ctx;
  ASSERT_TRUE(stub_->CheckAvailability(&everywhere_ctx, check, &got).ok());
  EXPECT_FALSE(got.can_fulfil());
  EXPECT_EQ(got.lines(0).sales_block(), "sales of B are blocked everywhere: recall");
}

TEST_F(QueryServiceTest, BulkCheckAvailabilityIsBoundedBySkusMax) {
  Start();
  views_->Edit([](MemoryData& d) {
    AddItem(d, "A", "c");
    pb::Warehouse& w = d.warehouses["W1"];
    w.set_warehouse("W1");
    w.set_active(true);
    pb::StockLevel& l = d.levels[{"A", "W1"}];
    l.set_sku("A");
    l.set_warehouse("W1");
    l.set_on_hand(3);
  });
  auto bulk = [&](int checks, int lines_each, pb::BulkCheckAvailabilityResponse* resp) {
    pb::BulkCheckAvailabilityRequest req;
    for (int c = 0; c < checks; ++c) {
      pb::CheckAvailabilityRequest* check = req.add_checks();
      for (int l = 0; l < lines_each; ++l) {
        pb::OrderLine* line = check->add_lines();
        line->set_sku("A");
        line->set_quantity(1 + c % 5);
      }
    }
    grpc::ClientContext ctx;
    return stub_->BulkCheckAvailability(&ctx, req, resp);
  };
  pb::BulkCheckAvailabilityResponse resp;
  ASSERT_TRUE(bulk(1000, 1, &resp).ok()) << "1,000 SKUs: the bound itself is served";
  ASSERT_EQ(resp.results_size(), 1000);
  EXPECT_TRUE(resp.results(2).can_fulfil());   // 3 of 3
  EXPECT_FALSE(resp.results(3).can_fulfil());  // 4 of 3
  EXPECT_EQ(resp.results(3).lines(0).available(), 3);
  EXPECT_EQ(resp.position().applied_size(), 4);

  grpc::Status st = bulk(1001, 1, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("checks:", 0), 0u) << st.error_message();
  st = bulk(2, 501, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "1,002 lines over 2 checks";
  EXPECT_EQ(st.error_message().rfind("checks:", 0), 0u) << st.error_message();
  EXPECT_NE(st.error_message().find("1002"), std::string::npos) << st.error_message();
}

TEST_F(QueryServiceTest, AvailabilityReadsUseTheLevelsSnapshot) {
  Start();
  views_->Edit([](MemoryData& d) { AddItem(d, "A", "c"); });
  size_t before = views_->levels_snapshots();
  grpc::ClientContext item_ctx;
  pb::GetItemRequest item;
  item.set_sku("A");
  pb::GetItemResponse item_resp;
  ASSERT_TRUE(stub_->GetItem(&item_ctx, item, &item_resp).ok());
  EXPECT_EQ(views_->levels_snapshots(), before) << "GetItem reads the whole views";

  grpc::ClientContext levels_ctx;
  pb::GetInventoryLevelsRequest levels;
  levels.add_skus("A");
  pb::GetInventoryLevelsResponse levels_resp;
  ASSERT_TRUE(stub_->GetInventoryLevels(&levels_ctx, levels, &levels_resp).ok());
  grpc::ClientContext check_ctx;
  pb::CheckAvailabilityRequest check;
  pb::OrderLine* line = check.add_lines();
  line->set_sku("A");
  line->set_quantity(1);
  pb::CheckAvailabilityResponse check_resp;
  ASSERT_TRUE(stub_->CheckAvailability(&check_ctx, check, &check_resp).ok());
  grpc::ClientContext bulk_ctx;
  pb::BulkCheckAvailabilityRequest bulk;
  *bulk.add_checks() = check;
  pb::BulkCheckAvailabilityResponse bulk_resp;
  ASSERT_TRUE(stub_->BulkCheckAvailability(&bulk_ctx, bulk, &bulk_resp).ok());
  EXPECT_EQ(views_->levels_snapshots(), before + 3);
}

TEST_F(QueryServiceTest, ConsistencyTokenWaitIsMetOnceApplied) {
  Start();
  views_->Edit([](MemoryData& d) { AddItem(d, "A", "c"); });
  pb::GetItemRequest req;
  req.set_sku("A");
  pb::LogPosition* pos = req.mutable_read()->mutable_min_token()->add_positions();
  pos->set_partition(3);
  pos->set_offset(1);  // the second event of partition 3: not applied yet
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  pb::GetItemResponse resp;
  std::promise<grpc::Status> done;
  stub_->async()->GetItem(&ctx, &req, &resp, [&](grpc::Status s) { done.set_value(s); });
  auto f = done.get_future();
  while (service_->waiting_reads() == 0) std::this_thread::sleep_for(1ms);  // parked, not answered
  Apply(3, "A");
  Apply(3, "A");
  ASSERT_TRUE(f.get().ok());
  EXPECT_GE(resp.position().applied(3).offset(), 2u) << "the answer reflects the token";
  EXPECT_EQ(resp.item().sku(), "A");
}

TEST_F(QueryServiceTest, ConsistencyTokenWaitTimesOutSayingHowFarBehind) {
  QueryServiceOptions options;
  options.token_wait_max = 50ms;  // answers before the call's own (long) deadline
  Start(options);
  views_->Edit([](MemoryData& d) { AddItem(d, "A", "c"); });
  pb::GetItemRequest req;
  req.set_sku("A");
  pb::LogPosition* pos = req.mutable_read()->mutable_min_token()->add_positions();
  pos->set_partition(1);
  pos->set_offset(41);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  pb::GetItemResponse resp;
  grpc::Status st = stub_->GetItem(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(st.error_message().find("partition 1 offset 41"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("42 events behind"), std::string::npos) << st.error_message();

  grpc::ClientContext ctx2;
  pos->set_partition(9);
  st = stub_->GetItem(&ctx2, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("read.min_token.positions[0].partition:", 0), 0u) << st.error_message();
}

// ---- StreamInventoryUpdates ------------------------------------------------

// Reads a stream into `out` until `count` messages or the end.
grpc::Status ReadStream(pb::QueryService::Stub* stub, const pb::StreamInventoryUpdatesRequest& req, size_t count,
                        std::vector<pb::InventoryUpdate>* out, grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + 120s);  // a gap fails the test instead of hanging it
  auto reader = stub->StreamInventoryUpdates(ctx, req);
  pb::InventoryUpdate u;
  while (out->size() < count && reader->Read(&u)) out->push_back(u);
  if (out->size() >= count) ctx->TryCancel();
  return reader->Finish();
}

TEST_F(QueryServiceTest, StreamCatchesUpThenGoesLiveWithoutGapOrDuplicate) {
  QueryServiceOptions options;
  options.stream.catch_up_chunk = 8;  // many catch-up steps interleave with live batches
  Start(options);
  for (int i = 0; i < 300; ++i) Apply(static_cast<uint32_t>(i % 4), absl::StrCat("S", i % 7));
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i) Apply(static_cast<uint32_t>((i * 3) % 4), absl::StrCat("S", i % 7));
  });
  pb::StreamInventoryUpdatesRequest req;
  req.set_from_beginning(true);
  std::vector<pb::InventoryUpdate> got;
  grpc::ClientContext ctx;
  ReadStream(stub_.get(), req, 600, &got, &ctx);
  writer.join();
  ASSERT_EQ(got.size(), 600u);
  std::set<std::string> ids;
  std::map<uint32_t, int64_t> last;
  for (const auto& u : got) {
    ids.insert(u.movement().event_id());
    int64_t& l = last.try_emplace(u.position().partition(), -1).first->second;
    EXPECT_EQ(static_cast<int64_t>(u.position().offset()), l + 1) << "partition order without gaps";
    l = static_cast<int64_t>(u.position().offset());
  }
  EXPECT_EQ(ids.size(), 600u) << "no duplicates";
}

TEST_F(QueryServiceTest, StreamReconnectedAtRandomPointsLosesAndRepeatsNothing) {
  QueryServiceOptions options;
  options.stream.catch_up_chunk = 16;
  Start(options);
  for (int i = 0; i < 200; ++i) Apply(static_cast<uint32_t>(i % 4), "S");
  std::atomic<bool> stop{false};
  std::atomic<int> written{200};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 2000; ++i) {
      Apply(static_cast<uint32_t>(i % 3), "S");
      written.fetch_add(1);
      std::this_thread::sleep_for(200us);
    }
  });
  std::mt19937 rng(7);
  std::vector<pb::InventoryUpdate> all;
  pb::StreamInventoryUpdatesRequest req;
  req.set_from_beginning(true);
  for (int round = 0; round < 6; ++round) {
    size_t take = 1 + rng() % 150;
    std::vector<pb::InventoryUpdate> part;
    grpc::ClientContext ctx;
    ReadStream(stub_.get(), req, take, &part, &ctx);
    ASSERT_EQ(part.size(), take);
    all.insert(all.end(), part.begin(), part.end());
    // Resume after the last position received on each partition.
    std::map<uint32_t, uint64_t> last;
    for (const auto& u : all) last[u.position().partition()] = u.position().offset();
    req.Clear();
    for (auto [p, o] : last) {
      pb::LogPosition* pos = req.mutable_start_after()->add_positions();
      pos->set_partition(p);
      pos->set_offset(o);
    }
  }
  stop = true;
  writer.join();
  // Finally read everything still owed, up to the last event written.
  size_t remaining = static_cast<size_t>(written.load()) - all.size();
  std::vector<pb::InventoryUpdate> rest;
  grpc::ClientContext ctx;
  ReadStream(stub_.get(), req, remaining, &rest, &ctx);
  all.insert(all.end(), rest.begin(), rest.end());
  std::set<std::string> ids;
  for (const auto& u : all) ids.insert(u.movement().event_id());
  EXPECT_EQ(ids.size(), all.size()) << "no duplicates across reconnects";
  EXPECT_EQ(all.size(), static_cast<size_t>(written.load())) << "no gaps";
}

TEST_F(QueryServiceTest, StreamFiltersBySkuWarehouseKindAndLowStock) {
  Start();
  Apply(0, "A", "W1", "received");
  Apply(1, "A", "W2", "received");
  Apply(2, "B", "W1", "received");
  Apply(3, "A", "W1", "adjusted", /*low=*/true);
  Apply(0, "A", "W1", "received", /*low=*/true);
  pb::StreamInventoryUpdatesRequest req;
  req.set_from_beginning(true);
  req.add_skus("A");
  req.add_warehouses("W1");
  req.add_kinds("received");
  req.set_low_stock_only(true);
  // The one match (0:1) is last in partition 0; a live one follows.
  std::thread later([&] {
    std::this_thread::sleep_for(20ms);
    Apply(2, "A", "W1", "adjusted", true);   // wrong kind
    Apply(2, "A", "W1", "received", true);   // match
  });
  std::vector<pb::InventoryUpdate> got;
  grpc::ClientContext ctx;
  ReadStream(stub_.get(), req, 2, &got, &ctx);
  later.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Key(got[0]), "0:1");
  EXPECT_EQ(Key(got[1]), "2:2");
}

TEST_F(QueryServiceTest, StreamRefusesMalformedRequestNamingTheField) {
  Start();
  pb::StreamInventoryUpdatesRequest req;
  req.mutable_start_after()->add_positions()->set_partition(9);
  std::vector<pb::InventoryUpdate> got;
  grpc::ClientContext ctx;
  grpc::Status st = ReadStream(stub_.get(), req, 1, &got, &ctx);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("start_after.positions[0].partition:", 0), 0u) << st.error_message();

  pb::StreamInventoryUpdatesRequest req2;
  req2.add_skus("");
  grpc::ClientContext ctx2;
  st = ReadStream(stub_.get(), req2, 1, &got, &ctx2);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("skus[0]:", 0), 0u) << st.error_message();
}

TEST_F(QueryServiceTest, SubscribersPastTheBoundAreRefused) {
  QueryServiceOptions options;
  options.hub.subscribers_max = 2;
  Start(options);
  grpc::ClientContext c1, c2, c3;
  pb::StreamInventoryUpdatesRequest req;
  auto r1 = stub_->StreamInventoryUpdates(&c1, req);
  auto r2 = stub_->StreamInventoryUpdates(&c2, req);
  while (service_->subscribers() < 2) std::this_thread::sleep_for(1ms);
  auto r3 = stub_->StreamInventoryUpdates(&c3, req);
  pb::InventoryUpdate u;
  EXPECT_FALSE(r3->Read(&u));
  grpc::Status st = r3->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  Apply(0, "A");
  EXPECT_TRUE(r1->Read(&u));
  EXPECT_TRUE(r2->Read(&u));
  c1.TryCancel();
  c2.TryCancel();
  r1->Finish();
  r2->Finish();
  while (service_->subscribers() > 0) std::this_thread::sleep_for(1ms);  // OnDone removed them
}

TEST_F(QueryServiceTest, SlowSubscriberIsCutWhileFastOnesContinue) {
  QueryServiceOptions options;
  options.stream.buffer_max = 64;
  Start(options);
  constexpr size_t kEvents = 3000;
  // The slow subscriber never reads: its transport fills, then its queue.
  grpc::ClientContext slow_ctx;
  pb::StreamInventoryUpdatesRequest req;
  auto slow = stub_->StreamInventoryUpdates(&slow_ctx, req);
  std::vector<std::thread> fast;
  std::vector<std::vector<pb::InventoryUpdate>> got(2);
  std::atomic<size_t> received[2] = {0, 0};
  std::atomic<bool> ended[2] = {false, false};
  for (int i = 0; i < 2; ++i) {
    fast.emplace_back([&, i] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 120s);
      auto reader = stub_->StreamInventoryUpdates(&ctx, req);
      pb::InventoryUpdate u;
      while (got[i].size() < kEvents && reader->Read(&u)) {
        got[i].push_back(u);
        received[i].store(got[i].size());
      }
      ended[i] = true;
      ctx.TryCancel();
      reader->Finish();
    });
  }
  while (service_->subscribers() < 3) std::this_thread::sleep_for(1ms);
  for (size_t i = 0; i < kEvents; ++i) {
    // Fast readers keep up: the writer never runs more than 16 events ahead
    // of them (well inside buffer_max); the slow one is never waited for.
    while (!(ended[0] || ended[1]) && std::min(received[0].load(), received[1].load()) + 16 < i) {
      std::this_thread::sleep_for(50us);
    }
    Apply(static_cast<uint32_t>(i % 4), "S", "W1", "received", false, 2000);
  }
  for (auto& t : fast) t.join();
  EXPECT_EQ(got[0].size(), kEvents);
  EXPECT_EQ(got[1].size(), kEvents);
  // The slow one: some updates, then RESOURCE_EXHAUSTED telling it how to resume.
  pb::InventoryUpdate u;
  size_t slow_got = 0;
  while (slow->Read(&u)) ++slow_got;
  grpc::Status st = slow->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("start_after"), std::string::npos);
  EXPECT_LT(slow_got, kEvents);
}

TEST_F(QueryServiceTest, DrainAnswersParkedReadsAndEndsStreams) {
  Start();
  views_->Edit([](MemoryData& d) { AddItem(d, "A", "c"); });
  grpc::ClientContext stream_ctx;
  auto stream = stub_->StreamInventoryUpdates(&stream_ctx, pb::StreamInventoryUpdatesRequest());
  pb::GetItemRequest req;
  req.set_sku("A");
  req.mutable_read()->mutable_min_token()->add_positions()->set_offset(100);
  grpc::ClientContext ctx;
  pb::GetItemResponse resp;
  std::promise<grpc::Status> done;
  stub_->async()->GetItem(&ctx, &req, &resp, [&](grpc::Status s) { done.set_value(s); });
  while (service_->waiting_reads() == 0 || service_->subscribers() == 0) std::this_thread::sleep_for(1ms);
  service_->Drain();
  EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::UNAVAILABLE);
  pb::InventoryUpdate u;
  EXPECT_FALSE(stream->Read(&u));
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(st.error_message().find("start_after"), std::string::npos);
}

// 1,000 concurrent subscribers on the callback client API, a few connections.
class CountingReader final : public grpc::ClientReadReactor<pb::InventoryUpdate> {
 public:
  CountingReader(pb::QueryService::Stub* stub, size_t want, std::atomic<int>* done_count)
      : want_(want), done_count_(done_count) {
    ctx_.set_deadline(std::chrono::system_clock::now() + 120s);
    stub->async()->StreamInventoryUpdates(&ctx_, &req_, this);
    StartRead(&u_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (u_.position().offset() == seen_ && u_.position().partition() == 0) ++seen_;
    if (++count_ == want_) {
      done_count_->fetch_add(1);
      ctx_.TryCancel();
      return;
    }
    StartRead(&u_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    cv_.notify_all();
  }
  void Await() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_; });
  }
  size_t count() const { return count_; }
  size_t in_order() const { return seen_; }

 private:
  grpc::ClientContext ctx_;
  pb::StreamInventoryUpdatesRequest req_;
  pb::InventoryUpdate u_;
  const size_t want_;
  std::atomic<int>* done_count_;
  size_t count_ = 0;
  size_t seen_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
};

TEST_F(QueryServiceTest, AThousandSubscribersEachReceiveEveryUpdate) {
  Start({}, 1);
  constexpr int kSubscribers = 1000;
  constexpr int kEvents = 20;
  std::vector<std::unique_ptr<pb::QueryService::Stub>> stubs;
  for (int c = 0; c < 10; ++c) stubs.push_back(pb::QueryService::NewStub(Channel(c + 1)));
  std::atomic<int> complete{0};
  std::vector<std::unique_ptr<CountingReader>> readers;
  for (int i = 0; i < kSubscribers; ++i) {
    readers.push_back(std::make_unique<CountingReader>(stubs[i % 10].get(), kEvents, &complete));
  }
  while (service_->subscribers() < kSubscribers) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(views_->listeners(), 1u) << "one projector listener for every subscriber";
  for (int i = 0; i < kEvents; ++i) Apply(0, "S");
  for (auto& r : readers) r->Await();
  EXPECT_EQ(complete.load(), kSubscribers);
  for (auto& r : readers) {
    EXPECT_EQ(r->count(), static_cast<size_t>(kEvents));
    EXPECT_EQ(r->in_order(), static_cast<size_t>(kEvents)) << "offsets 0..19 in order";
  }
}

}  // namespace
}  // namespace query_api
