#!/usr/bin/python3
"""Hostile HTTP clients for tests/integration/test_hardening.sh (standard library only).

  bigpost PORT SIZE [--parallel N]   token-less POST /rollups of SIZE bytes, no Expect:
      sends the body in 64 KiB chunks and stops as soon as an answer is readable; prints
      one line per request: "status=401 sent=BYTES of SIZE"
  bombs PORT N MIB                   N concurrent gzip bombs (a MIB MiB deflate stream of
      zeros each, ~1000x that inflated); prints "status=413 retry_after=-" per request
  batch KIND|WINDOW|REGION|LEVEL...  prints a rollup batch (valid but for what the keys say)
  halfopen PORT N PATH SRC TIMEOUT   opens N idle connections from 127.0.0.1 (they send
      nothing), then GET PATH from source address SRC within TIMEOUT seconds; prints
      "refused=K status=200" (K: idle connections the server closed at once); exit 0 on 200
"""
import select
import socket
import sys
import threading
import time
import zlib

HOST = "127.0.0.1"


def read_head(s, timeout):
    """The status line and headers of an answer, or None on EOF/timeout."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    if not data.startswith(b"HTTP/"):
        return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(head[0].split()[1]), headers


def bigpost(port, size, out, i):
    s = socket.create_connection((HOST, port))
    s.sendall(("POST /rollups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Idempotency-Key: \"big-%d\"\r\nContent-Length: %d\r\n\r\n" % (i, size)).encode())
    chunk, sent = b"\0" * 65536, 0
    s.settimeout(30)
    while sent < size:
        if select.select([s], [], [], 0)[0]:
            break  # an answer (or a close) before the body was sent
        try:
            sent += s.send(chunk[: min(len(chunk), size - sent)])
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            break
    r = read_head(s, 30)
    out[i] = "status=%s sent=%d of %d" % (r[0] if r else "none", sent, size)
    s.close()


def bombs(port, n, mib):
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    body = b""
    while len(body) < mib << 20:
        body += z.compress(zeros * 16)
    body += z.flush()
    out = [None] * n
    barrier = threading.Barrier(n)

    def one(i):
        s = socket.create_connection((HOST, port))
        s.sendall(("POST /rollups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Encoding: gzip\r\nIdempotency-Key: \"bomb-%d\"\r\n"
                   "Content-Length: %d\r\n\r\n" % (i, len(body))).encode())
        barrier.wait()
        try:
            s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = read_head(s, 120)
        out[i] = "status=%s retry_after=%s" % (
            (r[0], r[1].get("retry-after", "-")) if r else ("none", "-"))
        s.close()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("\n".join(out))


def halfopen(port, n, path, src, timeout):
    idle = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
        try:
            s.connect((HOST, port))
            idle.append(s)
        except OSError:
            s.close()
    time.sleep(0.5)
    # Connections the server closed at once (over a limit) are readable with EOF now.
    refused = 0
    for s in idle:
        if select.select([s], [], [], 0)[0]:
            try:
                refused += s.recv(1) == b""
            except OSError:
                refused += 1
    c = socket.socket()
    c.bind((src, 0))
    status = "none"
    try:
        c.settimeout(timeout)
        c.connect((HOST, port))
        c.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        r = read_head(c, timeout)
        status = r[0] if r else "none"
    except OSError as e:
        status = "error:" + type(e).__name__
    print("refused=%d status=%s" % (refused, status))
    for s in idle:
        s.close()
    c.close()
    return 0 if status == 200 else 1


def batch(keys):
    import json
    rollups = []
    for k in keys:
        kind, window, region, level = k.split("|")
        rollups.append({
            "key": "%s|%s|%s" % (kind, window, region), "region": region, "region_name": None,
            "level": level, "window_kind": kind, "window": window, "revision": 1,
            "event_count": 1, "visits": 1, "workers_reached": 1, "households": 0,
            "funding_fen": 100, "funding_yuan": "1.00", "funding_by_source_fen": {},
            "funding_by_source_yuan": {}, "funding_by_purpose_fen": {},
            "funding_by_purpose_yuan": {}, "recipients": 0, "surveys": 0, "respondents": 0,
            "satisfaction_mean": None})
    print(json.dumps({"batch_id": "b", "endpoint": "e", "generated_at": "2025-01-15T00:00:00Z",
                      "rollups": rollups}, ensure_ascii=False))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "bigpost":
        port, size = int(args[0]), int(args[1])
        par = int(args[3]) if len(args) > 3 and args[2] == "--parallel" else 1
        out = [None] * par
        ts = [threading.Thread(target=bigpost, args=(port, size, out, i)) for i in range(par)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("\n".join(out))
        return 0
    if cmd == "bombs":
        bombs(int(args[0]), int(args[1]), int(args[2]))
        return 0
    if cmd == "batch":
        batch(args)
        return 0
    if cmd == "halfopen":
        return halfopen(int(args[0]), int(args[1]), args[2], args[3], float(args[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
