#!/usr/bin/python3
"""W3C traceparent end to end (docs/metrics.md, "Trace context").

A real inventoryd (HTTP front door, JSON logs, access log, the order
consumer and the integration-event publisher on the development broker,
librdkafka's mock cluster):
  * an HTTP reservation with a traceparent header -> the ledger event in the
    log carries it (read back with `inventoryctl export`) -> the public
    inventory.reserved event on the broker carries it as a header -> the JSON
    access log line carries its trace id;
  * an order.created on Kafka with a traceparent header -> its public event
    carries it;
  * malformed values (HTTP header, gRPC metadata, Kafka header) are ignored,
    leave no traceparent on the events, and are counted by source.

Usage: trace_context_test.py INVENTORYD INVENTORYCTL DEV_KAFKA KCAT PROTO_DIR"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inventoryd_harness  # noqa: E402

INVENTORYD, INVENTORYCTL, DEV_KAFKA, KCAT, PROTO_DIR = sys.argv[1:6]
del sys.argv[1:6]
TRACE = '0af7651916cd43dd8448eb211c80319c'
HTTP_TP = '00-%s-b7ad6b7169203331-01' % TRACE
KAFKA_TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'


class TraceContext(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix='trace_context_')
        stubs = os.path.join(cls.work, 'stubs')
        os.makedirs(stubs)
        inventoryd_harness.compile_protos(PROTO_DIR, stubs)
        broker_out = os.path.join(cls.work, 'broker.out')
        with open(broker_out, 'w') as out, open(os.path.join(cls.work, 'broker.err'), 'w') as err:
            cls.broker = subprocess.Popen(
                [DEV_KAFKA, '--topic', 'order.events:1', '--topic', 'order.events.dlq:1',
                 '--topic', 'inventory.public:1'], stdout=out, stderr=err)
        cls.brokers = inventoryd_harness.first_line(broker_out)
        cls.server = inventoryd_harness.Inventoryd(
            INVENTORYD, cls.work, ['--http-listen', '127.0.0.1:0', '--log-format', 'json', '--access-log',
                                   '--orders-brokers', cls.brokers]).start()
        cls.http = cls.server.read_http_address()
        cls.post('/api/v1/warehouses', {'warehouse': {'warehouse': 'TR-W', 'name': 'T', 'region': 'eu',
                                                      'priority': 1, 'active': True}}, 'tr-wh')
        cls.post('/api/v1/items', {'item': {'sku': 'TR-SKU', 'name': 'Trace mug', 'reorderPoint': 1}}, 'tr-item')
        cls.post('/api/v1/inventory/receive', {'sku': 'TR-SKU', 'warehouse': 'TR-W', 'receiveQuantity': 50},
                 'tr-recv')

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.broker.terminate()
            cls.broker.wait(timeout=30)
            shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def post(cls, path, body, key, traceparent=None):
        host, port = cls.http.rsplit(':', 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=15)
        headers = {'Content-Type': 'application/json', 'Idempotency-Key': key}
        if traceparent is not None:
            headers['traceparent'] = traceparent
        conn.request('POST', path, json.dumps(body), headers)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        assert r.status == 200, (path, r.status, text)
        return json.loads(text)

    def reserve(self, order, key, traceparent=None):
        return self.post('/api/v1/reservations', {'reservationId': 'r-' + order, 'orderId': order,
                                                  'lines': [{'sku': 'TR-SKU', 'quantity': 1}]}, key, traceparent)

    def public_reserved(self, order):
        """The inventory.reserved messages of `order` on the broker, as (body, headers)."""
        r = subprocess.run([KCAT, '-C', '-b', self.brokers, '-t', 'inventory.public', '-o', 'beginning', '-e', '-J',
                            '-q'], capture_output=True, timeout=60, check=True)
        out = []
        for line in r.stdout.decode().splitlines():
            if not line.strip():
                continue
            m = json.loads(line)
            body = json.loads(m['payload'])
            h = m.get('headers') or []
            if body.get('type') == 'inventory.reserved' and body.get('orderId') == order:
                out.append((body, dict(zip(h[0::2], h[1::2]))))
        return out

    def logged_events(self, reservation_id):
        """The ledger events of `reservation_id` in the log, via inventoryctl export."""
        r = subprocess.run([INVENTORYCTL, 'export', '--data-dir', os.path.join(self.work, 'data'), '--format',
                            'jsonl', '--what', 'events'], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        rows = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
        return [row for row in rows if row.get('reservation_id') == reservation_id]

    def malformed(self, source):
        with urllib.request.urlopen('http://%s/metrics' % self.http, timeout=5) as r:
            body = r.read().decode()
        m = re.search(r'^inventory_traceparent_malformed_total\{source="%s"\} (\S+)$' % source, body, re.M)
        self.assertIsNotNone(m, body)
        return float(m.group(1))

    def test_1_http_request_to_log_to_public_event_to_log_line(self):
        self.reserve('o-http', 'tr-http', HTTP_TP)
        events = self.logged_events('r-o-http')
        self.assertTrue(events)
        for e in events:
            self.assertEqual(e.get('traceparent'), HTTP_TP, e)
        published = inventoryd_harness.wait_for('the public event of o-http',
                                                lambda: self.public_reserved('o-http'), timeout=30)
        self.assertEqual(published[0][1].get('traceparent'), HTTP_TP, published)

        def access_line():
            with open(self.server.stderr_path) as f:
                lines = [json.loads(line) for line in f if line.strip()]  # every line is JSON
            return [e for e in lines if e.get('logger') == 'access' and e.get('trace_id') == TRACE]
        entries = inventoryd_harness.wait_for('an access log line with the trace id', access_line, timeout=10)
        self.assertEqual(entries[-1]['method'], '/inventory.v1.CommandService/CheckAndReserveStock')
        self.assertEqual(entries[-1]['code'], '0')

    def test_2_malformed_values_are_ignored_and_counted(self):
        before_http = self.malformed('http')
        self.reserve('o-bad-http', 'tr-bad-http', '00-%s-0000000000000000-01' % TRACE)  # all-zero parent id
        self.assertEqual(self.malformed('http'), before_http + 1)
        for e in self.logged_events('r-o-bad-http'):
            self.assertNotIn('traceparent', e)

        import command_service_pb2 as pb
        import command_service_pb2_grpc as pb_grpc
        import common_pb2 as common_pb
        before_grpc = self.malformed('grpc')
        with grpc.insecure_channel(self.server.address) as channel:
            pb_grpc.CommandServiceStub(channel).CheckAndReserveStock(
                pb.CheckAndReserveStockRequest(context=pb.CommandContext(command_id='tr-bad-grpc'), order_id='o-grpc',
                                               lines=[common_pb.OrderLine(sku='TR-SKU', quantity=1)]),
                timeout=10, metadata=[('traceparent', 'not-a-traceparent')])
        self.assertEqual(self.malformed('grpc'), before_grpc + 1)

    def test_3_kafka_order_event_to_public_event(self):
        def produce(order, traceparent):
            body = json.dumps({'type': 'order.created', 'eventId': 'e-' + order, 'orderId': order, 'timestamp': 1,
                               'items': [{'sku': 'TR-SKU', 'quantity': 1}]})
            subprocess.run([KCAT, '-P', '-b', self.brokers, '-t', 'order.events', '-K', '|', '-z', 'none',
                            '-H', 'traceparent=' + traceparent], input=('%s|%s\n' % (order, body)).encode(),
                           check=True, timeout=60)
        produce('o-kafka', KAFKA_TP)
        produce('o-kafka-bad', 'ff-xyz')
        published = inventoryd_harness.wait_for('the public event of o-kafka',
                                                lambda: self.public_reserved('o-kafka'), timeout=30)
        self.assertEqual(published[0][1].get('traceparent'), KAFKA_TP, published)
        bad = inventoryd_harness.wait_for('the public event of o-kafka-bad',
                                          lambda: self.public_reserved('o-kafka-bad'), timeout=30)
        self.assertNotIn('traceparent', bad[0][1])
        self.assertEqual(self.malformed('kafka'), 1)
        for e in self.logged_events('r-o-kafka'):
            self.assertEqual(e.get('traceparent'), KAFKA_TP, e)


if __name__ == '__main__':
    unittest.main()
