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
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

import inventoryd_harness

RPC_TIMEOUT = 10
INVENTORYD = None
PROTO_DIR = None
WORK = None
SECRET = b'0123456789abcdef0123456789abcdef-e2e'


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, cwd=WORK, capture_output=True, timeout=60)


def make_certs():
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1',
            '-subj', '/CN=test-ca')
    for name, cn, ext in (('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1'),
                          ('client', 'ops-client', 'extendedKeyUsage=clientAuth')):
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out', name + '.csr',
                '-subj', '/CN=' + cn)
        with open(os.path.join(WORK, name + '.ext'), 'w') as f:
            f.write(ext + '\n')
        openssl('x509', '-req', '-in', name + '.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
                '-out', name + '.pem', '-days', '1', '-extfile', name + '.ext')


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
            f.write('grant ops admin,reader\ngrant CN=ops-client admin\n')

    def serve(self, name, extra):
        work = os.path.join(WORK, name)
        os.makedirs(work, exist_ok=True)
        d = inventoryd_harness.Inventoryd(INVENTORYD, work, [
            '--tls-cert', os.path.join(WORK, 'server.pem'), '--tls-key', os.path.join(WORK, 'server.key'),
            '--auth-jwt-hmac-secret', os.path.join(WORK, 'secret'), '--auth-api-keys', os.path.join(WORK, 'keys'),
            '--auth-policy', os.path.join(WORK, 'policy'), '--auth-issuer', 'https://idp.test',
            '--auth-audience', 'inventory', '--partitions', '1'] + extra)
        d.start()
        self.addCleanup(d.kill)
        port = d.address.rsplit(':', 1)[1]
        return d, 'localhost:' + port

    def stub(self, target, client_cert=False):
        creds = grpc.ssl_channel_credentials(
            root_certificates=read('ca.pem'),
            private_key=read('client.key') if client_cert else None,
            certificate_chain=read('client.pem') if client_cert else None)
        channel = grpc.secure_channel(target, creds)
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
        bad = {
            'none': ((), U),
            'expired': ((('authorization', 'Bearer ' + jwt(claims(exp=int(time.time()) - 3600))),), U),
            'not yet valid': ((('authorization', 'Bearer ' + jwt(claims(nbf=int(time.time()) + 3600))),), U),
            'wrong aud': ((('authorization', 'Bearer ' + jwt(claims(aud='billing'))),), U),
            'wrong iss': ((('authorization', 'Bearer ' + jwt(claims(iss='https://evil'))),), U),
            'tampered': ((('authorization', 'Bearer ' + jwt(claims())[:-3] + 'AAA'),), U),
            'alg none': ((('authorization', 'Bearer ' + jwt(claims(), alg='none')),), U),
            'wrong key': ((('x-api-key', 'nope'),), U),
        }
        for name, (call, req) in self.methods(stub).items():
            for what, (md, want) in bad.items():
                self.assertEqual(self.code(call, req, md), want, '%s %s' % (name, what))
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


if __name__ == '__main__':
    INVENTORYD, PROTO_DIR = sys.argv[1], sys.argv[2]
    WORK = tempfile.mkdtemp(prefix='e2e_auth_')
    try:
        unittest.main(argv=[sys.argv[0], '-v'])
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
