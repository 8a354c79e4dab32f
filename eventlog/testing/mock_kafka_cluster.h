// librdkafka's mock cluster in the test's own process (the engine of the
// development broker, tools/dev_kafka_broker.cc): brokers on loopback, topics
// made by the test, and the mock's fault controls (rd_kafka_mock.h: a broker
// down, injected request errors, added round-trip time) through get().
// Destroying one can take a second: a test binary usually keeps one.
#ifndef EVENTLOG_TESTING_MOCK_KAFKA_CLUSTER_H_
#define EVENTLOG_TESTING_MOCK_KAFKA_CLUSTER_H_

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>

#include "base/check.h"

namespace eventlog {

class MockKafkaCluster {
 public:
  explicit MockKafkaCluster(int brokers = 1) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    INV_CHECK(owner_ != nullptr) << errstr;
    cluster_ = rd_kafka_mock_cluster_new(owner_, brokers);
    INV_CHECK(cluster_ != nullptr);
  }
  ~MockKafkaCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(owner_);
  }
  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  rd_kafka_mock_cluster_t* get() { return cluster_; }
  std::string bootstraps() { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  // Creates `topic` with `partitions` partitions, replication factor 1.
  void CreateTopic(const std::string& topic, int partitions) {
    INV_CHECK(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) == RD_KAFKA_RESP_ERR_NO_ERROR)
        << topic;
  }

 private:
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace eventlog

#endif  // EVENTLOG_TESTING_MOCK_KAFKA_CLUSTER_H_
