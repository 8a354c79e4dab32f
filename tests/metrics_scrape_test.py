#!/usr/bin/python3
"""A real scrape: Debian's Prometheus, on loopback with a 1 s scrape interval,
scrapes a real inventoryd's /metrics while this test makes reservations
(some refused, some committed, some left to expire with a 1 s TTL); then the
test asks Prometheus's HTTP API for the series and checks their values are
what it did. Also: `promtool check metrics` on the body inventoryd served,
JSON log lines, and the access log's trace id from a W3C traceparent.

Usage: metrics_scrape_test.py INVENTORYD PROTO_DIR PROMETHEUS PROMTOOL
Call with /usr/bin/python3 (Debian's grpcio and protobuf live there)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inventoryd_harness  # noqa: E402

INVENTORYD, PROTO_DIR, PROMETHEUS, PROMTOOL = sys.argv[1:5]
del sys.argv[1:5]
RPC_TIMEOUT = 10
BOUND_S = 40  # the longest the test waits for any one condition
TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_for(what, fn, timeout=BOUND_S):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the bound
            last = e
        time.sleep(0.25)
    raise AssertionError('%s: not within %d s (last: %r)' % (what, timeout, last))


class MetricsScrape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix='metrics_scrape_')
        stubs = os.path.join(cls.work, 'stubs')
        os.makedirs(stubs)
        inventoryd_harness.compile_protos(PROTO_DIR, stubs)
        global pb, pb_grpc, common_pb, events_pb
        import command_service_pb2 as pb
        import command_service_pb2_grpc as pb_grpc
        import common_pb2 as common_pb
        import events_pb2 as events_pb
        cls.server = inventoryd_harness.Inventoryd(
            INVENTORYD, cls.work, ['--http-listen', '127.0.0.1:0', '--log-format', 'json', '--access-log'],
            start_timeout=30).start()
        cls.http = cls.server.read_http_address()
        cls.channel = grpc.insecure_channel(cls.server.address)
        grpc.channel_ready_future(cls.channel).result(timeout=RPC_TIMEOUT)
        cls.stub = pb_grpc.CommandServiceStub(cls.channel)
        cls.prometheus = None
        cls.start_prometheus()

    @classmethod
    def start_prometheus(cls):
        cls.prom_port = free_port()
        config = os.path.join(cls.work, 'prometheus.yml')
        with open(config, 'w') as f:
            f.write('global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
                    'scrape_configs:\n  - job_name: inventory\n    static_configs:\n'
                    '      - targets: ["%s"]\n' % cls.http)
        with open(os.path.join(cls.work, 'prometheus.log'), 'wb') as log:
            cls.prometheus = subprocess.Popen(
                [PROMETHEUS, '--config.file=' + config, '--storage.tsdb.path=' + os.path.join(cls.work, 'tsdb'),
                 '--web.listen-address=127.0.0.1:%d' % cls.prom_port, '--log.level=warn'],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for('prometheus ready', lambda: http_get('http://127.0.0.1:%d/-/ready' % cls.prom_port)[0] == 200)

    @classmethod
    def tearDownClass(cls):
        if cls.prometheus is not None:
            cls.prometheus.terminate()
            try:
                cls.prometheus.wait(timeout=20)
            except subprocess.TimeoutExpired:
                cls.prometheus.kill()
        cls.channel.close()
        cls.server.kill()
        shutil.rmtree(cls.work, ignore_errors=True)

    def query(self, expr):
        """The single value of an instant query, or None when it has no sample."""
        url = 'http://127.0.0.1:%d/api/v1/query?%s' % (self.prom_port, urllib.parse.urlencode({'query': expr}))
        _, body = http_get(url)
        answer = json.loads(body)
        self.assertEqual(answer['status'], 'success', body)
        result = answer['data']['result']
        if not result:
            return None
        self.assertEqual(len(result), 1, 'one series expected for %s: %s' % (expr, body))
        return float(result[0]['value'][1])

    def ctx(self, command_id):
        return pb.CommandContext(command_id=command_id, actor='scrape-test')

    def reserve(self, command_id, quantity, ttl_ms):
        return self.stub.CheckAndReserveStock(pb.CheckAndReserveStockRequest(
            context=self.ctx(command_id), order_id='order-' + command_id, ttl_ms=ttl_ms,
            lines=[common_pb.OrderLine(sku='SCRAPE-SKU', quantity=quantity)]),
            timeout=RPC_TIMEOUT, metadata=[('traceparent', '00-%s-00f067aa0ba902b7-01' % TRACE_ID)])

    def test_1_workload_is_what_prometheus_sees(self):
        self.stub.CreateWarehouse(pb.CreateWarehouseRequest(
            context=self.ctx('wh'), warehouse=common_pb.Warehouse(warehouse='SCR-W', name='w', region='eu',
                                                                   priority=1, active=True)), timeout=RPC_TIMEOUT)
        self.stub.CreateItem(pb.CreateItemRequest(
            context=self.ctx('item'), item=common_pb.Item(sku='SCRAPE-SKU', name='x', reorder_point=5)),
            timeout=RPC_TIMEOUT)
        self.stub.AdjustInventory(pb.AdjustInventoryRequest(
            context=self.ctx('recv'), sku='SCRAPE-SKU', warehouse='SCR-W', receive_quantity=10), timeout=RPC_TIMEOUT)
        self.reserve('keep', 2, 60_000)
        self.stub.CommitReservation(pb.CommitReservationRequest(context=self.ctx('commit'),
                                                                reservation_id='r-keep'), timeout=RPC_TIMEOUT)
        self.reserve('lapse-1', 2, 1_000)
        self.reserve('lapse-2', 1, 1_000)
        self.reserve('keep', 2, 60_000)  # a duplicate
        for i in range(3):
            with self.assertRaises(grpc.RpcError) as refused:
                self.reserve('too-many-%d' % i, 100, 60_000)
            self.assertEqual(refused.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)

        expected = {
            'inventory_reservations_total{outcome="reserved"}': 3,
            'inventory_reservations_total{outcome="duplicate"}': 1,
            'inventory_reservations_total{outcome="rejected",reason="insufficient_stock"}': 3,
            'inventory_reservations_committed_total': 1,
            'inventory_reservations_expired_total': 2,  # the expiry timer, after the 1 s TTL
            'sum(inventory_oversell_events_total)': 0,
            'inventory_commands_total{kind="reserve",outcome="rejected"}': 3,
            'inventory_grpc_requests_total{method="/inventory.v1.CommandService/CheckAndReserveStock",'
            'code="FAILED_PRECONDITION"}': 3,
            'inventory_grpc_requests_total{method="/inventory.v1.CommandService/CheckAndReserveStock",code="OK"}': 4,
            # 10 received - 2 committed = 8 on hand, nothing reserved after the expiries: above 5, not low.
            'inventory_low_stock_items': 0,
            'up{job="inventory"}': 1,
        }
        seen = {}

        def all_match():
            for expr, want in expected.items():
                seen[expr] = self.query(expr)
            return all(seen[e] == w for e, w in expected.items())

        wait_for('series values %s' % expected, all_match)
        self.assertGreater(self.query('sum(inventory_writer_batch_commands_count)'), 0)
        self.assertIsNotNone(self.query('inventory_build_info'))

        # Stock goes low: its level series appears.
        self.stub.AdjustInventory(pb.AdjustInventoryRequest(
            context=self.ctx('damage'), sku='SCRAPE-SKU', warehouse='SCR-W', adjust_delta=-4,
            reason=events_pb.ADJUSTMENT_REASON_DAMAGE), timeout=RPC_TIMEOUT)
        wait_for('low stock series', lambda: self.query('inventory_low_stock_items') == 1 and self.query(
            'inventory_stock_level{sku="SCRAPE-SKU",warehouse="SCR-W"}') == 4)

    def test_2_exposition_passes_promtool(self):
        status, body = http_get('http://%s/metrics' % self.http)
        self.assertEqual(status, 200)
        self.assertIn('# TYPE inventory_reservations_total counter', body)
        lint = subprocess.run([PROMTOOL, 'check', 'metrics'], input=body.encode(), capture_output=True, timeout=30)
        self.assertEqual(lint.returncode, 0, lint.stdout.decode() + lint.stderr.decode())

    def test_3_logs_are_json_lines_with_the_access_log(self):
        self.reserve('log-probe', 1, 60_000)

        def access_line():
            with open(self.server.stderr_path) as f:
                lines = [json.loads(line) for line in f if line.strip()]  # every line must be JSON
            for entry in lines:
                self.assertTrue({'time', 'level', 'message', 'role'} <= entry.keys(), entry)
            return [e for e in lines if e.get('logger') == 'access' and e.get('trace_id') == TRACE_ID]

        entries = wait_for('an access log line with the trace id', access_line, timeout=10)
        entry = entries[-1]
        self.assertEqual(entry['method'], '/inventory.v1.CommandService/CheckAndReserveStock')
        self.assertIn(entry['code'], ('0', '9'))
        self.assertIn('duration_ms', entry)
        self.assertTrue(entry['peer'].startswith('ipv4:127.0.0.1:'), entry['peer'])


if __name__ == '__main__':
    unittest.main()
