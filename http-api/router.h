// The route table: (method, path template) -> handler. A template is "/"-
// separated segments, each a literal or a "{name}" that matches one non-empty
// segment. Among routes matching a path, literal segments win over {name}
// ones left to right (/items/bulk before /items/{sku}); a path that some
// route matches under another method only is 405 with the methods it has.
//
// Thread-safety: Add before serving; Match is const and may run concurrently.
#ifndef HTTP_API_ROUTER_H_
#define HTTP_API_ROUTER_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http-api/codec.h"

namespace http_api {

struct RouteKey {
  std::string method;  // "GET", "POST", ...
  std::string path;    // template, e.g. "/api/v1/items/{sku}"
  bool operator<(const RouteKey& o) const { return path != o.path ? path < o.path : method < o.method; }
  bool operator==(const RouteKey& o) const { return path == o.path && method == o.method; }
};

template <typename Handler>
class Router {
 public:
  struct Match {
    const Handler* handler = nullptr;         // null: no route
    std::map<std::string, std::string> params;  // {name} -> segment (percent-decoded)
    std::vector<std::string> allow;            // when handler is null and the path exists: its methods
  };

  // False when (method, path) is already registered.
  bool Add(std::string method, std::string path, Handler handler) {
    RouteKey key{std::move(method), std::move(path)};
    for (const Entry& e : entries_) {
      if (e.key == key) return false;
    }
    entries_.push_back({key, Split(key.path), std::move(handler)});
    return true;
  }

  Match Find(std::string_view method, std::string_view path) const {
    std::vector<std::string> segments = Split(path);
    Match best;
    int best_score = -1;
    for (const Entry& e : entries_) {
      std::map<std::string, std::string> params;
      int score = Score(e.segments, segments, params);
      if (score < 0) continue;
      if (e.key.method != method) {
        best.allow.push_back(e.key.method);
        continue;
      }
      if (score > best_score) {
        best_score = score;
        best.handler = &e.handler;
        best.params = std::move(params);
      }
    }
    if (best.handler != nullptr) best.allow.clear();
    return best;
  }

  std::vector<RouteKey> Keys() const {
    std::vector<RouteKey> out;
    for (const Entry& e : entries_) out.push_back(e.key);
    return out;
  }

 private:
  struct Entry {
    RouteKey key;
    std::vector<std::string> segments;
    Handler handler;
  };

  static std::vector<std::string> Split(std::string_view path) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string_view::npos) j = path.size();
      if (j > i) out.emplace_back(path.substr(i, j - i));
      i = j + 1;
    }
    return out;
  }

  // -1 when the template does not match; else a score where a literal
  // segment early outweighs any number of later ones.
  static int Score(const std::vector<std::string>& tmpl, const std::vector<std::string>& path,
                   std::map<std::string, std::string>& params) {
    if (tmpl.size() != path.size()) return -1;
    int score = 0;
    for (size_t i = 0; i < tmpl.size(); ++i) {
      const std::string& t = tmpl[i];
      score <<= 1;
      if (t.size() > 2 && t.front() == '{' && t.back() == '}') {
        params[t.substr(1, t.size() - 2)] = PercentDecode(path[i], false);
        continue;
      }
      if (t != path[i]) return -1;
      score |= 1;
    }
    return score;
  }

  std::vector<Entry> entries_;
};

}  // namespace http_api

#endif  // HTTP_API_ROUTER_H_
