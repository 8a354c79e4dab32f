// Scrape-time collectors: families whose values the components already keep
// (projector lag and stats, read-model stock flags, stream subscribers, the
// order consumer's and publisher's stats), read when /metrics is scraped, so
// they cost nothing between scrapes. Each Add* registers its families even
// when the component is absent from this process (null): they are then
// exposed without samples, so every process exposes the same family list.
//
// Thread-safety: register before serving /metrics; the components must
// outlive the registry's last Expose.
#ifndef METRICS_COLLECTORS_H_
#define METRICS_COLLECTORS_H_

#include <cstddef>
#include <string>

#include "eventlog/event_log.h"
#include "metrics/registry.h"
#include "orders/order_consumer.h"
#include "orders/publisher.h"
#include "projector/projector.h"
#include "query-api/query_service.h"
#include "rpc/in_flight.h"

namespace metrics {

struct StockCollectorOptions {
  // Most inventory_stock_level{sku,warehouse} series per scrape: levels of
  // SKUs at or below their reorder point, in SKU order. Default 1000.
  size_t stock_level_series_max = 1000;
};

// inventory_projector_lag_events, _lag_seconds, _events_applied_total,
// _anomalies_total, inventory_low_stock_items, inventory_out_of_stock_items,
// inventory_sales_blocks{scope}, inventory_stock_level{sku,warehouse}. `projector` may be null.
void AddProjectorCollectors(Registry* registry, const projector::Projector* projector,
                            StockCollectorOptions options = {});

// inventory_stream_subscribers. `query` may be null.
void AddQueryCollectors(Registry* registry, const query_api::QueryServiceImpl* query);

// inventory_orders_messages_total{type,outcome}, inventory_orders_dead_letters_total{reason},
// inventory_orders_consumer_lag_messages{topic,partition},
// inventory_publisher_lag_events (records of `log` not yet folded by the
// publisher), inventory_publisher_events_total. Either may be null.
void AddOrdersCollectors(Registry* registry, const orders::OrderConsumer* consumer,
                         const orders::Publisher* publisher, eventlog::EventLog* log);

// inventory_requests_in_flight, inventory_requests_in_flight_refused_total
// (the server's bound on calls in flight, rpc/in_flight.h). `limit` may be null.
void AddInFlightCollectors(Registry* registry, const rpc::InFlightLimit* limit);

// inventory_build_info{version,roles} 1, inventory_process_start_time_seconds.
void AddBuildInfo(Registry* registry, const std::string& roles);

// What one inventoryd process runs; any may be null.
struct Components {
  std::string roles;
  eventlog::EventLog* log = nullptr;
  const projector::Projector* projector = nullptr;
  const query_api::QueryServiceImpl* query = nullptr;
  const orders::OrderConsumer* consumer = nullptr;
  const orders::Publisher* publisher = nullptr;
  const rpc::InFlightLimit* in_flight = nullptr;
  StockCollectorOptions stock;
};

// Every collector above: the one list inventoryd registers (and the
// exposition test checks).
void AddAllCollectors(Registry* registry, const Components& components);

}  // namespace metrics

#endif  // METRICS_COLLECTORS_H_
