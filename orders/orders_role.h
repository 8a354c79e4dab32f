// The orders part of inventoryd: the order-event consumer (with the command
// role's writer) and the integration-event publisher, started and stopped
// together. tools/inventoryd.cc maps its --orders-* / --public-* flags here.
//
// Thread-safety: Start and Stop from one thread.
#ifndef ORDERS_ORDERS_ROLE_H_
#define ORDERS_ORDERS_ROLE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "command-api/writer.h"
#include "eventlog/event_log.h"
#include "orders/order_consumer.h"
#include "orders/publisher.h"

namespace orders {

struct OrdersRoleOptions {
  bool consume = false;  // run the order-event consumer (consumer.bootstrap_servers set)
  bool publish = false;  // run the publisher (publisher.producer.bootstrap_servers set)
  OrderConsumerOptions consumer;
  PublisherOptions publisher;
};

class OrdersRole {
 public:
  // Opens and starts what `options` enables. REQUIRES: writer and log outlive the role.
  static absl::StatusOr<std::unique_ptr<OrdersRole>> Start(command_api::Writer* writer, eventlog::EventLog* log,
                                                           OrdersRoleOptions options);
  // Stops the consumer (its last batch committed) and then the publisher. Idempotent.
  void Stop();
  ~OrdersRole() { Stop(); }

  // What runs (null when not enabled), for the metrics collectors.
  const OrderConsumer* consumer() const { return consumer_.get(); }
  const Publisher* publisher() const { return publisher_.get(); }

 private:
  std::unique_ptr<OrderConsumer> consumer_;
  std::unique_ptr<Publisher> publisher_;
};

inline absl::StatusOr<std::unique_ptr<OrdersRole>> OrdersRole::Start(command_api::Writer* writer,
                                                                     eventlog::EventLog* log,
                                                                     OrdersRoleOptions options) {
  auto role = std::make_unique<OrdersRole>();
  if (options.publish) {
    absl::StatusOr<std::unique_ptr<Publisher>> p = Publisher::Open(log, std::move(options.publisher));
    if (!p.ok()) return p.status();
    role->publisher_ = std::move(*p);
    role->publisher_->Start();
  }
  if (options.consume) {
    absl::StatusOr<std::unique_ptr<OrderConsumer>> c = OrderConsumer::Open(writer, std::move(options.consumer));
    if (!c.ok()) return c.status();
    role->consumer_ = std::move(*c);
    role->consumer_->Start();
  }
  return role;
}

inline void OrdersRole::Stop() {
  if (consumer_ != nullptr) consumer_->Stop();
  if (publisher_ != nullptr) publisher_->Stop();
}

}  // namespace orders

#endif  // ORDERS_ORDERS_ROLE_H_
