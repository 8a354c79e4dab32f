// The server's limits, each hit by a real socket client (Beast, blocking),
// and one slow call not holding up others. The API routes run over a real
// QueryService on in-memory views through gRPC's in-process channel.
#include "http-api/http_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "http-api/api_routes.h"
#include "query-api/memory_views.h"
#include "query-api/query_service.h"

namespace http_api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// One blocking client connection.
class Client {
 public:
  explicit Client(int port) : socket_(ioc_) { socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port))); }

  // Sends one request and reads its answer; `ec` is set when the server
  // closed instead of answering.
  http::response<http::string_body> Call(http::verb method, std::string target, std::string body = "",
                                         std::vector<std::pair<std::string, std::string>> headers = {},
                                         beast::error_code* ec = nullptr) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (auto& [n, v] : headers) req.set(n, v);
    req.body() = std::move(body);
    req.prepare_payload();
    beast::error_code local;
    http::write(socket_, req, local);
    return Read(ec);
  }

  http::response<http::string_body> Read(beast::error_code* ec = nullptr) {
    http::response<http::string_body> res;
    beast::error_code local;
    http::read(socket_, buffer_, res, local);
    if (ec) *ec = local;
    return res;
  }

  // True when the server has closed the connection (reads EOF).
  bool Closed() {
    char byte;
    beast::error_code ec;
    socket_.read_some(net::buffer(&byte, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

  tcp::socket& socket() { return socket_; }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options) {
    views_ = std::make_unique<query_api::MemoryViews>(1);
    auto created = query_api::QueryServiceImpl::Create(views_.get());
    ASSERT_TRUE(created.ok()) << created.status();
    service_ = std::move(*created);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    grpc_ = builder.BuildAndStart();
    ASSERT_NE(grpc_, nullptr);
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options);
    ASSERT_TRUE(RegisterApiRoutes(server_.get(), grpc_->InProcessChannel(grpc::ChannelArguments())).ok());
    ASSERT_TRUE(server_
                    ->Register("POST", "/echo",
                               [](const HttpRequest& req, std::shared_ptr<Exchange> ex) {
                                 HttpResponse r;
                                 r.content_type = "text/plain";
                                 r.body = req.body;
                                 ex->Respond(std::move(r));
                               })
                    .ok());
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (service_) service_->Drain();
    if (grpc_) grpc_->Shutdown(std::chrono::system_clock::now() + 5s);
  }

  std::unique_ptr<query_api::MemoryViews> views_;
  std::unique_ptr<query_api::QueryServiceImpl> service_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, BodyOverTheLimitIs413AndTheServerGoesOn) {
  StartServer({.body_bytes_max = 100});
  Client c(server_->port());
  auto res = c.Call(http::verb::post, "/echo", std::string(200, 'x'));
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_NE(res.body().find("over the limit of 100 bytes"), std::string::npos) << res.body();
  Client fresh(server_->port());
  auto ok = fresh.Call(http::verb::post, "/echo", std::string(100, 'y'));
  EXPECT_EQ(ok.result_int(), 200u);
  EXPECT_EQ(ok.body(), std::string(100, 'y'));
}

TEST_F(HttpServerTest, HeadersOverTheLimitAre431) {
  StartServer({.header_bytes_max = 512});
  Client c(server_->port());
  auto res = c.Call(http::verb::get, "/health", "", {{"X-Big", std::string(1000, 'h')}});
  EXPECT_EQ(res.result_int(), 431u);
  Client fresh(server_->port());
  EXPECT_EQ(fresh.Call(http::verb::get, "/health", "", {{"X-Small", std::string(100, 'h')}}).result_int(), 200u);
}

TEST_F(HttpServerTest, ConnectionsPastTheLimitGet503) {
  StartServer({.connections_max = 2});
  Client a(server_->port());
  Client b(server_->port());
  EXPECT_EQ(a.Call(http::verb::get, "/health").result_int(), 200u);
  EXPECT_EQ(b.Call(http::verb::get, "/health").result_int(), 200u);
  Client c(server_->port());
  auto res = c.Call(http::verb::get, "/health");
  EXPECT_EQ(res.result_int(), 503u);
  EXPECT_NE(res.body().find("too many connections (limit 2)"), std::string::npos) << res.body();
  EXPECT_TRUE(c.Closed());
  // The first two are unharmed.
  EXPECT_EQ(a.Call(http::verb::get, "/health").result_int(), 200u);
}

TEST_F(HttpServerTest, KeepAliveRequestsPerConnectionAreBounded) {
  StartServer({.keep_alive_requests_max = 3});
  Client c(server_->port());
  for (int i = 1; i <= 3; ++i) {
    auto res = c.Call(http::verb::get, "/health");
    ASSERT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.keep_alive(), i < 3) << "request " << i;
  }
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
  StartServer({.idle_ms = 200ms});
  Client c(server_->port());
  EXPECT_EQ(c.Call(http::verb::get, "/health").result_int(), 200u);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.Closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  // Half a request is no better than none.
  Client slow(server_->port());
  net::write(slow.socket(), net::buffer(std::string("GET /health HTTP/1.1\r\nHost: x\r\n")));
  EXPECT_TRUE(slow.Closed());
}

TEST_F(HttpServerTest, RequestTimeBoundsAWaitingReadAndOthersAreNotHeldUp) {
  StartServer({.threads = 1, .request_ms = 500ms});
  views_->Edit([](query_api::MemoryData& d) { d.items["A"].set_sku("A"); });
  auto waiting = std::async(std::launch::async, [&] {
    Client c(server_->port());
    auto start = std::chrono::steady_clock::now();
    auto res = c.Call(http::verb::get, "/api/v1/items/A?minToken=0:5");
    return std::make_pair(res, std::chrono::steady_clock::now() - start);
  });
  std::this_thread::sleep_for(100ms);
  // One I/O thread, one parked read: other connections are answered at once.
  Client other(server_->port());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(other.Call(http::verb::get, "/api/v1/items/A").result_int(), 200u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
  auto [res, took] = waiting.get();
  EXPECT_EQ(res.result_int(), 504u) << res.body();
  EXPECT_NE(res.body().find("DEADLINE_EXCEEDED"), std::string::npos) << res.body();
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 5s);
}

TEST_F(HttpServerTest, BadInputKeepsTheConnection) {
  StartServer({});
  views_->Edit([](query_api::MemoryData& d) { d.items["A"].set_sku("A"); });
  Client c(server_->port());
  EXPECT_EQ(c.Call(http::verb::get, "/nope").result_int(), 404u);
  auto res = c.Call(http::verb::patch, "/api/v1/items/A");
  EXPECT_EQ(res.result_int(), 405u);
  EXPECT_EQ(res[http::field::allow], "GET, PUT, DELETE");
  EXPECT_EQ(c.Call(http::verb::get, "/api/v1/items?pageSize=lots").result_int(), 400u);
  EXPECT_EQ(c.Call(http::verb::post, "/api/v1/availability/check", "{nope").result_int(), 400u);
  EXPECT_EQ(c.Call(http::verb::post, "/api/v1/availability/check", "x", {{"Content-Type", "text/csv"}}).result_int(),
            415u);
  res = c.Call(http::verb::get, "/api/v1/items/A");
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_NE(res.body().find(R"("sku":"A")"), std::string::npos) << res.body();
}

TEST_F(HttpServerTest, StopEndsAnOpenEventStream) {
  StartServer({});
  Client c(server_->port());
  http::request<http::empty_body> req{http::verb::get, "/api/v1/stream", 11};
  req.set(http::field::host, "x");
  http::write(c.socket(), req);
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> header;
  http::read_header(c.socket(), buffer, header);
  EXPECT_EQ(header.get().result_int(), 200u);
  EXPECT_EQ(header.get()[http::field::content_type], "text/event-stream");
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  server_.reset();
}

}  // namespace
}  // namespace http_api
