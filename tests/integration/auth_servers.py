#!/usr/bin/env python3
"""Endpoints with authentication for tests/integration/test_reporter_auth.sh (stdlib only).

  auth_servers.py oauth --client-id ID --secret-file F [--expires-in S] --ports-file P
      An OAuth2 token endpoint (POST /token, client credentials, HTTP Basic or form fields)
      and a resource server (POST /rollups) that wants a Bearer token the token endpoint
      issued and not revoked. POST /revoke on the resource server forgets every token (the
      next request is answered 401). P gets "TOKEN_PORT RESOURCE_PORT".

  auth_servers.py mtls --cert C --key K --ca CA --ports-file P
      An HTTPS resource server that requires a client certificate signed by CA
      (ssl.CERT_REQUIRED), and a plain-HTTP stats port. P gets "HTTPS_PORT STATS_PORT".

Both answer GET /stats (JSON counters, and the set of rollup keys received) on the
resource (oauth) or stats (mtls) port.
"""
import argparse
import base64
import gzip
import json
import os
import secrets
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {"token_hits": 0, "token_refused": 0, "tokens_issued": 0, "batches": 0, "rollups": 0,
         "unauthorized": 0, "revocations": 0, "client_auth": []}
KEYS = set()
VALID = set()


def key_of(r):
    return "%s|%s|%s" % (r["window_kind"], r["window"], r["region"])


class Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads /stats
        pass

    def reply(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def stats(self):
        with LOCK:
            self.reply(200, dict(STATS, keys=sorted(KEYS)))

    def take_batch(self):
        raw = self.body()
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        doc = json.loads(raw)
        with LOCK:
            STATS["batches"] += 1
            STATS["rollups"] += len(doc["rollups"])
            KEYS.update(key_of(r) for r in doc["rollups"])
        self.reply(200, {"accepted": len(doc["rollups"])})


def oauth_handlers(client_id, secret, expires_in):
    class Token(Base):
        def do_POST(self):
            form = urllib.parse.parse_qs(self.body().decode(), keep_blank_values=True)
            cid = csec = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                cid, csec = urllib.parse.unquote_plus(u), urllib.parse.unquote_plus(p)
                how = "client_secret_basic"
            else:
                cid = form.get("client_id", [None])[0]
                csec = form.get("client_secret", [None])[0]
                how = "client_secret_post"
            with LOCK:
                STATS["token_hits"] += 1
                STATS["client_auth"].append(how)
            if form.get("grant_type") != ["client_credentials"]:
                return self.reply(400, {"error": "unsupported_grant_type"})
            if cid != client_id or csec != secret:
                with LOCK:
                    STATS["token_refused"] += 1
                return self.reply(401, {"error": "invalid_client",
                                        "error_description": "client authentication failed"},
                                  {"WWW-Authenticate": 'Basic realm="token"'})
            tok = "at-" + secrets.token_hex(12)
            with LOCK:
                VALID.add(tok)
                STATS["tokens_issued"] += 1
            self.reply(200, {"access_token": tok, "token_type": "Bearer",
                             "expires_in": expires_in, "scope": form.get("scope", [""])[0]})

    class Resource(Base):
        def do_GET(self):
            self.stats() if self.path == "/stats" else self.reply(404, {})

        def do_POST(self):
            if self.path == "/revoke":
                self.body()
                with LOCK:
                    VALID.clear()
                    STATS["revocations"] += 1
                return self.reply(200, {})
            auth = self.headers.get("Authorization", "")
            with LOCK:
                ok = auth.startswith("Bearer ") and auth[7:] in VALID
                if not ok:
                    STATS["unauthorized"] += 1
            if not ok:
                self.body()
                return self.reply(401, {"error": "invalid_token"},
                                  {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            self.take_batch()

    return Token, Resource


class Stats(Base):
    def do_GET(self):
        self.stats() if self.path == "/stats" else self.reply(404, {})


class MtlsResource(Base):
    def do_POST(self):
        self.take_batch()


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("oauth")
    o.add_argument("--client-id", required=True)
    o.add_argument("--secret-file", required=True)
    o.add_argument("--expires-in", type=int, default=3600)
    o.add_argument("--ports-file", required=True)
    m = sub.add_parser("mtls")
    for k in ("--cert", "--key", "--ca", "--ports-file"):
        m.add_argument(k, required=True)
    a = ap.parse_args()
    if a.cmd == "oauth":
        secret = open(a.secret_file, encoding="utf-8").readline().rstrip("\n")
        token, resource = oauth_handlers(a.client_id, secret, a.expires_in)
        ports = (serve(ThreadingHTTPServer(("127.0.0.1", 0), token)),
                 serve(ThreadingHTTPServer(("127.0.0.1", 0), resource)))
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        ctx.load_verify_locations(a.ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), MtlsResource)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        ports = (serve(httpd), serve(ThreadingHTTPServer(("127.0.0.1", 0), Stats)))
    with open(a.ports_file + ".tmp", "w") as f:
        f.write("%d %d\n" % ports)
    os.rename(a.ports_file + ".tmp", a.ports_file)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
