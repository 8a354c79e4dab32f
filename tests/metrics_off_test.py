#!/usr/bin/python3
"""--metrics off (docs/metrics.md, "Overhead of metrics"): inventoryd records
nothing and serves no /metrics (404), and still serves writes and reads over
HTTP; with the default (on) /metrics answers.

Usage: metrics_off_test.py INVENTORYD"""
import http.client
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inventoryd_harness  # noqa: E402

INVENTORYD = sys.argv[1]
del sys.argv[1:2]


def request(address, method, path, body=None, headers=None):
    host, port = address.rsplit(':', 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=15)
    conn.request(method, path, body, headers or {})
    r = conn.getresponse()
    text = r.read().decode()
    token = r.getheader('X-Consistency-Token')
    conn.close()
    return r.status, text, token


class MetricsOff(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix='metrics_off_')

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def serve(self, metrics):
        server = inventoryd_harness.Inventoryd(
            INVENTORYD, self.work, ['--http-listen', '127.0.0.1:0', '--metrics', metrics]).start()
        return server, server.read_http_address()

    def test_off_serves_the_api_but_no_metrics(self):
        server, address = self.serve('off')
        try:
            status, text, token = request(address, 'POST', '/api/v1/warehouses', json.dumps(
                {'warehouse': {'warehouse': 'OFF-W', 'name': 'Off', 'region': 'eu', 'active': True}}),
                {'Content-Type': 'application/json', 'Idempotency-Key': 'off-wh'})
            self.assertEqual(status, 200, text)
            self.assertTrue(token)
            status, text, _ = request(address, 'GET', '/api/v1/warehouses/OFF-W',
                                      headers={'X-Consistency-Token': token})
            self.assertEqual(status, 200, text)
            self.assertEqual(json.loads(text)['warehouse']['name'], 'Off')
            status, _, _ = request(address, 'GET', '/metrics')
            self.assertEqual(status, 404)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_on_by_default(self):
        server, address = self.serve('on')
        try:
            status, text, _ = request(address, 'GET', '/metrics')
            self.assertEqual(status, 200)
            self.assertIn('# TYPE inventory_reservations_total counter', text)
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == '__main__':
    unittest.main()
