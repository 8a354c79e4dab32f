// Prints the exposition inventoryd serves, with every family it registers
// (ServiceMetrics and AddAllCollectors over no components) and a few values
// recorded, so promtool can lint the real text and the dashboard test can
// check its queries against the real family list (tests/CMakeLists.txt).
//
//   metrics_exposition_sample            the exposition text
//   metrics_exposition_sample --names    one family name per line
#include <cstdio>
#include <cstring>

#include "metrics/collectors.h"
#include "metrics/service_metrics.h"

int main(int argc, char** argv) {
  metrics::Registry registry;
  metrics::ServiceMetrics service(&registry);
  service.AddGrpcMethods({"/inventory.v1.CommandService/Reserve"});
  metrics::AddAllCollectors(&registry, {.roles = "all"});
  ledger::Command reserve{{ledger::CommandId("c"), {}, "", ""}, ledger::Reserve{}};
  service.OnCommand(reserve, nullptr, false);
  service.OnAppend(1, 1, 0.002, true);
  service.OnFoldBatch(1, 0.001);
  service.OnGrpcCall(service.GrpcMethodIndex("/inventory.v1.CommandService/Reserve"), 0, 0.003);
  if (argc > 1 && std::strcmp(argv[1], "--names") == 0) {
    for (const std::string& name : registry.Names()) std::printf("%s\n", name.c_str());
    return 0;
  }
  std::fputs(registry.Expose().c_str(), stdout);
  return 0;
}
