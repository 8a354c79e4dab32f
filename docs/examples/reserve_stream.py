#!/usr/bin/python3
"""A ReserveStream client: many reservations on one gRPC stream.

Each request message is one CheckAndReserveStockRequest with its own
context.command_id; each answer carries that command id and the result a
BulkReserveStock entry gets (code 0 and the reservation, or the error and
the Rejection). Answers come in request order, several per response message
when they are ready together. docs/streaming.md explains the stream.

  /usr/bin/python3 docs/examples/reserve_stream.py --target 127.0.0.1:50051 \\
      --stubs /tmp/stubs --sku MUG --count 1000

Stubs: protoc -I proto --python_out=/tmp/stubs --grpc_out=/tmp/stubs \\
  --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin proto/*.proto
"""
import argparse
import sys


def reserve_stream(stub, command_pb, common_pb, orders, timeout=60, metadata=()):
    """Reserves each (command_id, sku, quantity) of `orders` on one stream.

    Yields (command_id, BulkReserveResult) in the order of `orders`. The
    requests are produced lazily, so `orders` may be a generator: gRPC sends
    them as the server's flow control allows (the server reads at most its
    window ahead of its answers).
    """
    def requests():
        for command_id, sku, quantity in orders:
            yield command_pb.CheckAndReserveStockRequest(
                context=command_pb.CommandContext(command_id=command_id),
                order_id='order-' + command_id,
                lines=[common_pb.OrderLine(sku=sku, quantity=quantity)])

    for response in stub.ReserveStream(requests(), timeout=timeout, metadata=metadata):
        for answer in response.answers:
            yield answer.command_id, answer.result


def main():
    parser = argparse.ArgumentParser(description='Reserve --count units of --sku, one per message, on one stream.')
    parser.add_argument('--target', required=True, help='inventoryd host:port')
    parser.add_argument('--stubs', required=True, help='folder holding the generated *_pb2.py stubs')
    parser.add_argument('--sku', required=True)
    parser.add_argument('--count', type=int, default=100)
    parser.add_argument('--prefix', default='stream-example-', help='command id prefix')
    parser.add_argument('--api-key', help='x-api-key for a server with authentication')
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)
    import grpc
    import command_service_pb2
    import command_service_pb2_grpc
    import common_pb2

    metadata = (('x-api-key', args.api_key),) if args.api_key else ()
    with grpc.insecure_channel(args.target) as channel:
        stub = command_service_pb2_grpc.CommandServiceStub(channel)
        orders = ((args.prefix + str(i), args.sku, 1) for i in range(args.count))
        reserved = refused = 0
        for command_id, result in reserve_stream(stub, command_service_pb2, common_pb2, orders, metadata=metadata):
            if result.code == 0:
                reserved += 1
            else:
                refused += 1
                print('%s: code %d: %s' % (command_id, result.code, result.error), file=sys.stderr)
        print('reserved %d, refused %d' % (reserved, refused))
    return 0


if __name__ == '__main__':
    sys.exit(main())
