#!/usr/bin/python3
"""Writes fuzz/corpus/<target>/ seed inputs (a few valid and near-valid
inputs per target; libFuzzer grows the rest). Needs the project's Python
protobuf stubs only for the event and snapshot seeds, which it builds from
proto/ with protoc (as the end-to-end tests do).

    /usr/bin/python3 fuzz/make_corpus.py
"""
import base64
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, 'fuzz', 'corpus')


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def order_events():
    created = ('{"type":"order.created","eventId":"e-1","orderId":"o-1","timestamp":"2026-03-01T12:00:00Z",'
               '"items":[{"sku":"MUG","quantity":2,"warehouseId":"BER-1"},{"sku":"CUP","quantity":1}]}')
    seeds = {
        'created': b'\x00' + created.encode(),
        'created_header': b'\x01' + created.encode(),
        'aliased': b'\x86' + b'{"type":"OrderCreated","id":"e-9","orderId":"o-9","timestamp":1,'
                            b'"items":[{"productId":"MUG","quantity":2}]}',
        'paid': b'\x02{"eventId":"e-3","orderId":"o-1"}',
        'cancelled': b'\x00{"type":"order.cancelled","eventId":"e-5","orderId":"o-1","items":"ignored"}',
        'cloudevents': b'\x0c{"orderId":"o-7"}',
        'extra_fields': b'\x00{"items":[{"quantity":3,"price":9.5,"sku":"MUG","warehouseId":null}],'
                        b'"extra":{"a":[1,2]},"timestamp":1772366400000,"orderId":"o-2","eventId":"e-2",'
                        b'"eventType":"order.created"}',
        'bad_nested': b'\x00{"type":"payment.failed","eventId":"e","orderId":"o","note":tru}',
    }
    for name, data in seeds.items():
        write('order_event_fuzz', name, data)


def page_tokens():
    for kind in (1, 2, 3, 4):
        h = 0x0123456789abcdef
        raw = b'P\x01' + bytes([kind]) + struct.pack('>Q', h) + b'SKU-%d' % kind
        token = base64.urlsafe_b64encode(raw).rstrip(b'=')
        # selector (kind - 1), filter hash little-endian as the target reads it, the token
        write('page_token_fuzz', 'kind%d' % kind, bytes([kind - 1]) + struct.pack('<Q', h) + token)
    write('page_token_fuzz', 'empty', b'\x00' * 9)


def http_requests():
    seeds = {
        'get': 'GET /api/v1/inventory/MUG?warehouse=BER-1 HTTP/1.1\r\nHost: a\r\n'
               'X-Consistency-Token: 3:2,0:41\r\n\r\n',
        'post_reserve': 'POST /api/v1/reservations HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n'
                        'Content-Length: 76\r\n\r\n'
                        '{"reservationId":"r-walk","orderId":"o-walk","lines":[{"sku":"MUG","quantity":3}]}'[:76],
        'chunked': 'POST /api/v1/items HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'
                   '1d\r\n{"item":{"sku":"MUG","name":"'
                   '\r\n4\r\nx"}}\r\n0\r\n\r\n',
        'stream': 'GET /api/v1/stream?skus=A&skus=B&fromBeginning=true HTTP/1.1\r\nHost: a\r\n'
                  'Last-Event-ID: 0:41:0,3:7:1\r\n\r\n',
        'query': 'GET /api/v1/items?pageSize=10&category=kitchen%20ware&pageToken=UAE HTTP/1.1\r\nHost: a\r\n\r\n',
    }
    for name, data in seeds.items():
        write('http_request_fuzz', name, data)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=')


def jwts():
    header = b'{"alg":"HS256","typ":"JWT"}'
    payload = b'{"sub":"alice","iss":"fuzz-issuer","aud":["inventory"],"exp":1800000600,"nbf":1799999000}'
    write('jwt_fuzz', 'signed_ok', b'\x01' + header + b'\n' + payload)
    write('jwt_fuzz', 'signed_expired', b'\x01' + header + b'\n' + payload.replace(b'1800000600', b'1700000000'))
    write('jwt_fuzz', 'signed_aud_string', b'\x01' + header + b'\n' +
          b'{"sub":"bob","iss":"fuzz-issuer","aud":"inventory","exp":1800000600}')
    write('jwt_fuzz', 'compact', b'\x00' + b64(header) + b'.' + b64(payload) + b'.' + b64(b'x' * 32))
    write('jwt_fuzz', 'compact_es256', b'\x00' + b64(b'{"alg":"ES256"}') + b'.' + b64(payload) + b'.' + b64(b'y' * 64))
    write('jwt_fuzz', 'alg_none', b'\x00' + b64(b'{"alg":"none"}') + b'.' + b64(payload) + b'.')
    write('jwt_fuzz', 'jwks', b'\x02{"keys":[{"kty":"EC","crv":"P-256","use":"sig","alg":"ES256","kid":"k1",'
          b'"x":"mIATicwpLVZiEU3vIG9U2dyotXASs-uteBm_6m3AHZ4","y":"dz_hDUy4y_RBgQtVLolZvHZuR8_FD9HlTcBiWHPePcQ"},'
          b'{"kty":"RSA","use":"sig","alg":"RS256","n":"sXch","e":"AQAB"}]}')


def events_and_snapshots():
    """Real records: the stubs encode a few events and a snapshot body."""
    with tempfile.TemporaryDirectory() as out:
        proto = os.path.join(ROOT, 'proto')
        protos = sorted(f for f in os.listdir(proto) if f.endswith('.proto'))
        subprocess.run(['protoc', '-I', proto, '--python_out=' + out] + protos, check=True, cwd=proto)
        sys.path.insert(0, out)
        import events_pb2  # noqa: E402
        import snapshot_pb2  # noqa: E402
        ev = events_pb2.Event()
        for field in ev.DESCRIPTOR.oneofs[0].fields if ev.DESCRIPTOR.oneofs else []:
            e = events_pb2.Event()
            _fill_envelope(e)
            getattr(e, field.name).SetInParent()
            _fill(getattr(e, field.name))
            write('event_codec_fuzz', field.name, e.SerializeToString())
        m = snapshot_pb2.Snapshot()
        _fill(m, depth=2)
        # selector 1: the target frames the body with a valid checksum
        write('snapshot_fuzz', 'framed_body', b'\x01' + m.SerializeToString())
        write('snapshot_fuzz', 'empty_body', b'\x01')


def _fill_envelope(e):
    for f in e.DESCRIPTOR.fields:
        if f.containing_oneof is None:
            _set_scalar(e, f)


def _set_scalar(m, f, i=1):
    from google.protobuf.descriptor import FieldDescriptor as FD
    if f.label == FD.LABEL_REPEATED:
        if f.type == FD.TYPE_MESSAGE:
            _fill(getattr(m, f.name).add(), depth=0)
        elif f.type == FD.TYPE_STRING:
            getattr(m, f.name).append('A%d' % i)
        elif f.type in (FD.TYPE_BOOL,):
            getattr(m, f.name).append(True)
        elif f.type == FD.TYPE_ENUM:
            getattr(m, f.name).append(1)
        elif f.type not in (FD.TYPE_BYTES, FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
            getattr(m, f.name).append(i)
        return
    if f.type == FD.TYPE_MESSAGE:
        _fill(getattr(m, f.name), depth=0)
    elif f.type == FD.TYPE_STRING:
        setattr(m, f.name, 'SKU-%d' % i if 'sku' in f.name else 'v%d' % i)
    elif f.type == FD.TYPE_BYTES:
        setattr(m, f.name, b'\x01\x02')
    elif f.type == FD.TYPE_BOOL:
        setattr(m, f.name, True)
    elif f.type == FD.TYPE_ENUM:
        setattr(m, f.name, 1)
    elif f.type in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        setattr(m, f.name, 1.5)
    else:
        setattr(m, f.name, i)


def _fill(m, depth=1):
    from google.protobuf.descriptor import FieldDescriptor as FD
    for f in m.DESCRIPTOR.fields:
        if f.type == FD.TYPE_MESSAGE and depth <= 0:
            continue
        if f.type == FD.TYPE_MESSAGE and f.label != FD.LABEL_REPEATED:
            _fill(getattr(m, f.name), depth - 1)
        elif f.type == FD.TYPE_MESSAGE:
            _fill(getattr(m, f.name).add(), depth - 1)
        else:
            _set_scalar(m, f)


if __name__ == '__main__':
    order_events()
    page_tokens()
    http_requests()
    jwts()
    events_and_snapshots()
    for t in sorted(os.listdir(CORPUS)):
        print(t, len(os.listdir(os.path.join(CORPUS, t))), 'seeds')
