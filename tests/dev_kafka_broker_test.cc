// End to end: start inventory-dev-kafka, talk to it with kcat (an ordinary
// Kafka client), check that produced messages come back and the topics have
// the partition counts asked for, then stop it with SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The broker as a child process whose stdout we read.
class Broker {
 public:
  explicit Broker(std::vector<std::string> args) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    args.insert(args.begin(), DEV_KAFKA_PATH);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, DEV_KAFKA_PATH, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    stdout_fd_ = fds[0];
  }
  ~Broker() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_fd_);
  }

  // The first line of stdout, or "" after 10 s.
  std::string FirstLine() {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd pfd{stdout_fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return "";
      char c = 0;
      if (read(stdout_fd_, &c, 1) != 1) return "";
      line.push_back(c);
    }
    line.pop_back();
    return line;
  }

  // SIGTERM, then the exit status (-1 unless it exited normally).
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

// Runs a shell command (bounded by `timeout`), returns its stdout; *rc gets
// its exit status.
std::string Run(const std::string& command, const std::string& input, int* rc) {
  const std::string bounded = "timeout 20 " + command;
  std::string output;
  if (input.empty()) {
    FILE* pipe = popen(bounded.c_str(), "r");
    char buffer[4096];
    size_t got = 0;
    while ((got = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, got);
    *rc = pclose(pipe);
  } else {
    FILE* pipe = popen(bounded.c_str(), "w");
    fwrite(input.data(), 1, input.size(), pipe);
    *rc = pclose(pipe);
  }
  return output;
}

void ProduceAndConsume(const std::string& bootstrap) {
  const std::string kcat = std::string(KCAT_PATH) + " -b " + bootstrap;
  int rc = -1;
  Run(kcat + " -P -t order.events -p 2 -K:", "order-1:paid\norder-2:cancelled\n", &rc);
  ASSERT_EQ(rc, 0) << "kcat produce failed";
  const std::string consumed = Run(kcat + " -C -t order.events -p 2 -o beginning -e -q -f '%k=%s\\n'", "", &rc);
  ASSERT_EQ(rc, 0) << "kcat consume failed";
  EXPECT_EQ(consumed, "order-1=paid\norder-2=cancelled\n");
  // Nothing leaked into another partition.
  const std::string other = Run(kcat + " -C -t order.events -p 1 -o beginning -e -q -f '%k=%s\\n'", "", &rc);
  EXPECT_EQ(other, "");
  const std::string metadata = Run(kcat + " -L -t inventory.events", "", &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_THAT(metadata, HasSubstr("topic \"inventory.events\" with 8 partitions"));
  const std::string orders = Run(kcat + " -L -t order.events", "", &rc);
  EXPECT_THAT(orders, HasSubstr("topic \"order.events\" with 4 partitions"));
}

TEST(DevKafkaBrokerTest, KcatRoundTripOnEphemeralPort) {
  Broker broker({"--topic", "inventory.events:8", "--topic", "order.events:4"});
  const std::string bootstrap = broker.FirstLine();
  ASSERT_THAT(bootstrap, StartsWith("127.0.0.1:"));
  ProduceAndConsume(bootstrap);
  EXPECT_EQ(broker.Stop(), 0);
}

TEST(DevKafkaBrokerTest, KcatRoundTripOnFixedPort) {
  // Ask the kernel for a free port, then hand it to the broker.
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  close(probe);

  Broker broker({"--topic", "inventory.events:8", "--topic", "order.events:4", "--port", std::to_string(port)});
  const std::string bootstrap = broker.FirstLine();
  ASSERT_EQ(bootstrap, "127.0.0.1:" + std::to_string(port));
  ProduceAndConsume(bootstrap);
  EXPECT_EQ(broker.Stop(), 0);
}

TEST(DevKafkaBrokerTest, RejectsMalformedTopic) {
  Broker broker({"--topic", "inventory.events"});
  EXPECT_EQ(broker.FirstLine(), "");  // exits without printing an address
  EXPECT_NE(broker.Stop(), 0);
}

}  // namespace
