#!/usr/bin/python3
"""End to end: authentication and TLS on a real inventoryd.

Usage: e2e_auth_test.py <path to inventoryd> <proto dir>

Generates a CA, a server certificate and a client certificate with the
openssl CLI, an HS256 secret and API key hashes, then checks: inventoryd
refuses to listen on 0.0.0.0 without authentication; over TLS
(grpc.ssl_channel_credentials) every CommandService method without
credentials, with a bad token and with a wrong-role key is refused with the
right code and the log does not move; an admin key writes; with mTLS the
client certificate's subject is the principal.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc
import yaml

import inventoryd_harness

RPC_TIMEOUT = 10
INVENTORYD = None
PROTO_DIR = None
WORK = None
SECRET = b'0123456789abcdef0123456789abcdef-e2e'


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, cwd=WORK, capture_output=True, timeout=60)


def make_ca(name, cn):
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out', name + '.pem', '-days',
            '1', '-subj', '/CN=' + cn)


def make_cert(name, cn, ext, ca='ca'):
    """<name>.pem and <name>.key, signed by the test CA (<ca>.pem)."""
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out', name + '.csr',
            '-subj', '/CN=' + cn)
    with open(os.path.join(WORK, name + '.ext'), 'w') as f:
        f.write(ext + '\n')
    openssl('x509', '-req', '-in', name + '.csr', '-CA', ca + '.pem', '-CAkey', ca + '.key', '-CAcreateserial',
            '-out', name + '.pem', '-days', '1', '-extfile', name + '.ext')


SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1'


def make_certs():
    make_ca('ca', 'test-ca')
    make_cert('server', 'localhost', SERVER_EXT)
    make_cert('client', 'ops-client', 'extendedKeyUsage=clientAuth')


def read(name):
    with open(os.path.join(WORK, name), 'rb') as f:
        return f.read()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def jwt(claims, alg='HS256'):
    signed = b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode()) + '.' + b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET, signed.encode(), hashlib.sha256).digest() if alg == 'HS256' else b''
    return signed + '.' + b64(sig)


def claims(**overrides):
    c = {'sub': 'ops', 'iss': 'https://idp.test', 'aud': 'inventory', 'exp': int(time.time()) + 600}
    c.update(overrides)
    return c


def bearer(token):
    return (('authorization', 'Bearer ' + token),)


def bad_credentials():
    """Credentials every call must refuse as unauthenticated, by name: gRPC
    metadata pairs, sent as HTTP headers of the same names too."""
    now = int(time.time())
    return {
        'none': (),
        'expired': bearer(jwt(claims(exp=now - 3600))),
        'not yet valid': bearer(jwt(claims(nbf=now + 3600))),
        'wrong aud': bearer(jwt(claims(aud='billing'))),
        'wrong iss': bearer(jwt(claims(iss='https://evil'))),
        'tampered': bearer(jwt(claims())[:-3] + 'AAA'),
        'alg none': bearer(jwt(claims(), alg='none')),
        'wrong key': (('x-api-key', 'nope'),),
    }


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        inventoryd_harness.compile_protos(PROTO_DIR, WORK)
        global pb, pb_grpc
        import command_service_pb2 as pb
        import command_service_pb2_grpc as pb_grpc
        make_certs()
        with open(os.path.join(WORK, 'secret'), 'wb') as f:
            f.write(SECRET)
        with open(os.path.join(WORK, 'keys'), 'w') as f:
            f.write('sha256:%s shop orders\n' % hashlib.sha256(b'shop-key').hexdigest())
            f.write('sha256:%s ops-bot admin\n' % hashlib.sha256(b'admin-key').hexdigest())
        with open(os.path.join(WORK, 'policy'), 'w') as f:
            f.write('grant ops admin,reader\ngrant viewer reader\ngrant CN=ops-client admin\n')

    def serve(self, name, extra, http=False, cert='server'):
        """inventoryd with authentication; TLS on both front doors unless cert is None."""
        work = os.path.join(WORK, name)
        os.makedirs(work, exist_ok=True)
        tls = ['--tls-cert', os.path.join(WORK, cert + '.pem'), '--tls-key', os.path.join(WORK, cert + '.key'),
               '--http-tls-cert', os.path.join(WORK, cert + '.pem'), '--http-tls-key', os.path.join(WORK, cert + '.key')] \
            if cert else []
        d = inventoryd_harness.Inventoryd(INVENTORYD, work, tls + [
            '--auth-jwt-hmac-secret', os.path.join(WORK, 'secret'), '--auth-api-keys', os.path.join(WORK, 'keys'),
            '--auth-policy', os.path.join(WORK, 'policy'), '--auth-issuer', 'https://idp.test',
            '--auth-audience', 'inventory', '--partitions', '1'] + extra
            + (['--http-listen', '127.0.0.1:0'] if http else []))
        d.start()
        self.addCleanup(d.kill)
        port = d.address.rsplit(':', 1)[1]
        if http:
            d.http_port = int(inventoryd_harness.read_http_line(d.proc).rsplit(':', 1)[1])
        return d, 'localhost:' + port

    def stub(self, target, client_cert=False, tls=True):
        creds = grpc.ssl_channel_credentials(
            root_certificates=read('ca.pem'),
            private_key=read('client.key') if client_cert else None,
            certificate_chain=read('client.pem') if client_cert else None)
        channel = grpc.secure_channel(target, creds) if tls else grpc.insecure_channel(target)
        self.addCleanup(channel.close)
        return pb_grpc.CommandServiceStub(channel)

    def methods(self, stub):
        ctx = pb.CommandContext(command_id='c-1', actor='body')
        return {
            'CreateItem': (stub.CreateItem, pb.CreateItemRequest(context=ctx)),
            'UpdateItem': (stub.UpdateItem, pb.UpdateItemRequest(context=ctx, sku='S')),
            'DeleteItem': (stub.DeleteItem, pb.DeleteItemRequest(context=ctx, sku='S')),
            'BulkCreateItems': (stub.BulkCreateItems, pb.BulkCreateItemsRequest(context=ctx)),
            'BulkUpdateItems': (stub.BulkUpdateItems, pb.BulkUpdateItemsRequest(context=ctx)),
            'CreateWarehouse': (stub.CreateWarehouse, pb.CreateWarehouseRequest(context=ctx)),
            'UpdateWarehouse': (stub.UpdateWarehouse, pb.UpdateWarehouseRequest(context=ctx)),
            'AdjustInventory': (stub.AdjustInventory, pb.AdjustInventoryRequest(context=ctx)),
            'TransferInventory': (stub.TransferInventory, pb.TransferInventoryRequest(context=ctx)),
            'CheckAndReserveStock': (stub.CheckAndReserveStock, pb.CheckAndReserveStockRequest(context=ctx)),
            'BulkReserveStock': (stub.BulkReserveStock, pb.BulkReserveStockRequest()),
            'CommitReservation': (stub.CommitReservation, pb.CommitReservationRequest(context=ctx)),
            'ReleaseReservedStock': (stub.ReleaseReservedStock, pb.ReleaseReservedStockRequest(context=ctx)),
        }

    def code(self, call, req, metadata=()):
        try:
            call(req, timeout=RPC_TIMEOUT, metadata=metadata)
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()

    def create_warehouse(self, stub, command_id, metadata):
        req = pb.CreateWarehouseRequest(context=pb.CommandContext(command_id=command_id, actor='body'))
        req.warehouse.warehouse = 'W-' + command_id
        req.warehouse.name = 'w'
        return stub.CreateWarehouse(req, timeout=RPC_TIMEOUT, metadata=metadata)

    def test_refuses_to_start_on_any_address_without_auth(self):
        work = os.path.join(WORK, 'open')
        r = subprocess.run([INVENTORYD, 'serve', '--data-dir', os.path.join(work, 'data'), '--listen', '0.0.0.0:0'],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b'--insecure-no-auth', r.stderr)
        self.assertIn(b'--auth-api-keys', r.stderr)

    def test_tls_every_method_refused_then_admin_writes(self):
        _, target = self.serve('tls', [])
        stub = self.stub(target)
        U, D = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED
        for name, (call, req) in self.methods(stub).items():
            for what, md in bad_credentials().items():
                self.assertEqual(self.code(call, req, md), U, '%s %s' % (name, what))
            if name not in ('CheckAndReserveStock', 'BulkReserveStock', 'CommitReservation', 'ReleaseReservedStock'):
                self.assertEqual(self.code(call, req, (('x-api-key', 'shop-key'),)), D, name)
        # Nothing was appended: the first admitted write lands at offset 0.
        resp = self.create_warehouse(stub, 'w-1', (('authorization', 'Bearer ' + jwt(claims())),))
        self.assertEqual([p.offset for p in resp.result.token.positions], [0])
        resp = self.create_warehouse(stub, 'w-2', (('x-api-key', 'admin-key'),))
        self.assertEqual([p.offset for p in resp.result.token.positions], [1])

    def test_mtls_subject_is_the_principal(self):
        _, target = self.serve('mtls', ['--tls-client-ca', os.path.join(WORK, 'ca.pem')])
        resp = self.create_warehouse(self.stub(target, client_cert=True), 'm-1', ())
        self.assertEqual([p.offset for p in resp.result.token.positions], [0])
        with self.assertRaises(grpc.RpcError):  # no client certificate: the handshake fails
            self.create_warehouse(self.stub(target), 'm-2', ())

    def test_every_query_method_refused_and_a_reader_admitted(self):
        import query_service_pb2 as qpb
        _, target = self.serve('query', [], cert=None)
        channel = grpc.insecure_channel(target)
        self.addCleanup(channel.close)
        methods = qpb.DESCRIPTOR.services_by_name['QueryService'].methods
        self.assertGreaterEqual(len(methods), 12)
        U, D = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED
        viewer = bearer(jwt(claims(sub='viewer')))
        for m in methods:
            req, resp = getattr(qpb, m.input_type.name), getattr(qpb, m.output_type.name)
            path = '/inventory.v1.QueryService/' + m.name
            if m.server_streaming:
                rpc = channel.unary_stream(path, request_serializer=req.SerializeToString,
                                           response_deserializer=resp.FromString)
            else:
                rpc = channel.unary_unary(path, request_serializer=req.SerializeToString,
                                          response_deserializer=resp.FromString)

            def code(md):
                try:
                    result = rpc(req(), timeout=RPC_TIMEOUT, metadata=md)
                    if m.server_streaming:
                        admitted = dict(result.initial_metadata()).get('inventory-stream-admitted')
                        code = result.code() if admitted is None else grpc.StatusCode.OK
                        result.cancel()
                        return code
                    return grpc.StatusCode.OK
                except grpc.RpcError as e:
                    return e.code()

            for what, md in bad_credentials().items():
                self.assertEqual(code(md), U, '%s %s' % (m.name, what))
            self.assertEqual(code((('x-api-key', 'shop-key'),)), D, m.name)  # orders: no reads
            self.assertNotIn(code(viewer), (U, D), m.name)

    def test_grpc_limits_message_metadata_and_streams(self):
        import query_service_pb2 as qpb
        import query_service_pb2_grpc as qpb_grpc
        d, target = self.serve('limits', [], cert=None)
        channel = grpc.insecure_channel(target)
        self.addCleanup(channel.close)
        stub = pb_grpc.CommandServiceStub(channel)
        admin = (('x-api-key', 'admin-key'),)
        big = pb.CreateItemRequest(context=pb.CommandContext(command_id='big'))
        big.item.sku = 'BIG'
        big.item.name = 'x' * (4 << 20)
        self.assertEqual(self.code(stub.CreateItem, big, admin), grpc.StatusCode.RESOURCE_EXHAUSTED)
        # Past the metadata bound (with a small message, so only that bound is
        # in play): refused RESOURCE_EXHAUSTED, or, when the server closes the
        # connection first (docs/security.md says it may), UNAVAILABLE; never
        # handled.
        small = pb.CreateItemRequest(context=pb.CommandContext(command_id='pad'))
        self.assertIn(self.code(stub.CreateItem, small, admin + (('x-pad', 'p' * (20 << 10)),)),
                      (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE))
        # The server stays up (the header list past the limit may cost the
        # client its connection: a new channel) and the refused calls
        # appended nothing.
        self.assertEqual(d.proc.poll(), None, d.stderr())
        channel = grpc.insecure_channel(target, options=[('grpc.use_local_subchannel_pool', 1)])
        self.addCleanup(channel.close)
        resp = self.create_warehouse(pb_grpc.CommandServiceStub(channel), 'lim-1', admin)
        self.assertEqual([p.offset for p in resp.result.token.positions], [0])
        # 256 streams at once on one connection; the 257th waits for a free one.
        query = qpb_grpc.QueryServiceStub(channel)
        viewer = bearer(jwt(claims(sub='viewer')))
        streams = [query.StreamInventoryUpdates(qpb.StreamInventoryUpdatesRequest(), metadata=viewer)
                   for _ in range(256)]
        for s in streams:
            self.assertIn(('inventory-stream-admitted', '1'), s.initial_metadata())
        extra = query.StreamInventoryUpdates(qpb.StreamInventoryUpdatesRequest(), metadata=viewer)
        got = []
        waiter = threading.Thread(target=lambda: got.append(extra.initial_metadata()))
        waiter.start()
        waiter.join(1.0)
        self.assertTrue(waiter.is_alive(), 'the 257th stream started at once')
        streams[0].cancel()
        waiter.join(RPC_TIMEOUT)
        self.assertFalse(waiter.is_alive())
        self.assertIn(('inventory-stream-admitted', '1'), got[0])
        for s in streams[1:] + [extra]:
            s.cancel()
        self.assertEqual(d.proc.poll(), None)

    # ---- HTTP (docs/http.md, docs/security.md "HTTP") ----

    def http_call(self, port, method, path, body=None, headers=(), conn=None):
        """One request on `conn` (kept alive) or a new connection: (status, headers, JSON or text)."""
        c = conn or http.client.HTTPConnection('127.0.0.1', port, timeout=RPC_TIMEOUT)
        h = dict(headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h['Content-Type'] = 'application/json'
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode()
        if conn is None:
            c.close()
        try:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(text)
        except ValueError:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, text

    def test_http_every_route_refused_then_admin_writes(self):
        d, _ = self.serve('http', [], http=True, cert=None)
        viewer = bearer(jwt(claims(sub='viewer')))
        shop = (('x-api-key', 'shop-key'),)
        c = http.client.HTTPConnection('127.0.0.1', d.http_port, timeout=RPC_TIMEOUT)
        self.addCleanup(c.close)
        for route, method, path, body, role in HTTP_ROUTES:
            for what, headers in bad_credentials().items():
                status, hdrs, doc = self.http_call(d.http_port, method, path, body, headers, conn=c)
                self.assertEqual(status, 401, '%s %s: %s %s' % (route, what, status, doc))
                self.assertEqual(doc['code'], 'UNAUTHENTICATED', route)
                want = 'Bearer realm="inventory"' + (', error="invalid_token"' if headers and
                                                       headers[0][0] == 'authorization' else '')
                self.assertEqual(hdrs.get('www-authenticate'), want, '%s %s' % (route, what))
            wrong_role = shop if role == 'reader' else viewer
            status, _, doc = self.http_call(d.http_port, method, path, body, wrong_role, conn=c)
            self.assertEqual(status, 403, '%s: %s %s' % (route, status, doc))
            self.assertEqual(doc['code'], 'PERMISSION_DENIED', route)
        # Every refusal kept the one connection and the server up; nothing was
        # appended: the first admitted write lands at offset 0.
        ops = bearer(jwt(claims()))
        status, hdrs, doc = self.http_call(d.http_port, 'POST', '/api/v1/warehouses',
                                           {'warehouse': {'warehouse': 'BER-1', 'name': 'Berlin', 'active': True}},
                                           ops + (('Idempotency-Key', 'h-wh'),), conn=c)
        self.assertEqual(status, 200, doc)
        self.assertEqual(hdrs['x-consistency-token'], '0:0')
        # The actor is the principal, not the body's context.actor.
        self.http_call(d.http_port, 'POST', '/api/v1/items', {'item': {'sku': 'MUG', 'name': 'Mug'}},
                       ops + (('Idempotency-Key', 'h-item'),), conn=c)
        status, hdrs, doc = self.http_call(d.http_port, 'POST', '/api/v1/inventory/receive',
                                           {'context': {'commandId': 'h-rcv', 'actor': 'mallory'}, 'sku': 'MUG',
                                            'warehouse': 'BER-1', 'receiveQuantity': 5}, ops, conn=c)
        self.assertEqual(status, 200, doc)
        self.assertEqual(hdrs['x-consistency-token'], '0:2')
        status, _, doc = self.http_call(d.http_port, 'GET', '/api/v1/inventory/MUG/movements', None,
                                        viewer + (('X-Consistency-Token', '0:2'),), conn=c)
        self.assertEqual(status, 200, doc)
        self.assertEqual([m['actor'] for m in doc['movements']], ['ops'])
        # The same principals with curl: an API key writes, the event stream
        # opens for a reader and is refused (a plain 401, no event) without one.
        out = subprocess.run(['curl', '-sS', '-D', '-', '-o', '/dev/null', '-X', 'POST',
                              'http://127.0.0.1:%d/api/v1/reservations/r-1/commit' % d.http_port],
                             capture_output=True, text=True, timeout=RPC_TIMEOUT, check=True).stdout
        self.assertIn(' 401 ', out.splitlines()[0])
        self.assertIn('WWW-Authenticate: Bearer realm="inventory"', out)
        out = subprocess.run(['curl', '-sS', '-w', '%{http_code}', '-o', '/dev/null', '-X', 'POST',
                              '-H', 'X-API-Key: admin-key', '-H', 'Idempotency-Key: curl-wh', '-H', 'Content-Type: application/json', '-d',
                              '{"warehouse":{"warehouse":"MUC-1","name":"Munich"}}',
                              'http://127.0.0.1:%d/api/v1/warehouses' % d.http_port],
                             capture_output=True, text=True, timeout=RPC_TIMEOUT, check=True).stdout
        self.assertEqual(out, '200')
        s = http.client.HTTPConnection('127.0.0.1', d.http_port, timeout=RPC_TIMEOUT)
        self.addCleanup(s.close)
        s.request('GET', '/api/v1/stream?fromBeginning=true', headers=dict(viewer))
        r = s.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader('Content-Type'), 'text/event-stream')
        self.assertTrue(r.readline().startswith(b'id: '))
        self.assertEqual(d.proc.poll(), None)

    def test_http_rate_limit_429_with_retry_after(self):
        d, target = self.serve('http-rate', ['--rate-write-per-s', '0.25', '--rate-write-burst', '2'], http=True,
                               cert=None)
        admin = (('x-api-key', 'admin-key'),)
        codes = [self.http_call(d.http_port, 'POST', '/api/v1/warehouses',
                                {'warehouse': {'warehouse': 'W-%d' % i, 'name': 'w'}},
                                admin + (('Idempotency-Key', 'rate-%d' % i),)) for i in range(3)]
        self.assertEqual([c[0] for c in codes], [200, 200, 429], codes)
        self.assertEqual(codes[2][1]['retry-after'], '4')  # 1 token at 0.25/s, whole seconds
        # One bucket per principal, whichever front door: gRPC is limited too.
        self.assertEqual(self.code(self.stub(target, tls=False).CreateWarehouse, pb.CreateWarehouseRequest(), admin),
                         grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(self.http_call(d.http_port, 'GET', '/health')[0], 200)

    def test_in_flight_bound_refuses_with_a_retry_hint(self):
        """--requests-in-flight-max 2 (rpc/in_flight.h): a gRPC stream and an
        SSE stream hold both slots; a further gRPC call is RESOURCE_EXHAUSTED
        with grpc-retry-pushback-ms, an HTTP request 429 with Retry-After,
        /metrics counts them, /health and gRPC health still answer; once a
        stream ends calls pass again, and a client sending the server's
        refusal mark itself is not refused by it."""
        import query_service_pb2 as qpb
        import query_service_pb2_grpc as qpb_grpc
        d, target = self.serve('in-flight', ['--requests-in-flight-max', '2'], http=True, cert=None)
        viewer = bearer(jwt(claims(sub='viewer')))
        admin = (('x-api-key', 'admin-key'),)
        channel = grpc.insecure_channel(target)
        self.addCleanup(channel.close)
        stub = pb_grpc.CommandServiceStub(channel)
        stream = qpb_grpc.QueryServiceStub(channel).StreamInventoryUpdates(
            qpb.StreamInventoryUpdatesRequest(), timeout=60, metadata=viewer)
        self.addCleanup(stream.cancel)
        self.assertEqual(dict(stream.initial_metadata()).get('inventory-stream-admitted'), '1')
        sse = http.client.HTTPConnection('127.0.0.1', d.http_port, timeout=RPC_TIMEOUT)
        self.addCleanup(sse.close)
        sse.request('GET', '/api/v1/stream', headers=dict(viewer))
        self.assertEqual(sse.getresponse().status, 200)

        try:
            stub.CreateWarehouse(pb.CreateWarehouseRequest(), timeout=RPC_TIMEOUT, metadata=admin)
            self.fail('a third call was admitted')
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.RESOURCE_EXHAUSTED, e.details())
            self.assertIn('in flight', e.details())
            self.assertEqual(dict(e.trailing_metadata()).get('grpc-retry-pushback-ms'), '100')
        status, headers, _ = self.http_call(d.http_port, 'GET', '/api/v1/warehouses', headers=admin)
        self.assertEqual((status, headers.get('retry-after')), (429, '1'))
        self.assertEqual(self.http_call(d.http_port, 'GET', '/health')[0], 200)
        check = channel.unary_unary('/grpc.health.v1.Health/Check')  # raw bytes in and out
        self.assertEqual(check(b'', timeout=RPC_TIMEOUT), b'\x08\x01')  # status: SERVING
        metrics = self.http_call(d.http_port, 'GET', '/metrics')[2]
        self.assertIn('\ninventory_requests_in_flight 2\n', metrics)
        self.assertIn('\ninventory_requests_in_flight_refused_total 2\n', metrics)

        stream.cancel()
        inventoryd_harness.wait_for('a slot given back', lambda: self.code(
            stub.CreateWarehouse, pb.CreateWarehouseRequest(), admin) == grpc.StatusCode.INVALID_ARGUMENT, timeout=20)
        # A slot is given back once the handler has finished, which may be just
        # after its answer reached the client (under ASan it often is): so the
        # call with the forged mark is retried briefly too. Were the mark
        # obeyed, it would be refused every time and this would time out.
        forged = admin + (('x-inventory-in-flight-refused', '1'),)
        inventoryd_harness.wait_for('the forged refusal mark ignored', lambda: self.code(
            stub.CreateWarehouse, pb.CreateWarehouseRequest(), forged) == grpc.StatusCode.INVALID_ARGUMENT, timeout=20)
        self.assertEqual(d.proc.poll(), None)

    def test_in_flight_bound_zero_counts_nothing(self):
        """--requests-in-flight-max 0: no bound and no interceptor, so the
        in-flight families are exposed without samples, and calls pass."""
        d, target = self.serve('in-flight-off', ['--requests-in-flight-max', '0'], http=True, cert=None)
        stub = self.stub(target, tls=False)
        self.assertEqual(self.code(stub.CreateWarehouse, pb.CreateWarehouseRequest(), (('x-api-key', 'admin-key'),)),
                         grpc.StatusCode.INVALID_ARGUMENT)
        metrics = self.http_call(d.http_port, 'GET', '/metrics')[2]
        self.assertIn('# TYPE inventory_requests_in_flight gauge', metrics)
        self.assertNotIn('\ninventory_requests_in_flight ', metrics)
        self.assertNotIn('\ninventory_requests_in_flight_refused_total ', metrics)

    # ---- HTTPS (--http-tls-*, the twins of gRPC's --tls-*) ----

    def curl(self, port, path, *args):
        """curl over HTTPS to localhost:port; (exit code, HTTP status or 0, body)."""
        r = subprocess.run(['curl', '-sS', '--cacert', os.path.join(WORK, 'ca.pem'), '-w', '\n%{http_code}',
                            *args, 'https://localhost:%d%s' % (port, path)],
                           capture_output=True, text=True, timeout=RPC_TIMEOUT)
        body, _, code = r.stdout.rpartition('\n')
        return r.returncode, int(code or 0), body

    def test_https_mtls_subject_is_the_principal(self):
        d, _ = self.serve('https-mtls', ['--tls-client-ca', os.path.join(WORK, 'ca.pem'),
                                         '--http-tls-client-ca', os.path.join(WORK, 'ca.pem')], http=True)
        cert = ('--cert', os.path.join(WORK, 'client.pem'), '--key', os.path.join(WORK, 'client.key'))
        body = '{"warehouse":{"warehouse":"TLS-1","name":"t","active":true}}'
        rc, status, doc = self.curl(d.http_port, '/api/v1/warehouses', *cert, '-X', 'POST', '-H',
                                    'Content-Type: application/json', '-H', 'Idempotency-Key: tls-1', '-d', body)
        self.assertEqual((rc, status), (0, 200), doc)
        # CN=ops-client holds admin only: reads are refused, so the subject really was the principal.
        rc, status, doc = self.curl(d.http_port, '/api/v1/warehouses', *cert)
        self.assertEqual((rc, status), (0, 403), doc)
        # A token sent over mTLS takes precedence: a bad one is refused.
        rc, status, _ = self.curl(d.http_port, '/api/v1/warehouses', *cert, '-H', 'X-API-Key: nope')
        self.assertEqual((rc, status), (0, 401))
        # No client certificate: no handshake; plain HTTP on the TLS port: no answer.
        rc, status, _ = self.curl(d.http_port, '/api/v1/warehouses')
        self.assertNotEqual(rc, 0)
        self.assertEqual(status, 0)
        r = subprocess.run(['curl', '-sS', '-m', '5', 'http://127.0.0.1:%d/health' % d.http_port],
                           capture_output=True, timeout=RPC_TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        # A remote caller cannot claim a subject: the forwarded-subject metadata without the edge's secret.
        self.assertEqual(self.code(self.stub('localhost:' + d.address.rsplit(':', 1)[1], client_cert=True).CreateItem,
                                   pb.CreateItemRequest(), (('x-inventory-forwarded-subject', 'CN=ops-client'),)),
                         grpc.StatusCode.UNAUTHENTICATED)
        self.assertEqual(self.curl(d.http_port, '/health', *cert)[:2], (0, 200))

    def test_https_certificate_reload_on_sighup_keeps_open_connections(self):
        for name in ('rot', 'rot-next'):
            make_cert(name, 'localhost', SERVER_EXT)
        d, _ = self.serve('https-reload', [], http=True, cert='rot')
        ctx = ssl.create_default_context(cafile=os.path.join(WORK, 'ca.pem'))
        admin = {'X-API-Key': 'admin-key'}

        def connect():
            c = http.client.HTTPSConnection('localhost', d.http_port, timeout=RPC_TIMEOUT, context=ctx)
            c.connect()
            self.addCleanup(c.close)
            return c

        def get(c):
            c.request('GET', '/health', headers=admin)
            r = c.getresponse()
            r.read()
            return r.status

        def der(name):
            with open(os.path.join(WORK, name + '.pem')) as f:
                return ssl.PEM_cert_to_DER_cert(f.read())

        first, second = der('rot'), der('rot-next')
        old = connect()
        self.assertEqual(old.sock.getpeercert(binary_form=True), first)
        self.assertEqual(get(old), 200)
        shutil.copy(os.path.join(WORK, 'rot-next.pem'), os.path.join(WORK, 'rot.pem'))
        shutil.copy(os.path.join(WORK, 'rot-next.key'), os.path.join(WORK, 'rot.key'))
        d.proc.send_signal(signal.SIGHUP)
        fresh = inventoryd_harness.wait_for('a handshake with the new certificate', lambda: (
            lambda c: c if c.sock.getpeercert(binary_form=True) == second else None)(connect()), timeout=10)
        self.assertEqual(get(fresh), 200)
        self.assertEqual(get(old), 200)  # the connection opened before the reload goes on
        self.assertEqual(old.sock.getpeercert(binary_form=True), first)
        # A broken file keeps the certificate in force, and the server up.
        with open(os.path.join(WORK, 'rot.pem'), 'w') as f:
            f.write('not a certificate\n')
        d.proc.send_signal(signal.SIGHUP)
        inventoryd_harness.wait_for('the reload error', lambda: 'HTTP TLS certificate not reloaded' in d.stderr(),
                                    timeout=10)
        self.assertEqual(connect().sock.getpeercert(binary_form=True), second)

    def test_grpc_certificate_reload_on_sighup_keeps_open_connections(self):
        """--tls-cert/--tls-key re-read on SIGHUP (rpc/reloadable_tls.h). The
        new certificate comes from another CA, so grpcio itself tells the two
        apart: a channel trusting only the new CA connects once the reload is
        in use, one trusting only the old CA no longer can, and the channel
        opened before the reload goes on over its connection."""
        make_ca('ca-next', 'test-ca-next')
        make_cert('grot', 'localhost', SERVER_EXT)
        make_cert('grot-next', 'localhost', SERVER_EXT, ca='ca-next')
        d, target = self.serve('grpc-reload', [], cert='grot')
        admin = (('x-api-key', 'admin-key'),)

        def stub(ca):
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=read(ca + '.pem')))
            self.addCleanup(channel.close)
            return pb_grpc.CommandServiceStub(channel)

        def handshakes(ca):
            """A fresh connection trusting only <ca> reaches a handler (which
            refuses the empty request: INVALID_ARGUMENT), not UNAVAILABLE."""
            code = self.code(stub(ca).CreateWarehouse, pb.CreateWarehouseRequest(), admin)
            return code != grpc.StatusCode.UNAVAILABLE

        old = stub('ca')
        self.create_warehouse(old, 'grpc-reload-1', admin)
        self.assertFalse(handshakes('ca-next'))
        shutil.copy(os.path.join(WORK, 'grot-next.pem'), os.path.join(WORK, 'grot.pem'))
        shutil.copy(os.path.join(WORK, 'grot-next.key'), os.path.join(WORK, 'grot.key'))
        d.proc.send_signal(signal.SIGHUP)
        inventoryd_harness.wait_for('a handshake with the new certificate', lambda: handshakes('ca-next'), timeout=20)
        self.assertIn('SIGHUP: gRPC TLS certificate reloaded', d.stderr())
        self.assertFalse(handshakes('ca'))
        self.create_warehouse(old, 'grpc-reload-2', admin)  # the connection opened before the reload goes on
        # A broken file keeps the certificate in force, and the server up.
        with open(os.path.join(WORK, 'grot.key'), 'w') as f:
            f.write('not a key\n')
        d.proc.send_signal(signal.SIGHUP)
        inventoryd_harness.wait_for('the reload error', lambda: 'gRPC TLS certificate not reloaded' in d.stderr(),
                                    timeout=10)
        self.assertTrue(handshakes('ca-next'))
        self.create_warehouse(old, 'grpc-reload-3', admin)

    # ---- Kafka security passthrough (--kafka-config) ----

    def test_kafka_config_refused_by_key_and_secrets_never_printed(self):
        secret = 'TopSecret-e2e-4711'
        work = os.path.join(WORK, 'kafka-conf')
        os.makedirs(work, exist_ok=True)
        conf = os.path.join(work, 'kafka.conf')

        def run(text, *args, env=None, timeout=60):
            with open(conf, 'w') as f:
                f.write(text)
            return subprocess.run([INVENTORYD, 'serve', '--data-dir', os.path.join(work, 'data'), '--listen',
                                   '127.0.0.1:0', '--kafka-config', conf, *args],
                                  capture_output=True, text=True, timeout=timeout, env=env)

        good = ('security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=shop\n'
                'sasl.password=%s\n' % secret)
        # An unknown property: refused at start, named, with librdkafka's reason.
        r = run(good + 'ssl.no.such.property=1\n')
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('kafka.conf:5: kafka setting ssl.no.such.property', r.stderr)
        self.assertIn('No such configuration property', r.stderr)
        # A key the clients' guarantees depend on is not passed through.
        r = run('enable.idempotence=false\n')
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('enable.idempotence is not passed through', r.stderr)
        # A malformed line is named without its text.
        r = run('sasl.password %s\n' % secret)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('kafka.conf:1: expected key=value', r.stderr)
        self.assertNotIn(secret, r.stdout + r.stderr)
        # A valid file goes to the clients of the Kafka log, which cannot reach
        # its broker (none listens): the error says so, never the password.
        r = run(good, '--log-backend', 'kafka', '--kafka-brokers', '127.0.0.1:1', '--partitions', '1')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('kafka log', r.stderr)
        self.assertNotIn(secret, r.stdout + r.stderr)
        # --help, with the file given by its environment variable.
        r = subprocess.run([INVENTORYD, 'serve', '--help'], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, INVENTORY_KAFKA_CONFIG=conf))
        self.assertIn('--kafka-config', r.stdout)
        self.assertNotIn(secret, r.stdout + r.stderr)


# Every /api/v1 route (the OpenAPI test holds docs/openapi.yaml to the route
# table; test_http_routes_cover_openapi holds this list to the document):
# (template, method, a path, a body the HTTP edge accepts, the role it needs).
HTTP_ROUTES = [
    ('/api/v1/items', 'GET', '/api/v1/items', None, 'reader'),
    ('/api/v1/items', 'POST', '/api/v1/items', {'item': {'sku': 'S'}}, 'admin'),
    ('/api/v1/items/{sku}', 'GET', '/api/v1/items/S', None, 'reader'),
    ('/api/v1/items/{sku}', 'PUT', '/api/v1/items/S', {}, 'admin'),
    ('/api/v1/items/{sku}', 'DELETE', '/api/v1/items/S', None, 'admin'),
    ('/api/v1/items/bulk', 'POST', '/api/v1/items/bulk', {}, 'admin'),
    ('/api/v1/items/bulk', 'PUT', '/api/v1/items/bulk', {}, 'admin'),
    ('/api/v1/warehouses', 'GET', '/api/v1/warehouses', None, 'reader'),
    ('/api/v1/warehouses', 'POST', '/api/v1/warehouses', {}, 'admin'),
    ('/api/v1/warehouses/{code}', 'GET', '/api/v1/warehouses/W', None, 'reader'),
    ('/api/v1/warehouses/{code}', 'PUT', '/api/v1/warehouses/W', {}, 'admin'),
    ('/api/v1/warehouses/{code}/inventory', 'GET', '/api/v1/warehouses/W/inventory', None, 'reader'),
    ('/api/v1/inventory/{sku}', 'GET', '/api/v1/inventory/S', None, 'reader'),
    ('/api/v1/inventory/{sku}/movements', 'GET', '/api/v1/inventory/S/movements', None, 'reader'),
    ('/api/v1/inventory/receive', 'POST', '/api/v1/inventory/receive', {'receiveQuantity': 1}, 'admin'),
    ('/api/v1/inventory/adjust', 'POST', '/api/v1/inventory/adjust', {'adjustDelta': 1}, 'admin'),
    ('/api/v1/inventory/count', 'POST', '/api/v1/inventory/count', {'countedQuantity': 1}, 'admin'),
    ('/api/v1/inventory/transfer', 'POST', '/api/v1/inventory/transfer', {}, 'admin'),
    ('/api/v1/inventory/transfer/receive', 'POST', '/api/v1/inventory/transfer/receive', {}, 'admin'),
    ('/api/v1/reservations', 'POST', '/api/v1/reservations', {}, 'orders'),
    ('/api/v1/reservations/bulk', 'POST', '/api/v1/reservations/bulk', {}, 'orders'),
    ('/api/v1/reservations/{id}', 'GET', '/api/v1/reservations/R', None, 'reader'),
    ('/api/v1/reservations/{id}/commit', 'POST', '/api/v1/reservations/R/commit', None, 'orders'),
    ('/api/v1/reservations/{id}/cancel', 'POST', '/api/v1/reservations/R/cancel', None, 'orders'),
    ('/api/v1/reservations/{id}/extend', 'POST', '/api/v1/reservations/R/extend', {}, 'orders'),
    ('/api/v1/reservations/{id}/expire', 'POST', '/api/v1/reservations/R/expire', None, 'admin'),
    ('/api/v1/inventory/{sku}/block', 'POST', '/api/v1/inventory/S/block', {'reason': 'recall'}, 'admin'),
    ('/api/v1/inventory/{sku}/unblock', 'POST', '/api/v1/inventory/S/unblock', {}, 'admin'),
    ('/api/v1/reservations/order/{orderId}', 'GET', '/api/v1/reservations/order/O', None, 'reader'),
    ('/api/v1/availability/check', 'POST', '/api/v1/availability/check', {}, 'reader'),
    ('/api/v1/availability/bulk', 'POST', '/api/v1/availability/bulk', {}, 'reader'),
    ('/api/v1/reports/inventory', 'GET', '/api/v1/reports/inventory', None, 'reader'),
    ('/api/v1/stream', 'GET', '/api/v1/stream', None, 'reader'),
]


class HttpRouteListTest(unittest.TestCase):
    def test_http_routes_cover_openapi(self):
        with open(os.path.join(PROTO_DIR, '..', 'docs', 'openapi.yaml')) as f:
            doc = yaml.safe_load(f)
        documented = {(path, method.upper()) for path, ops in doc['paths'].items() if path.startswith('/api/v1/')
                      for method in ops if method in ('get', 'post', 'put', 'delete')}
        self.assertEqual({(t, m) for t, m, _, _, _ in HTTP_ROUTES}, documented)
        # Every route states how it is authenticated and documents the gate's
        # refusals (the answers test_http_every_route_refused_then_admin_writes
        # and the rate and in-flight tests get); /health and /ready are open.
        schemes = doc['components']['securitySchemes']
        self.assertEqual((schemes['bearerJwt']['scheme'], schemes['apiKey']['name'], schemes['mutualTls']['type']),
                         ('bearer', 'X-API-Key', 'mutualTLS'))
        self.assertTrue(doc['openapi'].startswith('3.1'), 'mutualTLS needs OpenAPI 3.1')
        responses = doc['components']['responses']
        self.assertIn('WWW-Authenticate', responses['Unauthenticated']['headers'])
        self.assertIn('Retry-After', responses['TooManyRequests']['headers'])
        for path, ops in doc['paths'].items():
            for method, op in ops.items():
                where = '%s %s' % (method.upper(), path)
                if not path.startswith('/api/v1/'):
                    self.assertEqual(op.get('security'), [], where)
                    continue
                self.assertEqual(op.get('security'), [{'bearerJwt': []}, {'apiKey': []}, {'mutualTls': []}], where)
                refs = {code: r.get('$ref', '').rsplit('/', 1)[-1] for code, r in op['responses'].items()}
                self.assertEqual((refs.get('401'), refs.get('403'), refs.get('429')),
                                 ('Unauthenticated', 'PermissionDenied', 'TooManyRequests'), where)


if __name__ == '__main__':
    INVENTORYD, PROTO_DIR = sys.argv[1], sys.argv[2]
    WORK = tempfile.mkdtemp(prefix='e2e_auth_')
    try:
        unittest.main(argv=[sys.argv[0], '-v'])
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
