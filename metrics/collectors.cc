#include "metrics/collectors.h"

#include <chrono>
#include <utility>
#include <vector>

#include "spdlog/spdlog.h"

#ifndef INVENTORY_VERSION
#define INVENTORY_VERSION "unknown"
#endif

namespace metrics {
namespace {

std::vector<Sample> One(double v) { return {{{}, v}}; }

// Counts the SKUs a report list holds; logs (once per scrape) a read error.
template <typename ForEach>
std::vector<Sample> CountSkus(const projector::Projector* p, ForEach for_each) {
  if (p == nullptr) return {};
  std::unique_ptr<projector::Snapshot> snapshot = p->NewSnapshot();
  double n = 0;
  absl::Status s = for_each(*snapshot, [&](const std::string&) {
    ++n;
    return true;
  });
  if (!s.ok()) {
    spdlog::warn("metrics: reading the stock report: {}", s.ToString());
    return {};
  }
  return One(n);
}

}  // namespace

void AddProjectorCollectors(Registry* r, const projector::Projector* p, StockCollectorOptions options) {
  r->AddCallback("inventory_projector_lag_events", "Log records the projector has not applied yet", Type::kGauge,
                 [p] { return p ? One(static_cast<double>(p->lag().events)) : std::vector<Sample>{}; });
  r->AddCallback("inventory_projector_lag_seconds", "How long the projector has not been caught up (0 when it is)",
                 Type::kGauge, [p] { return p ? One(static_cast<double>(p->lag().ms) / 1000) : std::vector<Sample>{}; });
  r->AddCallback("inventory_projector_events_applied_total", "Events the projector applied since start",
                 Type::kCounter,
                 [p] { return p ? One(static_cast<double>(p->stats().events_applied)) : std::vector<Sample>{}; });
  r->AddCallback("inventory_projector_applied_position_events",
                 "Sum over partitions of the projector's next offset to apply", Type::kGauge,
                 [p] { return p ? One(static_cast<double>(p->applied().Total())) : std::vector<Sample>{}; });
  r->AddCallback("inventory_projector_anomalies_total",
                 "Events the projector could not apply as written (inventoryctl audit names them)", Type::kCounter,
                 [p] { return p ? One(static_cast<double>(p->stats().anomalies)) : std::vector<Sample>{}; });
  r->AddCallback("inventory_projector_up", "1 while the projector runs, 0 once it stopped on an error", Type::kGauge,
                 [p] { return p ? One(p->health().ok() ? 1 : 0) : std::vector<Sample>{}; });
  r->AddCallback("inventory_low_stock_items", "Active SKUs with some stock available, at or below their reorder point (out of stock is counted apart)",
                 Type::kGauge, [p] {
                   return CountSkus(p, [](const projector::Snapshot& s, const projector::Visitor<std::string>& v) {
                     return s.ForEachLowStock(v);
                   });
                 });
  r->AddCallback("inventory_out_of_stock_items", "Active SKUs with nothing available", Type::kGauge, [p] {
    return CountSkus(p, [](const projector::Snapshot& s, const projector::Visitor<std::string>& v) {
      return s.ForEachOutOfStock(v);
    });
  });
  r->AddCallback("inventory_sales_blocks",
                 "Sales blocks in force (BlockSales): scope everywhere (a SKU blocked in every warehouse) or warehouse",
                 Type::kGauge, [p] {
                   std::vector<Sample> out;
                   if (p == nullptr) return out;
                   double everywhere = 0, at_warehouse = 0;
                   absl::Status s = p->NewSnapshot()->ForEachSalesBlock([&](const inventory::v1::SalesBlock& b) {
                     (b.warehouse().empty() ? everywhere : at_warehouse) += 1;
                     return true;
                   });
                   if (!s.ok()) {
                     spdlog::warn("metrics: reading the sales blocks: {}", s.ToString());
                     return out;
                   }
                   out.push_back({{{"scope", "everywhere"}}, everywhere});
                   out.push_back({{{"scope", "warehouse"}}, at_warehouse});
                   return out;
                 });
  const size_t series_max = options.stock_level_series_max;
  r->AddCallback("inventory_stock_level",
                 "Available quantity per warehouse of SKUs at or below their reorder point (at most "
                 "stock_level_series_max series, in SKU order)",
                 Type::kGauge, [p, series_max] {
                   std::vector<Sample> out;
                   if (p == nullptr) return out;
                   std::unique_ptr<projector::Snapshot> snapshot = p->NewSnapshot();
                   auto add_levels = [&](const std::string& sku) {
                     absl::Status levels = snapshot->ForEachLevelOf(sku, [&](const inventory::v1::StockLevel& l) {
                       if (out.size() >= series_max) return false;
                       out.push_back({{{"sku", l.sku()}, {"warehouse", l.warehouse()}}, static_cast<double>(l.available())});
                       return true;
                     });
                     return levels.ok() && out.size() < series_max;
                   };
                   // At or below the reorder point: out of stock first, then low
                   // (ledger/stock_rules.h keeps the two sets apart).
                   absl::Status s = snapshot->ForEachOutOfStock(add_levels);
                   if (s.ok() && out.size() < series_max) s = snapshot->ForEachLowStock(add_levels);
                   if (!s.ok()) spdlog::warn("metrics: reading stock levels: {}", s.ToString());
                   return out;
                 });
}

void AddQueryCollectors(Registry* r, const query_api::QueryServiceImpl* q) {
  r->AddCallback("inventory_stream_subscribers", "Open StreamInventoryUpdates subscriptions (live phase)",
                 Type::kGauge, [q] { return q ? One(static_cast<double>(q->subscribers())) : std::vector<Sample>{}; });
}

void AddInFlightCollectors(Registry* r, const rpc::InFlightLimit* limit) {
  r->AddCallback("inventory_requests_in_flight", "Calls of the inventory services in flight (gRPC and HTTP, streams too)",
                 Type::kGauge, [limit] { return limit ? One(limit->in_flight()) : std::vector<Sample>{}; });
  r->AddCallback("inventory_requests_in_flight_refused_total",
                 "Calls refused RESOURCE_EXHAUSTED (HTTP 429) because the in-flight bound was reached", Type::kCounter,
                 [limit] { return limit ? One(static_cast<double>(limit->refused())) : std::vector<Sample>{}; });
}

void AddOrdersCollectors(Registry* r, const orders::OrderConsumer* c, const orders::Publisher* pub,
                         eventlog::EventLog* log) {
  r->AddCallback("inventory_orders_messages_total", "Order events consumed, by message type and outcome",
                 Type::kCounter, [c] {
                   std::vector<Sample> out;
                   if (c == nullptr) return out;
                   const orders::OrderConsumerStats s = c->stats();
                   for (size_t t = 0; t < orders::kMessageTypeCount; ++t) {
                     for (size_t o = 0; o < orders::kMessageOutcomeCount; ++o) {
                       out.push_back({{{"type", std::string(orders::MessageTypeName(t))},
                                       {"outcome", std::string(orders::ToString(static_cast<orders::MessageOutcome>(o)))}},
                                      static_cast<double>(s.by_type[t][o])});
                     }
                   }
                   return out;
                 });
  r->AddCallback("inventory_orders_consumer_lag_messages",
                 "Order events past the consumer's position, per assigned topic and partition", Type::kGauge, [c] {
                   std::vector<Sample> out;
                   if (c == nullptr) return out;
                   for (const orders::PartitionLag& lag : c->Lag()) {
                     out.push_back({{{"topic", lag.topic}, {"partition", std::to_string(lag.partition)}},
                                    static_cast<double>(lag.messages)});
                   }
                   return out;
                 });
  r->AddCallback("inventory_orders_dead_letters_total", "Order events sent to the dead-letter topic, by reason",
                 Type::kCounter, [c] {
                   std::vector<Sample> out;
                   if (c == nullptr) return out;
                   const orders::OrderConsumerStats s = c->stats();
                   for (size_t i = 0; i < orders::kDeadLetterReasonCount; ++i) {
                     out.push_back({{{"reason", std::string(orders::ToString(static_cast<orders::DeadLetterReason>(i)))}},
                                    static_cast<double>(s.dead_letters_by_reason[i])});
                   }
                   return out;
                 });
  r->AddCallback(kTraceparentMalformed, kTraceparentMalformedHelp, Type::kCounter, [c] {
    std::vector<Sample> out;
    if (c != nullptr) out.push_back({{{"source", "kafka"}}, static_cast<double>(c->stats().traceparent_malformed)});
    return out;
  });
  r->AddCallback("inventory_orders_offset_commit_errors_total", "Consumer offsets not stored (partition revoked)",
                 Type::kCounter,
                 [c] { return c ? One(static_cast<double>(c->stats().offset_commit_errors)) : std::vector<Sample>{}; });
  r->AddCallback("inventory_publisher_events_total", "Integration events the publisher delivered", Type::kCounter,
                 [pub] { return pub ? One(static_cast<double>(pub->stats().published)) : std::vector<Sample>{}; });
  r->AddCallback("inventory_publisher_lag_events",
                 "Log records past the publisher's saved position (Kafka transaction markers count too)",
                 Type::kGauge, [pub, log] {
                   std::vector<Sample> out;
                   if (pub == nullptr || log == nullptr) return out;
                   absl::StatusOr<base::NextOffsets> ends = log->EndOffsets();
                   if (!ends.ok()) return out;
                   base::NextOffsets at = pub->position();
                   return One(static_cast<double>(at.EventsBehind(*ends)));
                 });
}

void AddBuildInfo(Registry* r, const std::string& roles) {
  r->AddCallback("inventory_build_info", "Always 1; the labels say what runs", Type::kGauge, [roles] {
    return std::vector<Sample>{{{{"version", INVENTORY_VERSION}, {"roles", roles}}, 1}};
  });
  double start =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  r->AddCallback("inventory_process_start_time_seconds", "Unix time the process started", Type::kGauge,
                 [start] { return One(start); });
}

void AddAllCollectors(Registry* r, const Components& c) {
  AddBuildInfo(r, c.roles);
  AddProjectorCollectors(r, c.projector, c.stock);
  AddQueryCollectors(r, c.query);
  AddInFlightCollectors(r, c.in_flight);
  AddOrdersCollectors(r, c.consumer, c.publisher, c.log);
}

}  // namespace metrics
