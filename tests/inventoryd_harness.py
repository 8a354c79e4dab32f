"""Shared pieces of the Python end-to-end tests: Python stubs for proto/, and
one inventoryd child process that prints its address on the first stdout line.

Call with /usr/bin/python3 (Debian's grpcio and protobuf live there)."""
import os
import select
import signal
import subprocess
import sys
import time


def compile_protos(proto_dir, out_dir):
    """Generates Python and gRPC stubs for every .proto of proto_dir into
    out_dir and makes them importable."""
    protos = sorted(f for f in os.listdir(proto_dir) if f.endswith('.proto'))
    subprocess.run(['protoc', '-I', proto_dir, '--python_out=' + out_dir, '--grpc_out=' + out_dir,
                    '--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin'] + protos,
                   check=True, timeout=60, cwd=proto_dir)
    sys.path.insert(0, out_dir)


def first_line(path, timeout=30):
    """The first complete line of the file at `path` (stripped), waiting for
    it up to `timeout` s: how the tests read the address a child process
    (inventory-dev-kafka, inventoryd) prints first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                line = f.readline()
            if line.endswith('\n'):
                return line.strip()
        time.sleep(0.05)
    raise AssertionError('timed out waiting for the first line of ' + path)


def read_line(stream, timeout):
    """The next line of a child's stdout pipe (stripped), waiting for it up
    to `timeout` s: e.g. inventoryd's second line, "http listening on ..."."""
    line = b''
    deadline = time.monotonic() + timeout
    while not line.endswith(b'\n'):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError('no line within %d s: %r' % (timeout, line))
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            chunk = os.read(stream.fileno(), 1)
            if not chunk:
                raise AssertionError('stream closed: %r' % line)
            line += chunk
    return line.decode().strip()


def wait_for(what, predicate, timeout=90, interval=0.3):
    """Calls `predicate` every `interval` s until it returns something true,
    and returns that; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('timed out waiting for ' + what)


def read_http_line(proc, timeout=30):
    """The address of the second stdout line of an inventoryd started with
    --http-listen: 'http listening on host:port'."""
    text = read_line(proc.stdout, timeout)
    if not text.startswith('http listening on '):
        raise AssertionError('unexpected second line %r' % text)
    return text[len('http listening on '):]


class Inventoryd:
    """One `inventoryd serve` child on <work>/data, listening on a free port;
    its stderr goes to <work>/inventoryd.stderr."""

    def __init__(self, binary, work, args=(), start_timeout=30):
        self.binary = binary
        self.work = work
        self.args = list(args)
        self.start_timeout = start_timeout
        self.proc = None
        self.address = None
        self.stderr_path = os.path.join(work, 'inventoryd.stderr')

    def start(self):
        with open(self.stderr_path, 'ab') as stderr:
            self.proc = subprocess.Popen(
                [self.binary, 'serve', '--data-dir', os.path.join(self.work, 'data'), '--listen', '127.0.0.1:0']
                + self.args,
                stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
        try:
            text = read_line(self.proc.stdout, self.start_timeout)
        except AssertionError as e:
            raise AssertionError('inventoryd printed no address (%s):\n%s' % (e, self.stderr())) from None
        if not text.startswith('listening on '):
            raise AssertionError('unexpected first line %r' % text)
        self.address = text[len('listening on '):]
        return self

    def read_http_address(self, timeout=30):
        """With --http-listen: the HTTP server's host:port, from the second
        stdout line "http listening on <host:port>"."""
        return read_http_line(self.proc, timeout)

    def stderr(self):
        try:
            with open(self.stderr_path, errors='replace') as f:
                return f.read()[-4000:]
        except OSError:
            return ''

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the child and returns its exit code (killing it if it hangs)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError('inventoryd did not stop within %d s after signal %d' % (timeout, sig))
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()
        self.proc = None
        return code

    def kill(self):
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            finally:
                if self.proc.stdout:
                    self.proc.stdout.close()
                self.proc = None
