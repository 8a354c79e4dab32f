// inventory-dev-kafka: a Kafka-protocol broker for development and tests.
//
// It is librdkafka's mock cluster (rdkafka_mock.h) listening on loopback:
// data lives in memory only (about 5 MB or 100000 message sets per
// partition, oldest dropped first), and transactions, read_committed and
// transactional offset commits are accepted but NOT enforced. See
// docs/event-log.md before trusting anything it says.
//
//   inventory-dev-kafka --topic inventory.events:8 --topic order.events:4 [--port 9092]
//
// The first line on stdout is the bootstrap address and nothing else, so a
// script can read it: `addr=$(inventory-dev-kafka ... | head -1)`. Runs until
// SIGINT or SIGTERM.
//
// SIGUSR1, for tests: the next EndTxn (a transaction's commit or abort) of
// any producer is refused with PRODUCER_FENCED, as a real cluster answers a
// writer that a newer one with its transactional id fenced. The broker
// still fences no one by itself (tests/fenced_writer_test.py).
//
// --port: librdkafka 2.0.2's mock brokers bind ephemeral ports, so a fixed
// port is a loopback forwarder to broker 1. Clients bootstrap through it and
// then connect to the brokers' advertised (ephemeral, loopback) addresses, so
// clients must run on this host.
#include <arpa/inet.h>
#include <dirent.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"

namespace {

struct TopicSpec {
  std::string name;
  int partitions = 0;
};

// "name:partitions" -> TopicSpec; false when malformed.
bool ParseTopic(const std::string& text, TopicSpec* spec) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  try {
    size_t used = 0;
    spec->partitions = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || spec->partitions < 1) return false;
  } catch (const std::exception&) {
    return false;
  }
  spec->name = text.substr(0, colon);
  return true;
}

// "host:port" of the first broker in a bootstrap list.
bool ParseFirstAddress(const std::string& bootstraps, sockaddr_in* addr) {
  const std::string first = bootstraps.substr(0, bootstraps.find(','));
  const size_t colon = first.rfind(':');
  if (colon == std::string::npos) return false;
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  addr->sin_port = htons(static_cast<uint16_t>(std::stoi(first.substr(colon + 1))));
  return inet_pton(AF_INET, first.substr(0, colon).c_str(), &addr->sin_addr) == 1;
}

// librdkafka 2.0.2's mock brokers leave Nagle on for accepted sockets, so a
// response written while the previous one is unacknowledged waits for the
// client's delayed ACK (40 ms on Linux) and every multi-partition transaction
// stalls. Real brokers set TCP_NODELAY; we do it for the mock, on every TCP
// socket of this process, each time we look.
void SetNoDelayOnAllTcpSockets() {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  while (dirent* entry = readdir(fds)) {
    const int fd = std::atoi(entry->d_name);
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_INET) continue;
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  }
  closedir(fds);
}

// Copies bytes both ways between two sockets until either side closes.
void Pump(int a, int b) {
  char buffer[64 << 10];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  while (poll(fds, 2, -1) > 0) {
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = read(fds[i].fd, buffer, sizeof(buffer));
      if (got <= 0) goto done;
      for (ssize_t sent = 0; sent < got;) {
        const ssize_t n = write(fds[1 - i].fd, buffer + sent, static_cast<size_t>(got - sent));
        if (n <= 0) goto done;
        sent += n;
      }
    }
  }
done:
  close(a);
  close(b);
}

// Accepts on 127.0.0.1:port and forwards each connection to `target`.
class Forwarder {
 public:
  bool Listen(uint16_t port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(listen_fd_, 64) == 0;
  }

  void Start(sockaddr_in target) {
    thread_ = std::thread([this, target] { AcceptLoop(target); });
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(listen_fd_);
  }

 private:
  void AcceptLoop(sockaddr_in target) {
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;  // wake every 100 ms to see stop_
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int upstream = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(upstream, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) != 0) {
        close(client);
        close(upstream);
        continue;
      }
      std::thread(Pump, client, upstream).detach();
    }
  }

  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kafka-protocol development broker (librdkafka mock cluster, in memory, loopback only)"};
  std::vector<std::string> topic_args;
  int port = 0;
  int brokers = 1;
  app.add_option("--topic", topic_args, "topic to create, NAME:PARTITIONS (repeatable)")->required();
  app.add_option("--port", port, "fixed bootstrap port on 127.0.0.1 (default: the broker's ephemeral port)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--brokers", brokers, "number of mock brokers (default 1)")->check(CLI::Range(1, 16));
  CLI11_PARSE(app, argc, argv);

  std::vector<TopicSpec> topics;
  for (const std::string& text : topic_args) {
    TopicSpec spec;
    if (!ParseTopic(text, &spec)) {
      std::fprintf(stderr, "--topic %s: want NAME:PARTITIONS with PARTITIONS >= 1\n", text.c_str());
      return 2;
    }
    topics.push_back(spec);
  }

  // Block the signals before librdkafka starts threads, so that they all
  // inherit the mask and sigwait below is the only place they arrive.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (owner == nullptr) {
    std::fprintf(stderr, "creating the mock cluster's client: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, brokers);
  if (cluster == nullptr) {
    std::fprintf(stderr, "creating the mock cluster failed\n");
    return 1;
  }
  for (const TopicSpec& topic : topics) {
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, topic.name.c_str(), topic.partitions, std::min(brokers, 3));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "creating topic %s: %s\n", topic.name.c_str(), rd_kafka_err2str(err));
      return 1;
    }
  }

  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  Forwarder forwarder;
  if (port != 0) {
    sockaddr_in target{};
    if (!ParseFirstAddress(bootstrap, &target) || !forwarder.Listen(static_cast<uint16_t>(port))) {
      std::fprintf(stderr, "cannot listen on 127.0.0.1:%d\n", port);
      return 1;
    }
    forwarder.Start(target);
    bootstrap = "127.0.0.1:" + std::to_string(port);
  }

  std::printf("%s\n", bootstrap.c_str());
  for (const TopicSpec& topic : topics) std::printf("topic %s partitions=%d\n", topic.name.c_str(), topic.partitions);
  std::fflush(stdout);

  int signal_number = -1;
  const timespec tick{0, 50'000'000};  // 50 ms: how soon new connections lose Nagle
  constexpr int16_t kApiEndTxn = 26;    // Kafka protocol API key (rdkafka_protocol.h is not installed)
  while (signal_number < 0) {
    SetNoDelayOnAllTcpSockets();
    signal_number = sigtimedwait(&signals, nullptr, &tick);
    if (signal_number == SIGUSR1) {
      rd_kafka_mock_push_request_errors(cluster, kApiEndTxn, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
      std::fprintf(stderr, "inventory-dev-kafka: SIGUSR1: the next EndTxn is refused with PRODUCER_FENCED\n");
      signal_number = -1;
    }
  }
  std::fprintf(stderr, "inventory-dev-kafka: signal %d, shutting down\n", signal_number);
  forwarder.Stop();
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
  return 0;
}
