#!/usr/bin/python3
"""End to end: python3-grpcio drives a real inventoryd process.

Usage: e2e_command_test.py <path to inventoryd> <proto dir>

Generates Python stubs from the proto dir into a temp dir, starts
`inventoryd serve --data-dir <temp> --listen 127.0.0.1:0`, reads the port from
its first stdout line, and walks the command side: warehouse, item, receive,
reserve, commit, release, rejections with their inventory.v1.Rejection
trailing metadata, the standard health check and server reflection; then
SIGTERM (exit code 0) and a restart that still knows every command id.
Every RPC has a deadline; the child is always killed at the end.
"""
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

import grpc

import inventoryd_harness

RPC_TIMEOUT = 10  # seconds, every call
INVENTORYD = None
PROTO_DIR = None
WORK = None  # temp dir: stubs, data dir, stderr of the child
pb = None  # command_service_pb2
common_pb = None  # common_pb2
pb_grpc = None  # command_service_pb2_grpc
events_pb = None  # events_pb2


def generate_stubs(out_dir):
    inventoryd_harness.compile_protos(PROTO_DIR, out_dir)
    global pb, common_pb, pb_grpc, events_pb
    import command_service_pb2
    import command_service_pb2_grpc
    import common_pb2
    import events_pb2
    pb, pb_grpc, common_pb, events_pb = command_service_pb2, command_service_pb2_grpc, common_pb2, events_pb2


# --- a minimal protobuf wire decoder, for the messages without Python stubs ---

def read_varint(data, i):
    value, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def decode_fields(data):
    """Returns [(field number, wire type, value)]; length-delimited values as bytes."""
    fields, i = [], 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError('unsupported wire type %d' % wire)
        fields.append((number, wire, value))
    return fields


def Server():
    """One inventoryd child on the shared data dir."""
    return inventoryd_harness.Inventoryd(INVENTORYD, WORK, start_timeout=20)


def ctx(command_id):
    return pb.CommandContext(command_id=command_id, actor='e2e')


def rejection_of(error):
    """The inventory.v1.Rejection in an RpcError's trailing metadata, or None."""
    for key, value in error.trailing_metadata() or ():
        if key == 'inventory-rejection-bin':
            return common_pb.Rejection.FromString(value)
    return None


class CommandServiceE2E(unittest.TestCase):
    """The steps run in name order and share one server and data dir."""

    server = None
    channel = None
    stub = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.connect()

    @classmethod
    def connect(cls):
        cls.channel = grpc.insecure_channel(cls.server.address)
        grpc.channel_ready_future(cls.channel).result(timeout=RPC_TIMEOUT)
        cls.stub = pb_grpc.CommandServiceStub(cls.channel)

    @classmethod
    def disconnect(cls):
        if cls.channel is not None:
            cls.channel.close()  # an idle open connection slows gRPC's graceful shutdown
            cls.channel = None

    @classmethod
    def tearDownClass(cls):
        cls.disconnect()
        if cls.server is not None:
            cls.server.kill()

    def health_status(self):
        check = self.channel.unary_unary('/grpc.health.v1.Health/Check')  # raw bytes in and out
        reply = check(b'', timeout=RPC_TIMEOUT)  # HealthCheckRequest{service: ""} encodes to nothing
        fields = decode_fields(reply)
        return dict((n, v) for n, w, v in fields if w == 0).get(1, 0)  # HealthCheckResponse.status

    def test_01_health_check_serving(self):
        self.assertEqual(self.health_status(), 1, 'HealthCheckResponse.status must be SERVING (1)')

    def test_01b_health_check_names_each_service(self):
        check = self.channel.unary_unary('/grpc.health.v1.Health/Check')
        for name in (b'inventory.v1.CommandService', b'inventory.v1.QueryService'):
            reply = check(b'\x0a' + bytes([len(name)]) + name, timeout=RPC_TIMEOUT)  # HealthCheckRequest{service}
            self.assertEqual(reply, b'\x08\x01', '%s must be SERVING' % name)
        with self.assertRaises(grpc.RpcError) as refused:
            check(b'\x0a\x11inventory.v1.Nope', timeout=RPC_TIMEOUT)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_02_reflection_lists_the_service(self):
        request = b'\x3a\x00'  # ServerReflectionRequest{list_services: ""} (field 7, length 0)
        names, last_error = None, None
        for version in ('v1alpha', 'v1'):
            call = self.channel.stream_stream('/grpc.reflection.%s.ServerReflection/ServerReflectionInfo' % version)
            try:
                replies = list(call(iter([request]), timeout=RPC_TIMEOUT))
            except grpc.RpcError as e:
                last_error = e
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    continue
                raise
            names = []
            for reply in replies:
                for number, _, value in decode_fields(reply):
                    if number == 6:  # list_services_response: ListServiceResponse
                        for n, _, service in decode_fields(value):
                            if n == 1:  # repeated ServiceResponse service
                                names += [v.decode() for m, _, v in decode_fields(service) if m == 1]
            break
        self.assertIsNotNone(names, 'no server reflection: %r' % last_error)
        self.assertIn('inventory.v1.CommandService', names)
        self.assertIn('grpc.health.v1.Health', names)

    def test_03_create_warehouse_item_and_receive(self):
        wh = self.stub.CreateWarehouse(pb.CreateWarehouseRequest(
            context=ctx('e2e-wh-1'),
            warehouse=common_pb.Warehouse(warehouse='E2E-W1', name='E2E one', region='eu', priority=1, active=True)),
            timeout=RPC_TIMEOUT)
        self.assertEqual(wh.warehouse.warehouse, 'E2E-W1')
        self.assertTrue(wh.warehouse.active)
        self.assertGreater(len(wh.result.token.positions), 0)
        item = self.stub.CreateItem(pb.CreateItemRequest(
            context=ctx('e2e-item-1'), item=common_pb.Item(sku='E2E-SKU', name='E2E widget', category='test')),
            timeout=RPC_TIMEOUT)
        self.assertEqual(item.item.sku, 'E2E-SKU')
        self.assertEqual(item.item.name, 'E2E widget')
        received = self.stub.AdjustInventory(pb.AdjustInventoryRequest(
            context=ctx('e2e-recv-1'), sku='E2E-SKU', warehouse='E2E-W1', receive_quantity=10),
            timeout=RPC_TIMEOUT)
        self.assertEqual(received.level.on_hand, 10)
        self.assertEqual(received.level.available, 10)
        self.assertFalse(received.result.duplicate)

    def reserve(self, command_id, quantity, sku='E2E-SKU'):
        return self.stub.CheckAndReserveStock(pb.CheckAndReserveStockRequest(
            context=ctx(command_id), order_id='order-' + command_id,
            lines=[common_pb.OrderLine(sku=sku, quantity=quantity)]), timeout=RPC_TIMEOUT)

    def test_04_reserve_and_commit(self):
        reserved = self.reserve('e2e-res-1', 3)
        r = reserved.reservation
        self.assertEqual(r.reservation_id, 'r-e2e-res-1')
        self.assertEqual(r.status, common_pb.RESERVATION_STATUS_ACTIVE)
        self.assertEqual([(a.sku, a.warehouse, a.quantity) for a in r.allocations], [('E2E-SKU', 'E2E-W1', 3)])
        self.assertGreater(r.expires_at_ms, r.created_at_ms)
        committed = self.stub.CommitReservation(pb.CommitReservationRequest(
            context=ctx('e2e-commit-1'), reservation_id='r-e2e-res-1'), timeout=RPC_TIMEOUT)
        self.assertEqual(committed.reservation.status, common_pb.RESERVATION_STATUS_COMMITTED)
        self.assertFalse(committed.result.duplicate)
        again = self.stub.CommitReservation(pb.CommitReservationRequest(
            context=ctx('e2e-commit-1'), reservation_id='r-e2e-res-1'), timeout=RPC_TIMEOUT)
        self.assertTrue(again.result.duplicate)

    def test_05_reserve_and_release(self):
        reserved = self.reserve('e2e-res-2', 7)  # all that is left after committing 3
        self.assertEqual(reserved.reservation.status, common_pb.RESERVATION_STATUS_ACTIVE)
        released = self.stub.ReleaseReservedStock(pb.ReleaseReservedStockRequest(
            context=ctx('e2e-release-2'), reservation_id='r-e2e-res-2',
            reason=events_pb.RELEASE_REASON_ORDER_CANCELLED), timeout=RPC_TIMEOUT)
        self.assertEqual(released.reservation.status, common_pb.RESERVATION_STATUS_RELEASED)
        # The 7 units are free again: counting confirms the level.
        counted = self.stub.AdjustInventory(pb.AdjustInventoryRequest(
            context=ctx('e2e-count-1'), sku='E2E-SKU', warehouse='E2E-W1', counted_quantity=7), timeout=RPC_TIMEOUT)
        self.assertEqual((counted.level.on_hand, counted.level.reserved, counted.level.available), (7, 0, 7))

    def test_05b_reserve_stream_client_example(self):
        # docs/examples/reserve_stream.py, the documented client, against the live server.
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'docs', 'examples'))
        import reserve_stream
        self.stub.CreateItem(pb.CreateItemRequest(context=ctx('e2e-item-stream'),
                                                  item=common_pb.Item(sku='E2E-STREAM', name='streamed')),
                             timeout=RPC_TIMEOUT)
        self.stub.AdjustInventory(pb.AdjustInventoryRequest(context=ctx('e2e-recv-stream'), sku='E2E-STREAM',
                                                            warehouse='E2E-W1', receive_quantity=5), timeout=RPC_TIMEOUT)
        orders = [('e2e-stream-%d' % i, 'E2E-STREAM', 1) for i in range(7)] + [('e2e-stream-bad', 'E2E-STREAM', 0)]
        answers = list(reserve_stream.reserve_stream(self.stub, pb, common_pb, iter(orders)))
        self.assertEqual([a[0] for a in answers], [o[0] for o in orders])  # request order, own ids
        codes = [r.code for _, r in answers]
        OK, FP, IA = 0, grpc.StatusCode.FAILED_PRECONDITION.value[0], grpc.StatusCode.INVALID_ARGUMENT.value[0]
        self.assertEqual(codes, [OK] * 5 + [FP, FP, IA])
        self.assertEqual(answers[0][1].response.reservation.reservation_id, 'r-e2e-stream-0')
        self.assertIn('lines[0].quantity', answers[7][1].error)
        # Sent again: the five are duplicates, nothing more reserved.
        again = list(reserve_stream.reserve_stream(self.stub, pb, common_pb, iter(orders[:5])))
        self.assertTrue(all(r.code == 0 and r.response.result.duplicate for _, r in again), again)
        counted = self.stub.AdjustInventory(pb.AdjustInventoryRequest(
            context=ctx('e2e-count-stream'), sku='E2E-STREAM', warehouse='E2E-W1', counted_quantity=5),
            timeout=RPC_TIMEOUT)
        self.assertEqual((counted.level.on_hand, counted.level.reserved, counted.level.available), (5, 5, 0))

    def test_06_rejections_carry_metadata(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.reserve('e2e-res-too-much', 100)
        e = caught.exception
        self.assertEqual(e.code(), grpc.StatusCode.FAILED_PRECONDITION)
        rejection = rejection_of(e)
        self.assertIsNotNone(rejection, 'no inventory-rejection-bin trailing metadata')
        self.assertEqual(rejection.reason, common_pb.Rejection.REASON_INSUFFICIENT_STOCK)
        self.assertEqual([(l.line, l.sku, l.requested, l.available) for l in rejection.lines],
                         [(0, 'E2E-SKU', 100, 7)])

        with self.assertRaises(grpc.RpcError) as caught:
            self.reserve('e2e-res-zero', 0)
        e = caught.exception
        self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn('lines[0].quantity', e.details())
        rejection = rejection_of(e)
        self.assertIsNotNone(rejection)
        self.assertEqual(rejection.reason, common_pb.Rejection.REASON_INVALID_ARGUMENT)
        self.assertEqual(rejection.field, 'lines[0].quantity')

        with self.assertRaises(grpc.RpcError) as caught:
            self.reserve('e2e-res-unknown', 1, sku='NO-SUCH-SKU')
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(rejection_of(caught.exception).reason, common_pb.Rejection.REASON_UNKNOWN_ITEM)

        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.CommitReservation(pb.CommitReservationRequest(
                context=ctx('e2e-commit-released'), reservation_id='r-e2e-res-2'), timeout=RPC_TIMEOUT)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(rejection_of(caught.exception).reason, common_pb.Rejection.REASON_ALREADY_RESOLVED)

    def test_07_sigterm_then_restart_keeps_everything(self):
        cls = type(self)
        cls.disconnect()
        code = cls.server.stop(signal.SIGTERM)
        self.assertEqual(code, 0, 'inventoryd exit code after SIGTERM\n' + cls.server.stderr())
        cls.server = Server().start()
        cls.connect()
        self.assertEqual(self.health_status(), 1)
        again = self.reserve('e2e-res-1', 3)
        self.assertTrue(again.result.duplicate)
        self.assertEqual(again.reservation.status, common_pb.RESERVATION_STATUS_COMMITTED)
        commit = self.stub.CommitReservation(pb.CommitReservationRequest(
            context=ctx('e2e-commit-1'), reservation_id='r-e2e-res-1'), timeout=RPC_TIMEOUT)
        self.assertTrue(commit.result.duplicate)
        received = self.stub.AdjustInventory(pb.AdjustInventoryRequest(
            context=ctx('e2e-recv-2'), sku='E2E-SKU', warehouse='E2E-W1', receive_quantity=1), timeout=RPC_TIMEOUT)
        self.assertEqual(received.level.on_hand, 8)
        cls.disconnect()
        self.assertEqual(cls.server.stop(signal.SIGTERM), 0, cls.server.stderr())


def main():
    global INVENTORYD, PROTO_DIR, WORK
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    INVENTORYD, PROTO_DIR = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    started = time.monotonic()
    WORK = tempfile.mkdtemp(prefix='inventory_e2e.')
    try:
        os.makedirs(os.path.join(WORK, 'gen'))
        generate_stubs(os.path.join(WORK, 'gen'))
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(CommandServiceE2E)
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    finally:
        if CommandServiceE2E.server is not None:
            CommandServiceE2E.server.kill()
        shutil.rmtree(WORK, ignore_errors=True)
    ok = result.wasSuccessful()
    print('e2e_command_test: %s: %d run, %d failures, %d errors, %d skipped in %.1f s' % (
        'PASSED' if ok else 'FAILED', result.testsRun, len(result.failures), len(result.errors),
        len(result.skipped), time.monotonic() - started))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
