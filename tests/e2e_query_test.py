#!/usr/bin/python3
"""End to end: python3-grpcio drives the query role of a real inventoryd.

Usage: e2e_query_test.py <path to inventoryd> <proto dir>

Starts `inventoryd serve --roles command,projector,query` on a temp data dir,
writes through the CommandService, and reads back through the QueryService
with each write's consistency token: levels, items with paging, availability,
reservations, movements, the report; a page token that is not one; a token the
projector has not reached (DEADLINE_EXCEEDED naming the position);
StreamInventoryUpdates catching up from the beginning then going live, and
resuming after the last position received; health and reflection listing
QueryService. Every RPC has a deadline; the child is always killed at the end.
"""
import signal
import sys
import tempfile
import unittest

import grpc

import inventoryd_harness

RPC_TIMEOUT = 10
INVENTORYD = None
PROTO_DIR = None
WORK = None
cmd_pb = cmd_grpc = q_pb = q_grpc = common_pb = None


def generate_stubs(out_dir):
    inventoryd_harness.compile_protos(PROTO_DIR, out_dir)
    global cmd_pb, cmd_grpc, q_pb, q_grpc, common_pb
    import command_service_pb2
    import command_service_pb2_grpc
    import common_pb2
    import query_service_pb2
    import query_service_pb2_grpc
    cmd_pb, cmd_grpc = command_service_pb2, command_service_pb2_grpc
    q_pb, q_grpc, common_pb = query_service_pb2, query_service_pb2_grpc, common_pb2


def Server():
    return inventoryd_harness.Inventoryd(INVENTORYD, WORK, ['--roles', 'command,projector,query'], start_timeout=30)


class QueryE2E(unittest.TestCase):
    """Steps run in name order and share one server."""
    server = channel = cmd = q = None
    token = None
    n = 0

    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.channel = grpc.insecure_channel(cls.server.address)
        grpc.channel_ready_future(cls.channel).result(timeout=RPC_TIMEOUT)
        cls.cmd = cmd_grpc.CommandServiceStub(cls.channel)
        cls.q = q_grpc.QueryServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        if cls.channel is not None:
            cls.channel.close()
        if cls.server is not None:
            cls.server.kill()

    def ctx(self):
        QueryE2E.n += 1
        return cmd_pb.CommandContext(command_id='q-e2e-%d' % QueryE2E.n, actor='e2e')

    def keep(self, resp):
        self.assertGreater(len(resp.result.token.positions), 0)
        QueryE2E.token = resp.result.token
        return resp

    def after(self):
        return q_pb.ReadOptions(min_token=QueryE2E.token)

    def receive(self, sku, wh, qty):
        return self.keep(self.cmd.AdjustInventory(cmd_pb.AdjustInventoryRequest(
            context=self.ctx(), sku=sku, warehouse=wh, receive_quantity=qty), timeout=RPC_TIMEOUT))

    def test_1_reads_see_the_writes_before_them(self):
        self.keep(self.cmd.CreateWarehouse(cmd_pb.CreateWarehouseRequest(
            context=self.ctx(), warehouse=common_pb.Warehouse(warehouse='BER', name='Berlin', region='eu',
                                                              priority=1, active=True)), timeout=RPC_TIMEOUT))
        for i in range(12):
            self.keep(self.cmd.CreateItem(cmd_pb.CreateItemRequest(
                context=self.ctx(), item=common_pb.Item(sku='SKU-%02d' % i, name='n', category='mugs',
                                                        reorder_point=5)), timeout=RPC_TIMEOUT))
        for i in range(12):
            self.receive('SKU-%02d' % i, 'BER', 10 + i)
            levels = self.q.GetInventoryLevels(q_pb.GetInventoryLevelsRequest(
                read=self.after(), skus=['SKU-%02d' % i]), timeout=RPC_TIMEOUT)
            self.assertEqual(levels.levels[0].total.on_hand, 10 + i)
            applied = {p.partition: p.offset for p in levels.position.applied}
            for p in QueryE2E.token.positions:
                self.assertGreater(applied[p.partition], p.offset)
        item = self.q.GetItem(q_pb.GetItemRequest(read=self.after(), sku='SKU-03'), timeout=RPC_TIMEOUT)
        self.assertEqual(item.item.category, 'mugs')

    def test_2_paging_and_a_bad_page_token(self):
        skus, token = [], ''
        while True:
            page = self.q.ListItems(q_pb.ListItemsRequest(read=self.after(), page_size=5, page_token=token,
                                                          category='mugs'), timeout=RPC_TIMEOUT)
            skus += [i.sku for i in page.items]
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(skus, ['SKU-%02d' % i for i in range(12)])
        with self.assertRaises(grpc.RpcError) as e:
            self.q.ListItems(q_pb.ListItemsRequest(page_token='nope'), timeout=RPC_TIMEOUT)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertTrue(e.exception.details().startswith('page_token:'), e.exception.details())

    def test_3_availability_reservations_movements_report(self):
        check = self.q.CheckAvailability(q_pb.CheckAvailabilityRequest(
            read=self.after(), lines=[common_pb.OrderLine(sku='SKU-00', quantity=4)]), timeout=RPC_TIMEOUT)
        self.assertTrue(check.can_fulfil)
        self.assertEqual([(a.warehouse, a.quantity) for a in check.allocations], [('BER', 4)])
        self.keep(self.cmd.CheckAndReserveStock(cmd_pb.CheckAndReserveStockRequest(
            context=self.ctx(), reservation_id='r-e2e', order_id='o-e2e',
            lines=[common_pb.OrderLine(sku='SKU-00', quantity=4)]), timeout=RPC_TIMEOUT))
        got = self.q.GetReservation(q_pb.GetReservationRequest(read=self.after(), reservation_id='r-e2e'),
                                    timeout=RPC_TIMEOUT)
        self.assertEqual(got.reservation.status, common_pb.RESERVATION_STATUS_ACTIVE)
        listed = self.q.ListReservations(q_pb.ListReservationsRequest(read=self.after(), order_id='o-e2e'),
                                         timeout=RPC_TIMEOUT)
        self.assertEqual([r.reservation_id for r in listed.reservations], ['r-e2e'])
        moves = self.q.ListMovements(q_pb.ListMovementsRequest(read=self.after(), sku='SKU-00'),
                                     timeout=RPC_TIMEOUT)
        self.assertEqual([m.kind for m in moves.movements], ['received', 'reserved'])
        report = self.q.GetInventoryReport(q_pb.GetInventoryReportRequest(read=self.after()), timeout=RPC_TIMEOUT)
        self.assertEqual(report.active_reservations, 1)
        self.assertEqual({t.key: t.reserved for t in report.by_warehouse}, {'BER': 4})

    def test_4_a_token_not_yet_applied_times_out_saying_where(self):
        far = common_pb.ConsistencyToken(positions=[common_pb.LogPosition(partition=0, offset=10 ** 9)])
        with self.assertRaises(grpc.RpcError) as e:
            self.q.GetItem(q_pb.GetItemRequest(read=q_pb.ReadOptions(min_token=far), sku='SKU-00'), timeout=0.5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertIn('offset 1000000000 not applied', e.exception.details())

    def test_5_stream_catches_up_goes_live_and_resumes(self):
        req = q_pb.StreamInventoryUpdatesRequest(from_beginning=True, kinds=['received'])
        stream = self.q.StreamInventoryUpdates(req, timeout=60)
        got = [next(stream) for _ in range(12)]  # the 12 receipts so far
        self.assertEqual(sorted(u.movement.sku for u in got), ['SKU-%02d' % i for i in range(12)])
        self.receive('SKU-05', 'BER', 1)  # live
        live = next(stream)
        self.assertEqual((live.movement.sku, live.movement.delta_on_hand), ('SKU-05', 1))
        got.append(live)
        stream.cancel()
        last = {}
        for u in got:
            last[u.position.partition] = u.position.offset
        self.receive('SKU-06', 'BER', 2)  # while disconnected
        resume = q_pb.StreamInventoryUpdatesRequest(kinds=['received'], start_after=common_pb.ConsistencyToken(
            positions=[common_pb.LogPosition(partition=p, offset=o) for p, o in last.items()]))
        stream = self.q.StreamInventoryUpdates(resume, timeout=60)
        first = next(stream)
        self.assertEqual((first.movement.sku, first.movement.delta_on_hand), ('SKU-06', 2))
        stream.cancel()

    def test_6_health_and_reflection(self):
        check = self.channel.unary_unary('/grpc.health.v1.Health/Check')
        reply = check(b'', timeout=RPC_TIMEOUT)
        self.assertEqual(reply, b'\x08\x01')  # status: SERVING
        reflect = self.channel.stream_stream(
            '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo')
        # ServerReflectionRequest{list_services: ""} = field 7, empty string
        replies = list(reflect(iter([b'\x3a\x00']), timeout=RPC_TIMEOUT))
        self.assertIn(b'inventory.v1.QueryService', replies[0])

    def test_7_sigterm_ends_streams_with_unavailable_and_exits_zero(self):
        stream = self.q.StreamInventoryUpdates(q_pb.StreamInventoryUpdatesRequest(), timeout=60)
        self.receive('SKU-07', 'BER', 1)
        self.assertEqual(next(stream).movement.sku, 'SKU-07')  # the stream is live
        server, QueryE2E.server = QueryE2E.server, None
        server.proc.send_signal(signal.SIGTERM)
        with self.assertRaises(grpc.RpcError) as e:
            for _ in stream:
                pass
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn('start_after', e.exception.details())
        self.channel.close()
        QueryE2E.channel = None
        self.assertEqual(server.stop(), 0)


def main():
    global INVENTORYD, PROTO_DIR, WORK
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    INVENTORYD, PROTO_DIR = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix='e2e-query-') as work:
        WORK = work
        generate_stubs(work)
        result = unittest.main(argv=[sys.argv[0], '-v'], exit=False).result
        return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
