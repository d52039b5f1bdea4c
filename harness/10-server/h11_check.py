#!/usr/bin/python3
"""h11_check.py PORT - lesson 10: every response of the server on
127.0.0.1:PORT parsed by h11, a strict HTTP/1.1 implementation written by
others (Debian's python3-h11), never by the course's own code.

Good requests one at a time, a pipeline of five sent at once (each response
parsed by its own h11 client connection, the bytes left over by one handed
to the next), and bad requests each on its own connection (which must end
with the server's close when the status says so). Prints one line per
failure and a last line "h11: ..."; exits 0 when every response parsed and
had the expected status and body.
"""
import socket
import sys

import h11

PORT = int(sys.argv[1])
TIMEOUT = 3.0
# Once a response did not come in time, the check has failed: the later
# parts wait briefly, so that a stuck server costs one timeout, not three.
MISSED_TIMEOUT = 0.3
failures = []
checked = 0


def client_for(method, target, body=b"", headers=()):
    """An h11 client that has sent this request: (connection, bytes)."""
    conn = h11.Connection(our_role=h11.CLIENT)
    hdrs = [("Host", "t")] + list(headers)
    if body or method == "POST":
        hdrs.append(("Content-Length", str(len(body))))
    data = conn.send(h11.Request(method=method, target=target, headers=hdrs))
    if body:
        data += conn.send(h11.Data(data=body))
    data += conn.send(h11.EndOfMessage())
    return conn, data


def read_response(conn, sock, what):
    """Feed sock's bytes to conn until one whole response: (status, headers, body)."""
    status, headers, body = None, {}, b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                raise AssertionError(f"{what}: no whole response within {sock.gettimeout()} s")
            conn.receive_data(chunk)
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            headers = {k.decode().lower(): v.decode() for k, v in event.headers}
        elif isinstance(event, h11.Data):
            body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return status, headers, body
        elif isinstance(event, h11.ConnectionClosed):
            raise AssertionError(f"{what}: the connection closed before a whole response")


def expect(what, got, status, body=None, allow=None, closes=None):
    global checked
    checked += 1
    st, headers, b = got
    if st != status:
        failures.append(f"{what}: status {st}, expected {status}")
    elif body is not None and b != body:
        failures.append(f"{what}: body {b[:60]!r}, expected {body[:60]!r}")
    elif allow is not None and headers.get("allow") != allow:
        failures.append(f"{what}: Allow {headers.get('allow')!r}, expected {allow!r}")
    elif closes is not None and (headers.get("connection", "").lower() == "close") != closes:
        failures.append(f"{what}: Connection: close {'missing' if closes else 'unexpected'}")


def connect():
    missed = any("no whole response" in f for f in failures)
    s = socket.create_connection(("127.0.0.1", PORT), timeout=MISSED_TIMEOUT if missed else TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def one_by_one():
    s = connect()
    for method, target, body, status, want in [
        ("GET", "/hello.txt", b"", 200, b"hello, world\n"),
        ("HEAD", "/hello.txt", b"", 200, b""),
        ("GET", "/heavy?mode=plain&id=h11", b"", 200, b"heavy h11\n"),
        ("POST", "/echo", b"strict\r\nparser", 200, b"strict\r\nparser"),
        ("GET", "/missing", b"", 404, b"Not Found\n"),
        ("GET", "/", b"", 200, None),
    ]:
        conn, data = client_for(method, target, body)
        s.sendall(data)
        expect(f"{method} {target}", read_response(conn, s, f"{method} {target}"), status, want, closes=False)
    s.close()


def pipelined():
    s = connect()
    reqs = [
        ("GET", "/heavy?mode=plain&id=p1", b"", 200, b"heavy p1\n"),
        ("HEAD", "/heavy?mode=plain&id=p2", b"", 200, b""),
        ("POST", "/echo", b"pipelined", 200, b"pipelined"),
        ("HEAD", "/index.html", b"", 200, b""),
        ("GET", "/hello.txt", b"", 200, b"hello, world\n"),
    ]
    clients, data = [], b""
    for method, target, body, _, _ in reqs:
        conn, d = client_for(method, target, body)
        clients.append(conn)
        data += d
    s.sendall(data)
    leftover = b""
    for conn, (method, target, _, status, want) in zip(clients, reqs):
        if leftover:  # (receive_data(b"") would mean the end of the stream)
            conn.receive_data(leftover)
        got = read_response(conn, s, f"pipelined {method} {target}")
        expect(f"pipelined {method} {target}", got, status, want)
        leftover = conn.trailing_data[0]
    s.close()


def bad():
    cases = [
        ("malformed", b"GARBAGE\r\n\r\n", 400, None, True),
        ("405 on a file", b"PUT /hello.txt HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, "GET, HEAD", False),
        ("405 on /echo", b"GET /echo HTTP/1.1\r\n\r\n", 405, "POST", False),
        ("413", b"POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413, None, True),
        ("414", b"GET /" + b"u" * 3000 + b" HTTP/1.1\r\n\r\n", 414, None, True),
        ("431", b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"h" * 9000 + b"\r\n\r\n", 431, None, True),
        ("501", b"BREW /pot HTTP/1.1\r\n\r\n", 501, None, True),
        ("501 chunked", b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, None, True),
        ("505", b"GET / HTTP/3.0\r\n\r\n", 505, None, True),
    ]
    for what, raw, status, allow, closes in cases:
        s = connect()
        conn, _ = client_for("GET", "/")  # h11's state: a request sent
        s.sendall(raw)
        expect(what, read_response(conn, s, what), status, allow=allow, closes=closes)
        if closes:
            try:
                rest = s.recv(1)
            except (socket.timeout, ConnectionResetError):
                rest = b"?"
            if rest != b"":
                failures.append(f"{what}: the connection stayed open after Connection: close")
        s.close()


for part in (one_by_one, pipelined, bad):
    try:
        part()
    except (AssertionError, h11.ProtocolError, OSError) as e:
        failures.append(f"{part.__name__}: {type(e).__name__}: {e}")

for f in failures:
    print(f)
if failures:
    print(f"h11: {len(failures)} response(s) rejected or wrong, {checked} checked")
    sys.exit(1)
print(f"h11: all {checked} responses parsed by h11 (strict HTTP/1.1) with the right status and body")
