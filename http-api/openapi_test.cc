// docs/openapi.yaml and the server's route table name the same routes: a
// route registered but undocumented, or documented but not served, fails.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "http-api/api_routes.h"
#include "http-api/http_server.h"

namespace http_api {
namespace {

// (METHOD, path) of every operation under `paths:`: a path is a key
// indented two spaces, its operations keys indented four.
std::set<std::pair<std::string, std::string>> DocumentedRoutes(const std::string& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << "cannot read " << file;
  std::set<std::pair<std::string, std::string>> out;
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options"};
  bool in_paths = false;
  std::string path;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line == "paths:";
    if (!in_paths || line.empty() || line.back() != ':') continue;
    if (line.rfind("  /", 0) == 0) {
      path = line.substr(2, line.size() - 3);
    } else if (line.rfind("    ", 0) == 0 && line[4] != ' ') {
      std::string method = line.substr(4, line.size() - 5);
      if (kMethods.count(method)) out.emplace(absl::AsciiStrToUpper(method), path);
    }
  }
  return out;
}

TEST(OpenApi, DocumentNamesExactlyTheRegisteredRoutes) {
  HttpServer server({});
  // Stubs connect lazily: no call is made, only the table is built.
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  ASSERT_TRUE(RegisterApiRoutes(&server, channel).ok());
  std::set<std::pair<std::string, std::string>> served;
  for (const RouteKey& k : server.Routes()) served.emplace(k.method, k.path);
  std::set<std::pair<std::string, std::string>> documented = DocumentedRoutes(OPENAPI_PATH);
  ASSERT_GT(served.size(), 30u);
  for (const auto& [method, path] : served) {
    EXPECT_TRUE(documented.count({method, path})) << method << " " << path << " is served but not in docs/openapi.yaml";
  }
  for (const auto& [method, path] : documented) {
    EXPECT_TRUE(served.count({method, path})) << method << " " << path << " is in docs/openapi.yaml but not served";
  }
}

}  // namespace
}  // namespace http_api
