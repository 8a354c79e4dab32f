// The HTTP/1.1 server of the JSON front door (Boost.Beast on Asio).
//
// It owns the sockets, the limits and the route table; what a route does is
// its handler's business (api_routes.h registers the inventory API, other
// components may add their own, e.g. /metrics, with Register before Start).
//
// Limits (HttpServerOptions), each answered with the error shape of
// codec.h and never harming other connections:
//   body over body_bytes_max          413, connection closed (after reading
//   headers over header_bytes_max     431,  and dropping up to 16 MiB more, so
//                                           the client sees the answer)
//   more than connections_max open    503 to the newcomer, connection closed
//   keep_alive_requests_max answered  the last answer says Connection: close
//   idle_ms without a whole request   the connection is closed
//   request_ms (handlers' deadline)   504 from the handler (api_routes.h)
// Malformed HTTP is 400 and closes the connection (its framing is lost);
// an unknown path is 404, a known path under another method 405 with Allow;
// both keep the connection.
//
// Thread model: `threads` I/O threads run one io_context. Each connection
// lives on its own strand: reads, writes and handler invocations of one
// connection never run concurrently, while different connections run in
// parallel. A handler must not block: it answers at once or later from any
// thread through its Exchange (which posts back onto the strand). So a slow
// call (a read waiting for its token, an event stream) holds only its own
// connection.
//
// TLS (HttpServerOptions::tls): each connection handshakes first (within
// idle_ms; a failed handshake closes it); with a client CA the client must
// present a certificate it verifies.
//
// Thread-safety: Register before Start; Start, Stop from one thread; the
// Exchange methods and ReloadTls from any thread.
#ifndef HTTP_API_HTTP_SERVER_H_
#define HTTP_API_HTTP_SERVER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "http-api/router.h"

namespace http_api {

// HTTPS (Beast over OpenSSL). PEM files; an empty cert_file serves plain
// HTTP. TLS 1.2 and later.
struct HttpTlsOptions {
  std::string cert_file;       // certificate chain. Default none: plain HTTP.
  std::string key_file;        // private key of cert_file. Default none.
  // CA bundle: require a client certificate it verifies (mTLS); the
  // certificate's subject reaches handlers as HttpRequest::client_subject.
  // Default none: no client certificate asked for.
  std::string client_ca_file;
};

struct HttpServerOptions {
  // host:port to listen on; port 0 picks a free one (port() tells). Default
  // 127.0.0.1:8080.
  std::string listen = "127.0.0.1:8080";
  // I/O threads. Default 2.
  int threads = 2;
  // Largest request body, bytes (413 past it). Default 1 MiB.
  size_t body_bytes_max = 1 << 20;
  // Largest request line plus headers, bytes (431 past it). Default 16 KiB.
  size_t header_bytes_max = 16 * 1024;
  // Most connections open at once (503 past it). Default 1024.
  size_t connections_max = 1024;
  // Most requests answered on one keep-alive connection. Default 1000.
  int keep_alive_requests_max = 1000;
  // Longest a connection may take to deliver its next whole request (between
  // requests too), ms. Default 60 s.
  std::chrono::milliseconds idle_ms{60'000};
  // Deadline a handler gives its work (api_routes.h: the gRPC call), ms.
  // Default 30 s.
  std::chrono::milliseconds request_ms{30'000};
  // Comment line sent on an idle event stream, ms. Default 15 s.
  std::chrono::milliseconds heartbeat_ms{15'000};
  // TLS; default off (plain HTTP).
  HttpTlsOptions tls;
};

struct HttpRequest {
  std::string method;  // "GET", ...
  std::string path;    // without the query
  std::map<std::string, std::string> params;                 // from the template's {name} segments
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercase
  std::string body;
  // mTLS: the verified client certificate's subject, RFC 2253 ("CN=ops"), as
  // gRPC names it; "" over plain HTTP or TLS without client certificates.
  std::string client_subject;
  // The first header named `name` (lowercase), or "".
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One request's way back. Answer exactly once: Respond, or StartEvents then
// any number of SendEvent and one EndEvents. Any thread.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void Respond(HttpResponse response) = 0;
  // Sends the status line and headers of a text/event-stream answer
  // (chunked; the connection closes when it ends).
  virtual void StartEvents(std::vector<std::pair<std::string, std::string>> headers) = 0;
  // One event's text; `sent(false)` when the client is gone. One at a time:
  // call again only after `sent`.
  virtual void SendEvent(std::string text, std::function<void(bool ok)> sent) = 0;
  // Sends `text` (may be empty) and ends the stream.
  virtual void EndEvents(std::string text) = 0;
  // `closed` runs (once, on the connection's strand) when the connection
  // goes away before the answer is complete: client gone, idle, Stop.
  virtual void OnClose(std::function<void()> closed) = 0;
  // The deadline handlers give their work (HttpServerOptions::request_ms).
  virtual std::chrono::milliseconds request_time() const = 0;
};

using Handler = std::function<void(const HttpRequest& request, std::shared_ptr<Exchange> exchange)>;

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stops.

  // REQUIRES: before Start. INVALID_ARGUMENT when taken already.
  absl::Status Register(std::string method, std::string path, Handler handler);
  // Every (method, path template) registered, in registration order.
  std::vector<RouteKey> Routes() const { return router_.Keys(); }

  // Binds and starts the I/O threads. UNAVAILABLE naming the address when it
  // cannot listen; INVALID_ARGUMENT naming the file when a TLS file is bad.
  absl::Status Start();
  // Re-reads the TLS files (HttpServerOptions::tls). New connections
  // handshake with the new certificate; open ones keep the one they began
  // with. On error the old certificate stays in use. OK without TLS.
  absl::Status ReloadTls();
  // The bound port (after Start).
  int port() const { return port_; }
  size_t connections() const { return connections_.load(); }
  // Stops accepting, closes every connection (their handlers see OnClose),
  // waits for the handlers' Exchanges to be released, joins the threads.
  void Stop();

  // Internal: the connection objects.
  struct Impl;

 private:
  const HttpServerOptions options_;
  Router<Handler> router_;
  std::atomic<size_t> connections_{0};  // before impl_: connections count down as impl_ goes
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  int port_ = 0;
};

}  // namespace http_api

#endif  // HTTP_API_HTTP_SERVER_H_
