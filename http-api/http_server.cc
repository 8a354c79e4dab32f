#include "http-api/http_server.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <condition_variable>
#include <deque>
#include <optional>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "http-api/codec.h"

namespace http_api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return std::string();
}

bool HttpRequest::HasHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.first == name) return true;
  }
  return false;
}

namespace {

class Session;

// Most bytes read and dropped after a refused request (413, 431). 16 MiB.
constexpr size_t kDrainBytesMax = 16 << 20;

const char* ReasonOf(unsigned status) {
  switch (status) {
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    default: return nullptr;
  }
}

HttpResponse ErrorResponse(unsigned status, grpc::StatusCode code, std::string message) {
  HttpResponse r;
  r.status = status;
  pb::HttpError error;
  error.set_code(CodeName(code));
  error.set_message(std::move(message));
  r.body = PrintJson(error);
  return r;
}

// The verified peer certificate's subject in RFC 2253 form ("CN=ops-client"),
// as gRPC's x509_subject gives it, or "" without one.
std::string PeerSubject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    X509_free(cert);
    return std::string();
  }
  std::string subject;
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr && X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) subject.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  X509_free(cert);
  return subject;
}

absl::StatusOr<std::shared_ptr<ssl::context>> LoadTlsContext(const HttpTlsOptions& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  beast::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("TLS certificate ", tls.cert_file, ": ", ec.message()));
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("TLS key ", tls.key_file, ": ", ec.message()));
  if (!tls.client_ca_file.empty()) {
    ctx->load_verify_file(tls.client_ca_file, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("TLS client CA ", tls.client_ca_file, ": ", ec.message()));
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace

struct HttpServer::Impl {
  HttpServer* server;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  std::mutex mu;
  std::shared_ptr<ssl::context> tls;  // guarded by mu; null: plain HTTP. New connections take the current one.
  std::condition_variable released;
  size_t exchanges = 0;  // guarded by mu: Exchanges alive (other threads may post through them)
  std::vector<std::weak_ptr<Session>> sessions;  // guarded by mu
  bool stopping = false;                         // guarded by mu

  void Accept();
};

namespace {

// One connection. Every member function runs on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ssl::context> tls, HttpServer::Impl* impl,
          const HttpServerOptions& options, const Router<Handler>& router, std::atomic<size_t>* connections,
          bool over_limit)
      : stream_(MakeStream(std::move(socket), tls.get())),
        tls_(std::move(tls)),
        timer_(Tcp().get_executor()),
        impl_(impl),
        options_(options),
        router_(router),
        connections_(connections),
        over_limit_(over_limit) {
    connections_->fetch_add(1);
  }
  ~Session() { connections_->fetch_sub(1); }

  void Start() {
    net::dispatch(Tcp().get_executor(), [self = shared_from_this()] { self->Handshake(); });
  }
  void Close() {
    net::post(Tcp().get_executor(), [self = shared_from_this()] { self->DoClose(); });
  }

  // From the Exchange (any thread): hop onto the strand.
  template <typename F>
  void Post(F f) {
    net::post(Tcp().get_executor(), [self = shared_from_this(), f = std::move(f)]() mutable { f(*self); });
  }

  void Write(HttpResponse r);
  void WriteEventsHeader(std::vector<std::pair<std::string, std::string>> headers);
  void QueueEvent(std::string text, std::function<void(bool)> sent, bool last);
  void SetOnClose(std::function<void()> closed) {
    if (closed_) {
      if (closed) closed();
      return;
    }
    on_close_ = std::move(closed);
  }
  std::chrono::milliseconds request_time() const { return options_.request_ms; }

 private:
  struct Pending {
    std::string text;
    std::function<void(bool)> sent;
    bool last = false;
  };

  static std::variant<PlainStream, TlsStream> MakeStream(tcp::socket socket, ssl::context* tls) {
    if (tls == nullptr) return std::variant<PlainStream, TlsStream>(std::in_place_type<PlainStream>, std::move(socket));
    return std::variant<PlainStream, TlsStream>(std::in_place_type<TlsStream>, std::move(socket), *tls);
  }
  // The TCP layer under either stream (timeouts, shutdown, the executor).
  beast::tcp_stream& Tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream_);
  }
  // Runs f(stream) on whichever stream this connection has.
  template <typename F>
  void WithStream(F&& f) {
    std::visit(std::forward<F>(f), stream_);
  }

  void Handshake();
  void DoRead();
  void OnRead(beast::error_code ec);
  void Handle(http::request<http::string_body> req);
  void DoClose();
  void Drain(size_t left);
  void Pump();
  void Heartbeat();

  std::variant<PlainStream, TlsStream> stream_;
  std::shared_ptr<ssl::context> tls_;  // the context stream_ was made with: kept alive with it
  std::string client_subject_;         // mTLS: the verified client certificate's subject
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl* const impl_;
  const HttpServerOptions& options_;
  const Router<Handler>& router_;
  std::atomic<size_t>* const connections_;
  const bool over_limit_;
  int requests_ = 0;
  bool keep_alive_ = true;
  bool drain_ = false;  // after 413/431: read the unread rest before closing
  bool closed_ = false;
  std::function<void()> on_close_;
  // Event stream state.
  bool events_ = false;
  bool writing_ = false;
  std::deque<Pending> queue_;
};

// The handler's side of one request.
class RequestExchange final : public Exchange {
 public:
  RequestExchange(std::shared_ptr<Session> session, HttpServer::Impl* impl) : session_(std::move(session)), impl_(impl) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    ++impl_->exchanges;
  }
  ~RequestExchange() override {
    session_.reset();
    std::lock_guard<std::mutex> lock(impl_->mu);
    --impl_->exchanges;
    impl_->released.notify_all();
  }
  void Respond(HttpResponse response) override {
    session_->Post([r = std::move(response)](Session& s) mutable { s.Write(std::move(r)); });
  }
  void StartEvents(std::vector<std::pair<std::string, std::string>> headers) override {
    session_->Post([h = std::move(headers)](Session& s) mutable { s.WriteEventsHeader(std::move(h)); });
  }
  void SendEvent(std::string text, std::function<void(bool)> sent) override {
    session_->Post([t = std::move(text), sent = std::move(sent)](Session& s) mutable {
      s.QueueEvent(std::move(t), std::move(sent), false);
    });
  }
  void EndEvents(std::string text) override {
    session_->Post([t = std::move(text)](Session& s) mutable { s.QueueEvent(std::move(t), nullptr, true); });
  }
  void OnClose(std::function<void()> closed) override {
    session_->Post([c = std::move(closed)](Session& s) mutable { s.SetOnClose(std::move(c)); });
  }
  std::chrono::milliseconds request_time() const override { return session_->request_time(); }

 private:
  std::shared_ptr<Session> session_;
  HttpServer::Impl* const impl_;
};

// TLS: the handshake first, within idle_ms; a failed one closes the
// connection (there is no HTTP to answer with yet).
void Session::Handshake() {
  auto* tls = std::get_if<TlsStream>(&stream_);
  if (tls == nullptr) return DoRead();
  Tcp().expires_after(options_.idle_ms);
  tls->async_handshake(ssl::stream_base::server, [self = shared_from_this(), tls](beast::error_code ec) {
    if (ec) return self->DoClose();
    self->client_subject_ = PeerSubject(tls->native_handle());
    self->DoRead();
  });
}

void Session::DoRead() {
  if (closed_) return;
  parser_.emplace();
  parser_->body_limit(options_.body_bytes_max);
  parser_->header_limit(static_cast<std::uint32_t>(options_.header_bytes_max));
  Tcp().expires_after(options_.idle_ms);
  WithStream([&](auto& s) {
    http::async_read(s, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  });
}

void Session::OnRead(beast::error_code ec) {
  if (closed_) return;
  if (!ec) return Handle(parser_->release());
  keep_alive_ = false;
  drain_ = ec == http::error::body_limit || ec == http::error::header_limit;
  if (ec == http::error::body_limit) {
    return Write(ErrorResponse(413, grpc::StatusCode::INVALID_ARGUMENT,
                               absl::StrCat("request body is over the limit of ", options_.body_bytes_max, " bytes")));
  }
  if (ec == http::error::header_limit) {
    return Write(ErrorResponse(431, grpc::StatusCode::INVALID_ARGUMENT,
                               absl::StrCat("request line and headers are over the limit of ",
                                            options_.header_bytes_max, " bytes")));
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return Write(ErrorResponse(400, grpc::StatusCode::INVALID_ARGUMENT, "malformed HTTP request: " + ec.message()));
  }
  DoClose();  // end of stream, idle timeout, reset
}

void Session::Handle(http::request<http::string_body> req) {
  ++requests_;
  keep_alive_ = req.keep_alive() && requests_ < options_.keep_alive_requests_max && !over_limit_;
  Tcp().expires_never();
  if (over_limit_) {
    return Write(ErrorResponse(503, grpc::StatusCode::UNAVAILABLE,
                               absl::StrCat("too many connections (limit ", options_.connections_max, ")")));
  }
  HttpRequest request;
  request.method = std::string(req.method_string());
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  request.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) request.query = ParseQueryString(target.substr(q + 1));
  for (const auto& field : req) {
    request.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                                 std::string(field.value()));
  }
  request.body = std::move(req.body());
  request.client_subject = client_subject_;
  Router<Handler>::Match match = router_.Find(request.method, request.path);
  if (match.handler == nullptr && match.allow.empty()) {
    return Write(ErrorResponse(404, grpc::StatusCode::NOT_FOUND, absl::StrCat("no route for ", request.path)));
  }
  if (match.handler == nullptr) {
    std::string allow = absl::StrJoin(match.allow, ", ");
    HttpResponse r = ErrorResponse(405, grpc::StatusCode::UNIMPLEMENTED,
                                   absl::StrCat(request.method, " is not allowed on ", request.path, "; allowed: ",
                                                allow));
    r.headers.emplace_back("Allow", allow);
    return Write(std::move(r));
  }
  request.params = std::move(match.params);
  (*match.handler)(request, std::make_shared<RequestExchange>(shared_from_this(), impl_));
}

void Session::Write(HttpResponse r) {
  if (closed_) return;
  auto res = std::make_shared<http::response<http::string_body>>();
  res->version(11);
  res->result(r.status);
  if (const char* reason = ReasonOf(r.status)) res->reason(reason);
  res->set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res->set(name, value);
  res->keep_alive(keep_alive_);
  res->body() = std::move(r.body);
  res->prepare_payload();
  Tcp().expires_after(options_.idle_ms);
  WithStream([&](auto& s) {
    http::async_write(s, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      self->on_close_ = nullptr;
      if (!ec && self->drain_) return self->Drain(kDrainBytesMax);
      if (ec || !self->keep_alive_) return self->DoClose();
      self->DoRead();
    });
  });
}

void Session::WriteEventsHeader(std::vector<std::pair<std::string, std::string>> headers) {
  if (closed_) return;
  auto res = std::make_shared<http::response<http::empty_body>>(http::status::ok, 11);
  res->set(http::field::content_type, "text/event-stream");
  res->set(http::field::cache_control, "no-cache");
  for (const auto& [name, value] : headers) res->set(name, value);
  res->keep_alive(false);
  res->chunked(true);
  auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*res);
  writing_ = true;
  Tcp().expires_after(options_.idle_ms);
  WithStream([&](auto& s) {
    http::async_write_header(s, *serializer, [self = shared_from_this(), res, serializer](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (ec) return self->DoClose();
      self->events_ = true;
      self->Heartbeat();
      self->Pump();
    });
  });
}

void Session::QueueEvent(std::string text, std::function<void(bool)> sent, bool last) {
  if (closed_) {
    if (sent) sent(false);
    return;
  }
  queue_.push_back({std::move(text), std::move(sent), last});
  Pump();
}

void Session::Pump() {
  if (closed_ || writing_ || !events_ || queue_.empty()) return;
  auto item = std::make_shared<Pending>(std::move(queue_.front()));
  queue_.pop_front();
  writing_ = true;
  Tcp().expires_after(options_.idle_ms);
  auto done = [self = shared_from_this(), item](beast::error_code ec, size_t) {
    self->writing_ = false;
    if (ec) {
      if (item->sent) item->sent(false);
      return self->DoClose();
    }
    if (item->last) return self->DoClose();
    if (item->sent) item->sent(true);
    self->Pump();
  };
  WithStream([&](auto& s) {
    if (!item->last) return net::async_write(s, http::make_chunk(net::buffer(item->text)), std::move(done));
    if (item->text.empty()) return net::async_write(s, http::make_chunk_last(), std::move(done));
    // The last event and the terminating chunk in one write.
    auto chunk = std::make_shared<std::string>(absl::StrCat(absl::Hex(item->text.size()), "\r\n", item->text,
                                                            "\r\n0\r\n\r\n"));
    net::async_write(s, net::buffer(*chunk), [chunk, done](beast::error_code ec, size_t n) { done(ec, n); });
  });
}

void Session::Heartbeat() {
  timer_.expires_after(options_.heartbeat_ms);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->closed_) return;
    if (!self->writing_ && self->queue_.empty()) self->queue_.push_back({": heartbeat\n\n", nullptr, false});
    self->Pump();
    self->Heartbeat();
  });
}

// A client still sending the body we refused would see a reset instead of
// our answer if we closed at once: read and drop the rest first (bounded in
// bytes by kDrainBytesMax and in time by idle_ms), then close.
void Session::Drain(size_t left) {
  beast::error_code ignored;
  // Over TLS the answer is in the TLS stream already; reading on below it
  // would only desynchronise the record layer, so drop the bytes raw.
  Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (left == 0) return DoClose();
  auto scratch = std::make_shared<std::array<char, 16 * 1024>>();
  Tcp().expires_after(options_.idle_ms);
  Tcp().async_read_some(net::buffer(*scratch), [self = shared_from_this(), scratch, left](beast::error_code ec,
                                                                                          size_t n) {
    if (ec) return self->DoClose();
    self->Drain(left > n ? left - n : 0);
  });
}

void Session::DoClose() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ignored;
  Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  Tcp().socket().close(ignored);
  timer_.cancel();
  std::deque<Pending> pending = std::move(queue_);
  for (Pending& p : pending) {
    if (p.sent) p.sent(false);
  }
  if (auto closed = std::move(on_close_)) closed();
}

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      return Accept();
    }
    size_t open = server->connections_.load();
    // Past the limit a newcomer still gets its 503; far past it, only a close.
    if (open >= server->options_.connections_max + 64) {
      beast::error_code ignored;
      socket.close(ignored);
      return Accept();
    }
    std::shared_ptr<ssl::context> context;
    {
      std::lock_guard<std::mutex> lock(mu);
      context = tls;
    }
    auto session = std::make_shared<Session>(std::move(socket), std::move(context), this, server->options_,
                                             server->router_, &server->connections_,
                                             open >= server->options_.connections_max);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
      std::erase_if(sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
      sessions.push_back(session);
    }
    session->Start();
    Accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  impl_->server = this;
}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Register(std::string method, std::string path, Handler handler) {
  if (!threads_.empty()) return absl::FailedPreconditionError("Register: the server has started");
  std::string what = absl::StrCat(method, " ", path);
  if (!router_.Add(std::move(method), std::move(path), std::move(handler))) {
    return absl::InvalidArgumentError(absl::StrCat("route ", what, " is registered already"));
  }
  return absl::OkStatus();
}

absl::Status HttpServer::ReloadTls() {
  if (options_.tls.cert_file.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> context, LoadTlsContext(options_.tls));
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->tls = std::move(context);
  return absl::OkStatus();
}

absl::Status HttpServer::Start() {
  if (options_.tls.cert_file.empty() != options_.tls.key_file.empty() ||
      (options_.tls.cert_file.empty() && !options_.tls.client_ca_file.empty())) {
    return absl::InvalidArgumentError("HTTP TLS needs a certificate and its key (and a client CA only with them)");
  }
  RETURN_IF_ERROR(ReloadTls());
  size_t colon = options_.listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options_.listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("http listen address '", options_.listen, "' is not host:port"));
  }
  std::string host = options_.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot resolve http listen host '", host, "': ", ec.message()));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  tcp::acceptor& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen, ": ", ec.message()));
  port_ = a.local_endpoint().port();
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->Accept();
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { impl_->ioc.run(); });
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (threads_.empty()) return;
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    for (auto& w : impl_->sessions) {
      if (auto s = w.lock()) open.push_back(std::move(s));
    }
    impl_->sessions.clear();
  }
  net::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  for (auto& s : open) s->Close();
  open.clear();
  {
    // Handlers hear OnClose and release their Exchanges (a cancelled gRPC
    // call completes promptly); only then may the io_context go.
    std::unique_lock<std::mutex> lock(impl_->mu);
    impl_->released.wait_for(lock, options_.request_ms + std::chrono::seconds(5),
                             [this] { return impl_->exchanges == 0; });
  }
  impl_->work.reset();
  impl_->ioc.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace http_api
