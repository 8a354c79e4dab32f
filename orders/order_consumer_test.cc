// The consumer and the publisher in one process against librdkafka's mock
// cluster, over an in-memory log that injects append failures.
#include "orders/order_consumer.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/testing/temp_dir.h"
#include "eventlog/testing/fault_log.h"
#include "eventlog/testing/mock_kafka_cluster.h"
#include "gtest/gtest.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "eventlog/memory_log.h"
#include "orders/publisher.h"

namespace orders {
namespace {

using std::chrono::milliseconds;

// Waits (generously) for `done`; the assertions are on what happened, never on time.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return done();
}

class MockKafka {
 public:
  MockKafka() {
    cluster_.CreateTopic("order.events", 3);
    cluster_.CreateTopic("order.events.dlq", 1);
    cluster_.CreateTopic("inventory.public", 1);
    brokers_ = cluster_.bootstraps();
    // Upstream producers may send more than ours may (Kafka's broker limit is
    // set per topic): allow 2 MB so a 1 MB order event can be produced.
    auto producer = KafkaProducer::Open({.bootstrap_servers = brokers_, .message_bytes_max = 2'000'000});
    EXPECT_TRUE(producer.ok());
    producer_ = std::move(*producer);
  }
  ~MockKafka() {
    producer_.reset();
  }
  const std::string& brokers() const { return brokers_; }
  rd_kafka_mock_cluster_t* cluster() { return cluster_.get(); }

  void Produce(const std::string& key, const std::string& body) {
    ASSERT_TRUE(producer_->Produce("order.events", key, body, {}).ok());
  }
  void ProduceTo(const std::string& topic, const std::string& key, const std::string& body,
                 const KafkaHeaders& headers) {
    ASSERT_TRUE(producer_->Produce(topic, key, body, headers).ok());
  }
  void CreateTopic(const std::string& topic) { cluster_.CreateTopic(topic, 2); }
  void Flush() { ASSERT_TRUE(producer_->Flush().ok()); }

  // Every message of partition 0 of `topic` (value, headers by name).
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> ReadAll(const std::string& topic) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers_.c_str(), errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", "reader", errstr, sizeof(errstr));
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> out;
    int idle = 0;
    while (idle < 10) {  // until a second passes with nothing new
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (m == nullptr || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        idle += 1;
        if (m != nullptr) rd_kafka_message_destroy(m);
        continue;
      }
      idle = 0;
      std::map<std::string, std::string> headers;
      rd_kafka_headers_t* h = nullptr;
      if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          headers[name] = std::string(static_cast<const char*>(value), size);
        }
      }
      out.emplace_back(std::string(static_cast<const char*>(m->payload), m->len), std::move(headers));
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
  }

 private:
  eventlog::MockKafkaCluster cluster_;
  std::string brokers_;
  std::unique_ptr<KafkaProducer> producer_;
};

class OrdersInProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = eventlog::MemoryLog::Open({});
    ASSERT_TRUE(log.ok());
    memory_ = std::move(*log);
    faults_ = std::make_unique<eventlog::FaultLog>(memory_.get());
    auto writer = command_api::Writer::Open(faults_.get(), nullptr, &clock_, {});
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = std::move(*writer);
    Apply(ledger::RegisterWarehouse{ledger::WarehouseCode("W1"), "W1", "eu", 1, true}, "wh");
    Apply(ledger::CreateItem{ledger::Sku("MUG"), "Mug", "", {}, 0, 0}, "item");
    Apply(ledger::ReceiveStock{ledger::Sku("MUG"), ledger::WarehouseCode("W1"), 1000, ""}, "recv");
  }
  void TearDown() override {
    if (writer_ != nullptr) writer_->Stop();
  }

  void Apply(ledger::CommandBody body, const std::string& id) {
    std::promise<absl::Status> done;
    ASSERT_TRUE(writer_
                    ->Submit({{ledger::CommandId(id), {}, "test", ""}, std::move(body)},
                             [&](const command_api::WriteResult& r, const ledger::State&) { done.set_value(r.status); })
                    .ok());
    ASSERT_TRUE(done.get_future().get().ok()) << id;
  }

  // Runs a consumer with default options over what was produced until it has
  // handled `messages` messages, stops it, and returns its stats.
  OrderConsumerStats ConsumeMessages(std::uint64_t messages) {
    OrderConsumerOptions options;
    options.bootstrap_servers = kafka_.brokers();
    auto consumer = OrderConsumer::Open(writer_.get(), options);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return {};
    (*consumer)->Start();
    EXPECT_TRUE(Eventually([&] { return (*consumer)->stats().messages == messages; })) << (*consumer)->stats().messages;
    (*consumer)->Stop();
    return (*consumer)->stats();
  }

  // The ledger as the log holds it: every event folded from offset 0.
  ledger::State Fold() {
    ledger::State state;
    for (std::uint32_t p = 0; p < memory_->partition_count(); ++p) {
      std::uint64_t from = 0;
      while (true) {
        auto records = memory_->Read(p, from, 1000);
        EXPECT_TRUE(records.ok());
        if (!records.ok() || records->empty()) break;
        for (const eventlog::StoredRecord& r : *records) {
          auto event = ledger::Decode(r.payload);
          EXPECT_TRUE(event.ok());
          EXPECT_TRUE(ledger::Evolve(state, *event).ok());
          from = r.position.offset + 1;
        }
      }
    }
    return state;
  }

  base::SystemClock clock_;
  std::unique_ptr<eventlog::MemoryLog> memory_;
  std::unique_ptr<eventlog::FaultLog> faults_;
  std::unique_ptr<command_api::Writer> writer_;
  MockKafka kafka_;
};

std::string Created(int i) {
  return "{\"type\":\"order.created\",\"eventId\":\"c-" + std::to_string(i) + "\",\"orderId\":\"o-" +
         std::to_string(i) + "\",\"timestamp\":1,\"items\":[{\"sku\":\"MUG\",\"quantity\":2}]}";
}
std::string Confirmed(int i) {
  return "{\"type\":\"payment.confirmed\",\"eventId\":\"p-" + std::to_string(i) + "\",\"orderId\":\"o-" +
         std::to_string(i) + "\"}";
}

// Indexes into OrderConsumerStats::by_type and dead_letters_by_reason.
constexpr std::size_t kCreated = static_cast<std::size_t>(OrderEventType::kOrderCreated);
constexpr std::size_t kConfirmed = static_cast<std::size_t>(OrderEventType::kPaymentConfirmed);
constexpr std::size_t kCancelled = static_cast<std::size_t>(OrderEventType::kOrderCancelled);
constexpr std::size_t kUnknownType = kMessageTypeCount - 1;
template <typename Enum>
constexpr std::size_t At(Enum e) {
  return static_cast<std::size_t>(e);
}

TEST_F(OrdersInProcess, AppendFailuresAndSmallBatchesLoseAndDoubleNothing) {
  OrderConsumerOptions options;
  options.bootstrap_servers = kafka_.brokers();
  options.batch_messages_max = 50;  // the byte bound closes batches first
  options.batch_bytes_max = 500;    // about four messages
  options.retry_backoff_ms = 1;
  options.retry_backoff_max_ms = 20;
  auto consumer = OrderConsumer::Open(writer_.get(), options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  faults_->FailEveryNth(3);
  (*consumer)->Start();
  constexpr int kOrders = 150;
  std::size_t total_bytes = 0;
  for (int i = 0; i < kOrders; ++i) {
    total_bytes += Created(i).size() + Confirmed(i).size();
    kafka_.Produce("o-" + std::to_string(i), Created(i));
    kafka_.Produce("o-" + std::to_string(i), Confirmed(i));
    if (i % 50 == 0) kafka_.Produce("bad-" + std::to_string(i), "{\"type\":\"order.created\",\"orderId\":\"x\"");
  }
  kafka_.Flush();
  ASSERT_TRUE(Eventually([&] { return (*consumer)->stats().messages == 2 * kOrders + 3; }))
      << (*consumer)->stats().messages;
  faults_->FailEveryNth(0);
  (*consumer)->Stop();
  const OrderConsumerStats s = (*consumer)->stats();
  EXPECT_EQ(s.reserved, kOrders);
  EXPECT_EQ(s.committed, kOrders);
  EXPECT_EQ(s.dead_letters, 3u);
  EXPECT_EQ(s.reservation_failed, 0u);
  // A batch closes at 500 bytes, so it holds less than 500 + one message (< 200 bytes).
  EXPECT_GE(s.batches, total_bytes / 700);
  EXPECT_GT(faults_->failed_appends(), 0u);  // the retry path ran

  ledger::State state = Fold();
  for (int i = 0; i < kOrders; ++i) {
    const ledger::ReservationState* r = state.reservation(ledger::ReservationId("r-o-" + std::to_string(i)));
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(r->status(), ledger::ReservationStatus::kCommitted) << i;
  }
  const ledger::StockLevel level = state.Level(ledger::Sku("MUG"), ledger::WarehouseCode("W1"));
  EXPECT_EQ(level.on_hand, 1000 - 2 * kOrders);
  EXPECT_EQ(level.reserved, 0);

  auto dlq = kafka_.ReadAll("order.events.dlq");
  ASSERT_EQ(dlq.size(), 3u);
  for (const auto& [body, headers] : dlq) {
    EXPECT_EQ(headers.at("source.topic"), "order.events");
    EXPECT_TRUE(headers.count("source.partition") && headers.count("source.offset"));
    EXPECT_NE(headers.at("error").find("invalid JSON"), std::string::npos) << headers.at("error");
  }
}

// A fenced writer (its log refuses appends for good, command-api/writer.h)
// answers FAILED_PRECONDITION without a rejection: the log did not take the
// command, so nothing is dead-lettered or reported failed and no offset is
// stored; the orders stay in the topic for the current writer's consumer.
TEST_F(OrdersInProcess, AFencedWriterLeavesTheOrdersUnconsumed) {
  OrderConsumerOptions options;
  options.bootstrap_servers = kafka_.brokers();
  options.retry_backoff_ms = 1;
  options.retry_backoff_max_ms = 20;
  auto consumer = OrderConsumer::Open(writer_.get(), options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  faults_->FenceFromNow();
  (*consumer)->Start();
  for (int i = 0; i < 5; ++i) kafka_.Produce("o-" + std::to_string(i), Created(i));
  kafka_.Flush();
  ASSERT_TRUE(Eventually([&] { return !writer_->fenced().ok(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a few resubmissions, refused at Submit
  (*consumer)->Stop();
  const OrderConsumerStats s = (*consumer)->stats();
  EXPECT_EQ(s.messages, 0u);
  EXPECT_EQ(s.reserved, 0u);
  EXPECT_EQ(s.dead_letters, 0u);
  EXPECT_EQ(s.reservation_failed, 0u);
  EXPECT_TRUE(kafka_.ReadAll("order.events.dlq").empty());
  EXPECT_TRUE(kafka_.ReadAll("inventory.public").empty());
}

// A message of about 1 MB is refused as too large (the parser's bound), and
// its dead letter would pass librdkafka's 1,000,000-byte producer limit: it is
// cut, says so in headers, and the orders behind it on every partition go on.
TEST_F(OrdersInProcess, AnOversizeMessageLeavesACutDeadLetterAndBlocksNothing) {
  OrderConsumerOptions options;
  options.bootstrap_servers = kafka_.brokers();
  options.retry_backoff_ms = 1;
  options.retry_backoff_max_ms = 20;
  auto consumer = OrderConsumer::Open(writer_.get(), options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  (*consumer)->Start();
  const std::string huge = "{\"type\":\"order.created\",\"note\":\"" + std::string(1'050'000, 'x') + "\"}";
  kafka_.Produce("o-big", huge);
  constexpr int kOrders = 12;  // keyed apart, so they land on every partition
  for (int i = 0; i < kOrders; ++i) kafka_.Produce("o-" + std::to_string(i), Created(i));
  kafka_.Flush();
  ASSERT_TRUE(Eventually([&] { return (*consumer)->stats().messages == kOrders + 1; }))
      << (*consumer)->stats().messages;
  (*consumer)->Stop();
  const OrderConsumerStats s = (*consumer)->stats();
  EXPECT_EQ(s.reserved, kOrders);
  EXPECT_EQ(s.dead_letters, 1u);
  EXPECT_EQ(s.dead_letters_lost, 0u);
  EXPECT_EQ(s.by_type[kUnknownType][At(MessageOutcome::kDeadLetter)], 1u) << "not parsed: its type is unknown";
  EXPECT_EQ(s.by_type[kCreated][At(MessageOutcome::kApplied)], static_cast<std::uint64_t>(kOrders));
  EXPECT_EQ(s.dead_letters_by_reason[At(DeadLetterReason::kTooLarge)], 1u);

  auto dlq = kafka_.ReadAll("order.events.dlq");
  ASSERT_EQ(dlq.size(), 1u);
  const auto& [body, headers] = dlq[0];
  EXPECT_EQ(body.size(), options.dlq_body_bytes_max);
  EXPECT_EQ(body, huge.substr(0, options.dlq_body_bytes_max));
  EXPECT_EQ(headers.at("body.truncated"), "true");
  EXPECT_EQ(headers.at("body.bytes"), std::to_string(huge.size()));
  EXPECT_NE(headers.at("error").find("bytes; at most"), std::string::npos) << headers.at("error");
}

// inventory_orders_messages_total{type,outcome} and _dead_letters_total{reason}
// count from these: one message of each outcome.
TEST_F(OrdersInProcess, MessagesAreCountedByTypeOutcomeAndDeadLetterReason) {
  kafka_.Produce("o-1", Created(1));
  kafka_.Produce("o-1", Created(1));  // redelivered: the same command id
  kafka_.Produce("o-2", R"({"type":"order.created","eventId":"c-2","orderId":"o-2","timestamp":1,)"
                        R"("items":[{"sku":"MUG","quantity":100000}]})");  // more than is held
  kafka_.Produce("o-3", R"({"type":"order.cancelled","eventId":"x-3","orderId":"o-3"})");  // never reserved
  kafka_.Produce("o-4", R"({"type":"payment.confirmed","eventId":"p-4","orderId":"o-4"})");  // nothing to commit
  kafka_.Produce("o-5", "{");
  kafka_.Flush();
  const OrderConsumerStats s = ConsumeMessages(6);
  std::array<std::array<std::uint64_t, kMessageOutcomeCount>, kMessageTypeCount> want{};
  want[kCreated][At(MessageOutcome::kApplied)] = 1;
  want[kCreated][At(MessageOutcome::kDuplicate)] = 1;
  want[kCreated][At(MessageOutcome::kRefused)] = 1;
  want[kCancelled][At(MessageOutcome::kIgnored)] = 1;
  want[kConfirmed][At(MessageOutcome::kDeadLetter)] = 1;
  want[kUnknownType][At(MessageOutcome::kDeadLetter)] = 1;
  for (std::size_t t = 0; t < kMessageTypeCount; ++t) {
    for (std::size_t o = 0; o < kMessageOutcomeCount; ++o) {
      EXPECT_EQ(s.by_type[t][o], want[t][o]) << MessageTypeName(t) << " " << ToString(static_cast<MessageOutcome>(o));
    }
  }
  std::array<std::uint64_t, kDeadLetterReasonCount> reasons{};
  reasons[At(DeadLetterReason::kCannotCommit)] = 1;
  reasons[At(DeadLetterReason::kInvalidMessage)] = 1;
  EXPECT_EQ(s.dead_letters_by_reason, reasons);
  EXPECT_EQ(s.dead_letters, 2u);
  EXPECT_EQ(MessageTypeName(kUnknownType), "unknown");
  EXPECT_EQ(MessageTypeName(kConfirmed), "payment.confirmed");
}

// Outcomes do not depend on batching: in one partition and one batch, X
// reserves the last 5, pays, is cancelled (the 5 come back), and Y's 5 are
// then reserved, as message order says.
TEST_F(OrdersInProcess, AReturnAfterCancellationIsDecidedInMessageOrder) {
  Apply(ledger::CreateItem{ledger::Sku("CUP"), "Cup", "", {}, 0, 0}, "cup");
  Apply(ledger::ReceiveStock{ledger::Sku("CUP"), ledger::WarehouseCode("W1"), 5, ""}, "cup-recv");
  auto created = [](const std::string& order) {
    return "{\"type\":\"order.created\",\"eventId\":\"c-" + order + "\",\"orderId\":\"" + order +
           "\",\"timestamp\":1,\"items\":[{\"sku\":\"CUP\",\"quantity\":5}]}";
  };
  // One key: one partition, and everything is produced before the consumer
  // starts, so the four messages arrive in one poll.
  kafka_.Produce("k", created("X"));
  kafka_.Produce("k", R"({"type":"payment.confirmed","eventId":"p-X","orderId":"X"})");
  kafka_.Produce("k", R"({"type":"order.cancelled","eventId":"x-X","orderId":"X"})");
  kafka_.Produce("k", created("Y"));
  kafka_.Flush();
  const OrderConsumerStats s = ConsumeMessages(4);
  EXPECT_EQ(s.batches, 1u);
  EXPECT_EQ(s.reserved, 2u);
  EXPECT_EQ(s.returned, 1u);
  EXPECT_EQ(s.reservation_failed, 0u);
  ledger::State state = Fold();
  const ledger::ReservationState* y = state.reservation(ledger::ReservationId("r-Y"));
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->status(), ledger::ReservationStatus::kActive);
  const ledger::StockLevel level = state.Level(ledger::Sku("CUP"), ledger::WarehouseCode("W1"));
  EXPECT_EQ(level.on_hand, 5);
  EXPECT_EQ(level.reserved, 5);
}

// One topic per event type, and CloudEvents binary-mode headers: typed by
// configuration; a message whose sources disagree is a dead letter.
TEST_F(OrdersInProcess, TypedTopicsAndCloudEventsHeaders) {
  kafka_.CreateTopic("orders.created");
  kafka_.CreateTopic("payments.confirmed");
  OrderConsumerOptions options;
  options.bootstrap_servers = kafka_.brokers();
  options.typed_topics = {{"orders.created", "order.created"}, {"payments.confirmed", "payment.confirmed"}};
  options.cloudevents = true;
  auto consumer = OrderConsumer::Open(writer_.get(), options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  (*consumer)->Start();
  kafka_.ProduceTo("orders.created", "t-1",
                   R"({"eventId":"c-t1","orderId":"t-1","timestamp":1,"items":[{"sku":"MUG","quantity":1}]})", {});
  kafka_.Flush();
  // Topics are not ordered with each other: the payment follows once its
  // order is in (docs/orders.md).
  ASSERT_TRUE(Eventually([&] { return (*consumer)->stats().reserved == 1; })) << (*consumer)->stats().reserved;
  kafka_.ProduceTo("payments.confirmed", "t-1", R"({"orderId":"t-1"})", {{"ce_id", "ce-p1"}});
  kafka_.ProduceTo("order.events", "t-2",
                   R"({"eventId":"c-t2","orderId":"t-2","timestamp":1,"items":[{"sku":"MUG","quantity":1}]})",
                   {{"ce_type", "order.created"}});
  // The topic says payment.confirmed, the header says payment.failed.
  kafka_.ProduceTo("payments.confirmed", "t-2", R"({"eventId":"p-t2","orderId":"t-2"})",
                   {{"type", "payment.failed"}});
  kafka_.Flush();
  ASSERT_TRUE(Eventually([&] { return (*consumer)->stats().messages == 4; })) << (*consumer)->stats().messages;
  (*consumer)->Stop();
  const OrderConsumerStats s = (*consumer)->stats();
  EXPECT_EQ(s.reserved, 2u);
  EXPECT_EQ(s.committed, 1u);
  EXPECT_EQ(s.dead_letters, 1u);
  EXPECT_EQ(s.dead_letters_by_reason[At(DeadLetterReason::kTypeConflict)], 1u);
  EXPECT_EQ(s.by_type[kUnknownType][At(MessageOutcome::kDeadLetter)], 1u) << "its sources disagree on the type";
  EXPECT_EQ(s.by_type[kCreated][At(MessageOutcome::kApplied)], 2u);
  EXPECT_EQ(s.by_type[kConfirmed][At(MessageOutcome::kApplied)], 1u);
  ledger::State state = Fold();
  EXPECT_EQ(state.reservation(ledger::ReservationId("r-t-1"))->status(), ledger::ReservationStatus::kCommitted);
  EXPECT_EQ(state.reservation(ledger::ReservationId("r-t-2"))->status(), ledger::ReservationStatus::kActive);
  auto dlq = kafka_.ReadAll("order.events.dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].second.at("source.topic"), "payments.confirmed");
  EXPECT_NE(dlq[0].second.at("error").find("says \"payment.failed\""), std::string::npos) << dlq[0].second.at("error");
}

// A permanent produce error is final: retrying could never succeed.
TEST(KafkaProducer, ATooLargeMessageIsAPermanentError) {
  MockKafka kafka;
  auto producer = KafkaProducer::Open({.bootstrap_servers = kafka.brokers(), .message_bytes_max = 10'000});
  ASSERT_TRUE(producer.ok()) << producer.status();
  absl::Status s = (*producer)->Produce("order.events", "k", std::string(20'000, 'x'), {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE((*producer)->Produce("order.events", "k", "small", {}).ok());
  EXPECT_TRUE((*producer)->Flush().ok());
}

TEST_F(OrdersInProcess, PublisherKeepsItsPositionAcrossRestarts) {
  const base::TempDir dir("orders_publisher");
  PublisherOptions options;
  options.position_path = dir / "position";
  options.producer.bootstrap_servers = kafka_.brokers();
  options.batch_records_max = 2;  // several batches, each at the bound
  {
    auto publisher = Publisher::Open(memory_.get(), options);
    ASSERT_TRUE(publisher.ok()) << publisher.status();
    (*publisher)->Start();
    // The seed: the new item is out of stock (an alert; the warehouse event
    // publishes nothing), then its receipt's stock_updated and back_in_stock.
    ASSERT_TRUE(Eventually([&] { return (*publisher)->stats().records == 3; }));
    (*publisher)->Stop();
    EXPECT_EQ((*publisher)->stats().published, 3u);
  }
  ledger::Reserve reserve;
  reserve.reservation_id = ledger::ReservationId("r-1");
  reserve.order_id = ledger::OrderId("o-1");
  reserve.lines = {{ledger::Sku("MUG"), 5, {}}};
  Apply(reserve, "o-1");
  Apply(ledger::CommitReservation{ledger::ReservationId("r-1")}, "o-1/commit");
  {
    auto publisher = Publisher::Open(memory_.get(), options);
    ASSERT_TRUE(publisher.ok()) << publisher.status();
    EXPECT_EQ((*publisher)->stats().records, 3u);  // caught up to the saved position without publishing
    (*publisher)->Start();
    ASSERT_TRUE(Eventually([&] { return (*publisher)->stats().records == 5; }));
    (*publisher)->Stop();
    EXPECT_EQ((*publisher)->stats().published, 2u);
  }
  auto published = kafka_.ReadAll("inventory.public");
  std::vector<std::string> types;
  for (const auto& [body, headers] : published) types.push_back(headers.at("type"));
  EXPECT_EQ(types, (std::vector<std::string>{"inventory.out_of_stock", "inventory.stock_updated",
                                             "inventory.back_in_stock", "inventory.reserved", "inventory.confirmed"}));
  EXPECT_NE(published[4].first.find("\"orderId\":\"o-1\""), std::string::npos) << published[4].first;
}

// The broker goes down while the order consumer and the publisher run, with
// orders produced before, during and after: neither gets stuck, every order
// is reserved and committed once in the ledger, and every public event of
// the ledger's records is delivered (at least once: docs/orders.md).
TEST_F(OrdersInProcess, ConsumerAndPublisherResumeAfterTheBrokerWasDown) {
  const base::TempDir dir("orders_broker_down");
  PublisherOptions publisher_options;
  publisher_options.position_path = dir / "position";
  publisher_options.producer.bootstrap_servers = kafka_.brokers();
  auto publisher = Publisher::Open(memory_.get(), publisher_options);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  (*publisher)->Start();
  OrderConsumerOptions options;
  options.bootstrap_servers = kafka_.brokers();
  options.retry_backoff_ms = 1;
  options.retry_backoff_max_ms = 50;
  auto consumer = OrderConsumer::Open(writer_.get(), options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  (*consumer)->Start();
  auto produce = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      kafka_.Produce("o-" + std::to_string(i), Created(i));
      kafka_.Produce("o-" + std::to_string(i), Confirmed(i));
    }
  };
  constexpr int kOrders = 60;
  produce(0, 20);
  kafka_.Flush();
  ASSERT_TRUE(Eventually([&] { return (*consumer)->stats().messages == 40; })) << (*consumer)->stats().messages;

  ASSERT_EQ(rd_kafka_mock_broker_set_down(kafka_.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  produce(20, 40);  // queued in the test's producer until the broker is back
  Apply(ledger::ReceiveStock{ledger::Sku("MUG"), ledger::WarehouseCode("W1"), 7, ""}, "recv-while-down");
  std::this_thread::sleep_for(milliseconds(1500));  // the consumer polls and the publisher retries against it
  ASSERT_EQ(rd_kafka_mock_broker_set_up(kafka_.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  produce(40, kOrders);
  kafka_.Flush();

  ASSERT_TRUE(Eventually([&] { return (*consumer)->stats().messages == 2 * kOrders; }))
      << (*consumer)->stats().messages;
  std::uint64_t records = 0;  // offsets may have gaps: count the records
  for (std::uint32_t p = 0; p < memory_->partition_count(); ++p) records += memory_->Read(p, 0, 1'000'000)->size();
  ASSERT_TRUE(Eventually([&] { return (*publisher)->stats().records == records; }))
      << (*publisher)->stats().records << " of " << records << " records folded, " << (*publisher)->stats().published
      << " published in " << (*publisher)->stats().batches << " batches";
  (*consumer)->Stop();
  (*publisher)->Stop();
  EXPECT_FALSE((*publisher)->stats().failed);
  EXPECT_EQ((*consumer)->stats().dead_letters, 0u);

  ledger::State state = Fold();
  for (int i = 0; i < kOrders; ++i) {
    const ledger::ReservationState* r = state.reservation(ledger::ReservationId("r-o-" + std::to_string(i)));
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(r->status(), ledger::ReservationStatus::kCommitted) << i;
  }
  const ledger::StockLevel level = state.Level(ledger::Sku("MUG"), ledger::WarehouseCode("W1"));
  EXPECT_EQ(level.on_hand, 1000 + 7 - 2 * kOrders) << "each order taken once";
  EXPECT_EQ(level.reserved, 0);

  std::set<std::string> confirmed, receipts;  // distinct bodies: a redelivered event repeats its body
  for (const auto& [body, headers] : kafka_.ReadAll("inventory.public")) {
    if (headers.at("type") == "inventory.confirmed") confirmed.insert(body);
    if (headers.at("type") == "inventory.stock_updated" && body.find("\"cause\":\"stock_received\"") != std::string::npos) {
      receipts.insert(body);
    }
  }
  EXPECT_EQ(confirmed.size(), static_cast<std::size_t>(kOrders)) << "a confirmed event for every order";
  EXPECT_EQ(receipts.size(), 2u) << "the seed's receipt and the one made while the broker was down";
}

// Live, a record that does not decode stops the publisher at that record
// (ErrorPolicy::kStop): nothing of its batch is published and the saved
// position stays before it. At start-up, catching up past it aborts Open
// (ErrorPolicy::kAbort).
TEST_F(OrdersInProcess, PublisherStopsAtARecordThatDoesNotDecode) {
  const base::TempDir dir("orders_publisher_bad");
  PublisherOptions options;
  options.position_path = dir / "position";
  options.producer.bootstrap_servers = kafka_.brokers();
  auto publisher = Publisher::Open(memory_.get(), options);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  (*publisher)->Start();
  ASSERT_TRUE(Eventually([&] { return (*publisher)->stats().records == 3; }));
  // The seed's events: out_of_stock (item created), stock_updated and
  // back_in_stock (its receipt); ledger/stock_rules.h.
  ASSERT_TRUE(Eventually([&] { return (*publisher)->stats().published == 3; }));
  auto bad = memory_->Append(std::vector<eventlog::LogRecord>{{"MUG", "\xff\xfe not an event"}});
  ASSERT_TRUE(bad.ok()) << bad.status();
  Apply(ledger::ReceiveStock{ledger::Sku("MUG"), ledger::WarehouseCode("W1"), 5, ""}, "recv-2");
  ASSERT_TRUE(Eventually([&] { return (*publisher)->stats().failed; }));
  (*publisher)->Stop();
  EXPECT_EQ((*publisher)->stats().published, 3u) << "nothing after the bad record is published";
  const eventlog::LogPosition at = bad->front();
  EXPECT_LE((*publisher)->position()[at.partition], at.offset) << "the saved position passed the bad record";

  absl::StatusOr<base::NextOffsets> ends = memory_->EndOffsets();
  ASSERT_TRUE(ends.ok());
  ASSERT_TRUE(SavePosition(options.position_path, *ends).ok());
  auto reopened = Publisher::Open(memory_.get(), options);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss) << reopened.status();
  EXPECT_NE(reopened.status().message().find("log record " + std::to_string(at.partition) + ":" +
                                             std::to_string(at.offset)),
            std::string::npos)
      << reopened.status();
}

}  // namespace
}  // namespace orders
