#!/usr/bin/env python3
"""A hostile Dinas for the kiosk's tests (issue 13: the Dinas link is untrusted input).

    python3 Tests/HostileDinas/hostile_server.py --token TOKEN --mode MODE [--app-id UUID]

Listens on 127.0.0.1 (ephemeral port) and prints one line
    "listening on http://127.0.0.1:PORT foreign http://127.0.0.1:FPORT"
The second listener is "another origin": it answers like a Dinas would and records every request it gets
(whether it carried an Authorization header, how many body bytes). Loopback only; the test kills the process.

It speaks just enough of kiosk-dinas/1 for a kiosk to upload (in memory); MODE makes one part of it hostile:
  ok                  a tiny honest Dinas
  received-negative   PUT reports received = -5           received-intmax   PUT reports received = Int.max
  offset-negative     PATCH/HEAD answer Upload-Offset -1  offset-intmax     ... Upload-Offset 9223372036854775807
  conflict-negative   PATCH answers 409 with Upload-Offset -7
  redirect            every /v1 request answers 307 to the foreign origin
  foreign-upload-url  upload_url is an absolute URL on the foreign origin
  conflict-forever    PATCH answers 409 (Upload-Offset 0) forever
  noprogress          PATCH answers 204 with the offset it was sent (no progress) forever
  expired-forever     PATCH answers 410 forever (counts the manifests it receives)
  endless-cursor      every events page advances the cursor by one with one event, forever
  blackhole           accepts, reads the request, never answers
  slowloris           answers one byte per second
  huge-body           the events page is a 100 MB chunked body at ~40 MB/s (bytes actually sent are counted)
  escape              PUT of --app-id answers 422 with ESC/OSC in the message; the others are delivered and the
                      events carry a state for each with ESC/OSC in its reason
Admin (no auth, loopback): GET /hostile/stats; POST /hostile/setup {"events": [...], "documents": {id: base64},
"mode": ...} replaces the event feed, the documents served at /v1/documents/{id}, or the mode.
"""
import argparse
import base64
import hashlib
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOCOL = "kiosk-dinas/1"
ESC = "\x1b]0;pwned by the Dinas\x07\x1b[2J\x1b[31mRED\x1b[0m \x9b31m"
LOCK = threading.Lock()
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class State:
    def __init__(self, args):
        self.mode = args.mode
        self.token = args.token
        self.app_id = (args.app_id or "").lower()
        self.apps = {}
        self.events = None
        self.documents = {}
        self.foreign_base = ""
        self.stats = {"requests": 0, "by_endpoint": {}, "manifests": 0, "patches": 0, "event_pages": 0,
                      "bytes_sent_huge": 0, "foreign_requests": 0, "foreign_with_auth": 0, "foreign_body_bytes": 0,
                      "foreign_paths": []}


def make_handler(st, foreign):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            data = b""
            while len(data) < n:
                piece = self.rfile.read(min(65536, n - len(data)))
                if not piece:
                    break
                data += piece
            return data

        def send(self, status, obj=None, headers=None, raw=None):
            data = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
            self.send_response(status)
            self.send_header("Kiosk-Protocol", "1")
            self.send_header("Connection", "close")
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            if data or status not in (204, 304):
                self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data and self.command != "HEAD":
                self.wfile.write(data)
            self.close_connection = True

        def error(self, status, code, message, headers=None):
            self.send(status, {"protocol": PROTOCOL, "error": {"code": code, "message": message}}, headers)

        def handle_any(self):
            path = self.path.split("?")[0]
            if foreign:
                body = self.body()
                with LOCK:
                    st.stats["foreign_requests"] += 1
                    st.stats["foreign_body_bytes"] += len(body)
                    st.stats["foreign_paths"].append(self.command + " " + path)
                    if self.headers.get("Authorization"):
                        st.stats["foreign_with_auth"] += 1
                return self.send(204, None, {"Upload-Offset": len(body)})
            if path.startswith("/hostile/"):
                return self.admin(path)
            with LOCK:
                st.stats["requests"] += 1
                key = self.command + " " + re.sub(UUID_RE, "{id}", path)
                st.stats["by_endpoint"][key] = st.stats["by_endpoint"].get(key, 0) + 1
            mode = st.mode
            if mode == "blackhole":
                self.body()
                time.sleep(3600)
                return
            if mode == "slowloris":
                self.body()
                msg = b"HTTP/1.1 200 OK\r\nKiosk-Protocol: 1\r\nContent-Length: 100000\r\n\r\n" + b"{" * 100000
                for b in msg:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(1)
                return
            if mode == "redirect":
                self.body()
                self.send_response(307)
                self.send_header("Kiosk-Protocol", "1")
                self.send_header("Location", st.foreign_base + self.path)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                return
            return self.route(path)

        def admin(self, path):
            if path == "/hostile/stats":
                with LOCK:
                    return self.send(200, st.stats)
            if path == "/hostile/setup":
                cfg = json.loads(self.body() or b"{}")
                with LOCK:
                    if "events" in cfg:
                        st.events = cfg["events"]
                    for k, v in cfg.get("documents", {}).items():
                        st.documents[k] = base64.b64decode(v)
                    if "mode" in cfg:
                        st.mode = cfg["mode"]
                return self.send(204)
            return self.error(404, "not_found", "no such admin path")

        def describe(self, app, received_override=None):
            atts = []
            for a in app["attachments"]:
                got = len(app["data"][a["seq"]])
                received = got if received_override is None else received_override
                url = f"/v1/uploads/{app['id']}/{a['seq']}"
                if st.mode == "foreign-upload-url":
                    url = st.foreign_base + url
                atts.append({"seq": a["seq"], "sha256": a["sha256"], "size": a["size"], "received": received,
                             "complete": got == a["size"] and hashlib.sha256(app["data"][a["seq"]]).hexdigest() == a["sha256"],
                             "upload_url": url})
            state = "delivered" if all(x["complete"] for x in atts) else "receiving"
            return {"protocol": PROTOCOL, "id": app["id"], "state": state, "reason": None, "attachments": atts}

        def route(self, path):
            mode = st.mode
            if path == "/v1/ping":
                return self.send(200, {"protocol": PROTOCOL, "time": "2026-11-22T08:00:00Z"})
            if re.fullmatch(r"/v1/kiosks/[^/]+/heartbeat", path):
                self.body()
                return self.send(204)
            if re.fullmatch(r"/v1/kiosks/[^/]+/config", path):
                return self.send(204)
            if re.fullmatch(r"/v1/complaints/.+", path):
                self.body()
                return self.send(201, {"protocol": PROTOCOL})
            m = re.fullmatch(r"/v1/applications/(" + UUID_RE + ")", path)
            if m:
                app_id = m.group(1)
                if self.command == "PUT":
                    manifest = json.loads(self.body())
                    with LOCK:
                        st.stats["manifests"] += 1
                        if mode == "escape" and app_id == st.app_id:
                            return self.error(422, "invalid_manifest", "ditolak " + ESC)
                        app = st.apps.get(app_id)
                        if app is None or mode == "expired-forever":
                            app = {"id": app_id, "attachments": manifest["attachments"],
                                   "data": {a["seq"]: b"" for a in manifest["attachments"]}}
                            st.apps[app_id] = app
                    override = {"received-negative": -5, "received-intmax": sys.maxsize}.get(mode)
                    return self.send(201, self.describe(app, override))
                with LOCK:
                    app = st.apps.get(app_id)
                if app is None:
                    return self.error(404, "unknown_application", "no such application")
                return self.send(200, self.describe(app))
            m = re.fullmatch(r"/v1/uploads/(" + UUID_RE + r")/(\d+)", path)
            if m:
                return self.upload(m.group(1), int(m.group(2)))
            m = re.fullmatch(r"/v1/kiosks/[^/]+/events", path)
            if m:
                return self.events()
            m = re.fullmatch(r"/v1/documents/(.+)", path)
            if m:
                data = st.documents.get(m.group(1))
                if data is None:
                    return self.error(404, "unknown_document", "no such document")
                return self.send(200, raw=data, headers={"Content-Type": "application/pdf"})
            return self.error(404, "not_found", "no such path")

        def upload(self, app_id, seq):
            mode = st.mode
            body = self.body() if self.command == "PATCH" else b""
            with LOCK:
                app = st.apps.get(app_id)
                if app is None:
                    return self.error(404, "unknown_upload", "no such upload")
                if self.command == "PATCH":
                    st.stats["patches"] += 1
                data = app["data"][seq]
                size = next(a["size"] for a in app["attachments"] if a["seq"] == seq)
                bad = {"offset-negative": -1, "offset-intmax": sys.maxsize}.get(mode)
                if self.command == "HEAD":
                    return self.send(200, None, {"Upload-Offset": bad if bad is not None else len(data), "Upload-Length": size})
                if mode == "conflict-negative":
                    return self.error(409, "offset_mismatch", "offset", {"Upload-Offset": -7})
                if mode == "conflict-forever":
                    return self.error(409, "offset_mismatch", "offset is 0", {"Upload-Offset": 0})
                if mode == "expired-forever":
                    return self.error(410, "upload_expired", "upload expired; send the manifest again")
                if mode == "noprogress":
                    return self.send(204, None, {"Upload-Offset": self.headers.get("Upload-Offset")})
                claimed = int(self.headers.get("Upload-Offset", "-1"))
                if claimed != len(data):
                    return self.error(409, "offset_mismatch", "offset", {"Upload-Offset": len(data)})
                app["data"][seq] = data + body
                offset = len(app["data"][seq])
            if bad is not None:
                offset = bad
            return self.send(204, None, {"Upload-Offset": offset, "Upload-Length": size})

        def events(self):
            mode = st.mode
            q = dict(p.split("=", 1) for p in self.path.split("?", 1)[1].split("&")) if "?" in self.path else {}
            cursor = int(q.get("cursor", "0") or 0)
            with LOCK:
                st.stats["event_pages"] += 1
            if mode == "huge-body":
                self.send_response(200)
                self.send_header("Kiosk-Protocol", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"[" * 65536
                frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
                try:
                    self.wfile.write(b'%x\r\n{"protocol":"kiosk-dinas/1","pad":"\r\n' % len(b'{"protocol":"kiosk-dinas/1","pad":"'))
                    for _ in range(100 * 16):
                        # ~40 MB/s: faster than any kiosk link, slow enough that the client's own abort is what
                        # stops the transfer (on unthrottled loopback libcurl outruns URLSession's delegate queue).
                        time.sleep(0.0016)
                        self.wfile.write(frame)
                        with LOCK:
                            st.stats["bytes_sent_huge"] += len(chunk)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True
                return
            if mode == "endless-cursor":
                seq = cursor + 1
                return self.send(200, {"protocol": PROTOCOL, "cursor": seq, "events": [
                    {"seq": seq, "type": "state", "application_id": "00000000-0000-4000-8000-%012d" % (seq % 10**12),
                     "state": "in_review", "reason": None, "at": "2026-11-22T08:00:00Z"}]})
            with LOCK:
                events = list(st.events or [])
            if mode == "escape" and not events:
                events = [{"seq": 1, "type": "state", "application_id": aid, "state": "returned_for_correction",
                           "reason": "Foto buram " + ESC, "at": "2026-11-22T08:00:00Z"} for aid in st.apps if aid != st.app_id]
            page = [e for e in events if e["seq"] > cursor][:100]
            return self.send(200, {"protocol": PROTOCOL, "cursor": page[-1]["seq"] if page else cursor, "events": page})

        do_GET = do_PUT = do_PATCH = do_HEAD = do_POST = lambda self: self.guard()

        def guard(self):
            try:
                self.handle_any()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--token", required=True)
    p.add_argument("--mode", default="ok")
    p.add_argument("--app-id")
    args = p.parse_args()
    st = State(args)
    ThreadingHTTPServer.daemon_threads = True
    main_srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(st, foreign=False))
    foreign_srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(st, foreign=True))
    st.foreign_base = f"http://127.0.0.1:{foreign_srv.server_address[1]}"
    threading.Thread(target=foreign_srv.serve_forever, daemon=True).start()
    print(f"listening on http://127.0.0.1:{main_srv.server_address[1]} foreign {st.foreign_base}", flush=True)
    main_srv.serve_forever()


if __name__ == "__main__":
    main()
