#!/usr/bin/env python3
"""Dinas reference endpoint: a stand-in for the Dinas Dukcapil in tests and demos.

Implements Kiosk/PROTOCOL.md (kiosk-dinas/1) with the Python standard library; document signatures are made
with the `openssl` command (Ed25519 over the document's raw SHA-256 digest). State lives under --data.

    python3 Tests/DinasReference/server.py --port PORT --data DIR --token TOKEN --signing-key KEY.pem
        [--drop-after-bytes N] [--fail-rate R] [--latency-ms MS] [--captive-portal-rate R]
        [--duplicate-rate R] [--expire-uploads-after S] [--seed N] [--auto-review SECONDS [--profiles DIR]]
        [--registry FILE] [--verify-rate-per-minute N]

Faults can also be changed at run time with POST /admin/faults.

--auto-review SECONDS starts an automatic reviewer (for the demo and end-to-end tests): every delivered
application goes to in_review, and SECONDS later to ready with one signed document for every product of its
service that its profile (DIR/<profile>.json, default the checkout's Kiosk/profiles) marks printable_at_kiosk.
It acts on persisted states only, so a restart neither skips nor repeats a step.

--registry FILE loads the LOPE CAPIL registry that POST /v1/verify answers from: a JSON list of
{"nik": "16 digits", "kk": "16 digits", "name": "..."} (POST /admin/registry adds entries at run time).
"""
import argparse, base64, hashlib, json, os, random, re, subprocess, sys, tempfile, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOCOL = "kiosk-dinas/1"
LOCK = threading.RLock()
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
READY_STATES = {"in_review", "returned_for_correction", "rejected", "ready"}
FORM_KEY_RE = r"[a-z][a-z0-9_]{0,39}"
NOTIFY_TEXT = {
    "delivered": "Permohonan {service} Anda sudah diterima Dinas Dukcapil.",
    "in_review": "Permohonan {service} Anda sedang diperiksa Dinas Dukcapil.",
    "returned_for_correction": "Permohonan {service} Anda dikembalikan untuk perbaikan. Silakan datang ke kios desa.",
    "rejected": "Permohonan {service} Anda ditolak. Keterangan dapat dilihat di kios desa.",
    "ready": "Dokumen permohonan {service} Anda sudah siap. Silakan cetak di kios desa.",
}


class Dropped(Exception):
    """The injected fault closed the connection mid-request."""


class Dinas:
    def __init__(self, args):
        self.data = os.path.abspath(args.data)
        self.token = args.token
        self.signing_key = os.path.abspath(args.signing_key)
        self.key_id = self.compute_key_id()
        self.rng = random.Random(args.seed)
        self.faults = {
            "drop_after_bytes": args.drop_after_bytes, "fail_rate": args.fail_rate, "latency_ms": args.latency_ms,
            "captive_portal_rate": args.captive_portal_rate, "duplicate_rate": args.duplicate_rate,
            "expire_uploads_after": args.expire_uploads_after,
        }
        self.stats = {"requests": 0, "bytes_received": 0, "bytes_sent": 0, "body_bytes_received": 0,
                      "upload_bytes_received": 0,
                      "drops": 0, "failures_injected": 0, "captive_portal_injected": 0, "duplicates_injected": 0,
                      "by_endpoint": {}}
        self.drop_counter = 0
        for d in ("applications", "documents", "kiosks"):
            os.makedirs(os.path.join(self.data, d), exist_ok=True)
        self.events = self.load_json("events.json", [])
        self.config = self.load_json("config.json", None)
        self.heartbeats = self.load_json("heartbeats.json", [])
        self.complaints = self.load_json("complaints.json", {})
        self.notifications = self.load_json("notifications.json", [])
        self.registry = self.load_json("registry.json", {})
        if getattr(args, "registry", None):
            with open(args.registry) as f:
                self.add_registry(json.load(f))
        self.verify_rate = getattr(args, "verify_rate_per_minute", 60)
        self.verify_times = {}

    # ---- persistence (every write is temp + fsync + rename) ----
    def path(self, *parts):
        return os.path.join(self.data, *parts)

    def load_json(self, name, default):
        try:
            with open(self.path(name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return default

    def save_json(self, rel, value):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(p))
        with os.fdopen(fd, "w") as f:
            json.dump(value, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)

    def compute_key_id(self):
        der = subprocess.run(["openssl", "pkey", "-in", self.signing_key, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        return hashlib.sha256(der[-32:]).hexdigest()[:16]

    def sign_document(self, app_id, product, sha_hex):
        """Ed25519 over the statement of PROTOCOL.md §6, binding the document to its application and product."""
        return self.sign_message(f"kiosk-dinas/1 document\n{app_id.lower()}\n{product}\n{sha_hex.lower()}".encode())

    def sign_message(self, message):
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(message)
            name = f.name
        try:
            out = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", self.signing_key, "-rawin", "-in", name],
                                 check=True, capture_output=True).stdout
        finally:
            os.unlink(name)
        return base64.b64encode(out).decode()

    # ---- LOPE CAPIL registry ----
    def add_registry(self, entries):
        n = 0
        for e in entries if isinstance(entries, list) else []:
            if (isinstance(e, dict) and isinstance(e.get("nik"), str) and re.fullmatch(r"\d{16}", e["nik"])
                    and isinstance(e.get("kk"), str) and re.fullmatch(r"\d{16}", e["kk"])
                    and isinstance(e.get("name"), str) and 0 < len(e["name"]) <= 80):
                self.registry[e["nik"]] = {"kk": e["kk"], "name": e["name"]}
                n += 1
        self.save_json("registry.json", self.registry)
        return n

    @staticmethod
    def mask_name(name):
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())

    # ---- notifications (what the Dinas would send with the resident's consent) ----
    def notify_state(self, app, state):
        m = app.get("manifest") or {}
        channel, to = m.get("notify"), m.get("contact")
        if channel not in ("whatsapp", "sms") or not to:
            return
        n = {"application_id": app["id"], "channel": channel, "to": to, "state": state,
             "text": NOTIFY_TEXT.get(state, "Status permohonan {service} Anda: " + state).format(service=app["service"]),
             "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if m.get("tracking_code"):
            n["tracking_code"] = m["tracking_code"]
        self.notifications.append(n)
        self.save_json("notifications.json", self.notifications[-10000:])

    # ---- applications ----
    def app_dir(self, app_id):
        return self.path("applications", app_id)

    def load_app(self, app_id):
        try:
            with open(os.path.join(self.app_dir(app_id), "app.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def save_app(self, app):
        self.save_json(os.path.join("applications", app["id"], "app.json"), app)

    def upload_path(self, app_id, seq):
        return os.path.join(self.app_dir(app_id), f"{seq}.bin")

    def offset(self, app_id, seq):
        try:
            return os.path.getsize(self.upload_path(app_id, seq))
        except FileNotFoundError:
            return 0

    def expired(self, app, att):
        limit = self.faults.get("expire_uploads_after")
        return bool(limit) and not att["complete"] and time.time() - att.get("touched", time.time()) > float(limit)

    def expire(self, app, att):
        att["expired"] = True
        try:
            os.unlink(self.upload_path(app["id"], att["seq"]))
        except FileNotFoundError:
            pass

    def describe(self, app):
        return {"protocol": PROTOCOL, "id": app["id"], "state": app["state"], "reason": app.get("reason"),
                "manifest_sha256": app["manifest_sha256"], "revision": app.get("revision", 1),
                "attachments": [{"seq": a["seq"], "sha256": a["sha256"], "size": a["size"],
                                 "received": self.offset(app["id"], a["seq"]), "complete": a["complete"],
                                 "upload_url": f"/v1/uploads/{app['id']}/{a['seq']}"} for a in app["attachments"]]}

    def add_event(self, kiosk_id, event):
        event["seq"] = len(self.events) + 1
        event["kiosk_id"] = kiosk_id
        event["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.events.append(event)
        self.save_json("events.json", self.events)

    def make_pdf(self, lines):
        text = "BT /F1 12 Tf 72 760 Td 16 TL " + " ".join(
            "(" + l.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for l in lines) + " ET"
        objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
                f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
                "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
        out, offsets = b"%PDF-1.4\n", []
        for i, o in enumerate(objs, 1):
            offsets.append(len(out))
            out += f"{i} 0 obj\n{o}\nendobj\n".encode()
        xref = len(out)
        out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
        out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
        out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
        return out

    def produce_documents(self, app, products, tamper):
        for product in products:
            doc_id = str(uuid.uuid4())
            pdf = self.make_pdf([f"DINAS DUKCAPIL - {product}", f"Permohonan {app['id']}", f"Layanan {app['service']}",
                                 "Dokumen elektronik ber-TTE (contoh / sample)"])
            sha = hashlib.sha256(pdf).hexdigest()
            signature = self.sign_document(app["id"], product, sha)
            if tamper == "content":
                pdf = pdf.replace(b"sample", b"SAMPLE")
            elif tamper == "hash":
                sha = hashlib.sha256(b"other").hexdigest()
            elif tamper == "signature":
                raw = bytearray(base64.b64decode(signature))
                raw[0] ^= 1
                signature = base64.b64encode(bytes(raw)).decode()
            with open(self.path("documents", doc_id + ".pdf"), "wb") as f:
                f.write(pdf)
                f.flush()
                os.fsync(f.fileno())
            self.add_event(app["kiosk_id"], {"type": "document", "application_id": app["id"], "product": product,
                                             "document_id": doc_id, "url": f"/v1/documents/{doc_id}",
                                             "sha256": sha, "size": len(pdf), "signature": signature,
                                             "key_id": self.key_id})


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "DinasReference/1"

    def log_message(self, fmt, *args):
        if os.environ.get("DINAS_VERBOSE"):
            sys.stderr.write("dinas: " + fmt % args + "\n")

    @property
    def dinas(self):
        return self.server.dinas

    # ---- plumbing ----
    def count_in(self, n):
        with LOCK:
            self.dinas.stats["bytes_received"] += n

    def send(self, status, body=None, headers=None, protocol=True):
        data = b""
        ctype = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data, ctype = bytes(body), (headers or {}).pop("Content-Type", "application/octet-stream")
            else:
                data, ctype = json.dumps(body, sort_keys=True).encode(), "application/json"
        self.send_response(status)
        if protocol:
            self.send_header("Kiosk-Protocol", "1")
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)
        with LOCK:
            self.dinas.stats["bytes_sent"] += len(data) + 200

    def error(self, status, code, message, headers=None):
        self.send(status, {"protocol": PROTOCOL, "error": {"code": code, "message": message}}, headers)

    def read_body(self, drop_ok=False):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 64 * 1024 * 1024:
            raise ValueError("body too large")
        chunks, got = [], 0
        while got < length:
            want = min(65536, length - got)
            limit = self.dinas.faults.get("drop_after_bytes") if drop_ok else None
            if limit:
                with LOCK:
                    room = int(limit) - self.dinas.drop_counter
                    if room <= 0:
                        self.dinas.drop_counter = 0
                        room = int(limit)
                want = min(want, room)
            try:
                # read1 hands over what already arrived: a reset mid-read must not lose the buffered bytes.
                piece = self.rfile.read1(want) if drop_ok else self.rfile.read(want)
            except (ConnectionResetError, TimeoutError, OSError):
                piece = b""
            if not piece:
                if drop_ok and got < length:
                    # The peer's connection died mid-body: keep what arrived (tus core, PROTOCOL.md §4).
                    raise Dropped(b"".join(chunks))
                break
            chunks.append(piece)
            got += len(piece)
            with LOCK:
                self.dinas.stats["body_bytes_received"] += len(piece)
                if drop_ok:
                    self.dinas.stats["upload_bytes_received"] += len(piece)
                self.count_in(len(piece))
                if limit:
                    self.dinas.drop_counter += len(piece)
                    if self.dinas.drop_counter >= int(limit) and got < length:
                        self.dinas.drop_counter = 0
                        self.dinas.stats["drops"] += 1
                        kept = b"".join(chunks)
                        if self.dinas.faults.get("drop_mode", "drain") == "drain":
                            # The rest of the request is lost in transit: swallowed, never stored, no answer.
                            rest = length - got
                            while rest > 0:
                                piece = self.rfile.read(min(65536, rest))
                                if not piece:
                                    break
                                rest -= len(piece)
                                self.dinas.stats["bytes_received"] += len(piece)  # lost, but it crossed the wire
                                self.dinas.stats["upload_bytes_received"] += len(piece)
                                self.dinas.stats["body_bytes_received"] += len(piece)
                        raise Dropped(kept)
        return b"".join(chunks)

    def drop(self):
        """Ends the connection with no response: FIN after a drained request, or RST (drop_mode "reset")."""
        import socket
        self.close_connection = True
        try:
            if self.dinas.faults.get("drop_mode", "drain") == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def authorized(self):
        return self.headers.get("Authorization", "") == f"Bearer {self.dinas.token}"

    def handle_any(self):
        d = self.dinas
        head_bytes = len(self.requestline) + 2 + sum(len(k) + len(v) + 4 for k, v in self.headers.items()) + 2
        with LOCK:
            d.stats["requests"] += 1
            self.count_in(head_bytes)
            key = f"{self.command} {re.sub(UUID_RE, '{id}', self.path.split('?')[0])}"
            d.stats["by_endpoint"][key] = d.stats["by_endpoint"].get(key, 0) + 1
        if self.path.startswith("/admin/"):
            if not self.authorized():
                return self.error(401, "unauthorized", "bad token")
            return self.route_admin()
        faults = d.faults
        if faults.get("latency_ms"):
            time.sleep(float(faults["latency_ms"]) / 1000)
        with LOCK:
            roll = d.rng.random
            captive = faults.get("captive_portal_rate") and roll() < float(faults["captive_portal_rate"])
            fail = not captive and faults.get("fail_rate") and roll() < float(faults["fail_rate"])
            dup = faults.get("duplicate_rate") and roll() < float(faults["duplicate_rate"])
        if captive:
            with LOCK:
                d.stats["captive_portal_injected"] += 1
            self.read_body_quietly()
            return self.send(200, b"<html><body>Login Wi-Fi Desa</body></html>",
                             {"Content-Type": "text/html"}, protocol=False)
        if fail:
            with LOCK:
                d.stats["failures_injected"] += 1
            self.read_body_quietly()
            return self.error(503, "unavailable", "injected failure")
        if not self.authorized():
            self.read_body_quietly()
            return self.error(401, "unauthorized", "missing or wrong bearer token")
        if self.headers.get("Kiosk-Protocol", "1") != "1":
            return self.error(400, "protocol_version", "unsupported protocol version")
        self.duplicate = bool(dup)
        if dup:
            with LOCK:
                d.stats["duplicates_injected"] += 1
        return self.route_v1()

    def read_body_quietly(self):
        try:
            self.read_body()
        except Exception:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_HEAD = lambda self: self.safe(self.handle_any)

    def safe(self, fn):
        try:
            fn()
        except Dropped:
            self.drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug in the reference server must not look like success
            try:
                self.error(500, "server_error", repr(e))
            except Exception:
                pass

    # ---- /v1 ----
    def route_v1(self):
        path = self.path.split("?")[0]
        m = re.fullmatch(r"/v1/applications/(" + UUID_RE + ")", path)
        if m and self.command == "PUT":
            return self.put_application(m.group(1))
        if m and self.command == "GET":
            return self.get_application(m.group(1))
        m = re.fullmatch(r"/v1/uploads/(" + UUID_RE + r")/(\d+)", path)
        if m and self.command in ("HEAD", "PATCH"):
            return self.upload(m.group(1), int(m.group(2)))
        m = re.fullmatch(r"/v1/kiosks/([A-Za-z0-9._-]+)/events", path)
        if m and self.command == "GET":
            return self.get_events(m.group(1))
        m = re.fullmatch(r"/v1/documents/(" + UUID_RE + ")", path)
        if m and self.command == "GET":
            return self.get_document(m.group(1))
        m = re.fullmatch(r"/v1/kiosks/([A-Za-z0-9._-]+)/config", path)
        if m and self.command == "GET":
            return self.get_config(m.group(1))
        m = re.fullmatch(r"/v1/kiosks/([A-Za-z0-9._-]+)/heartbeat", path)
        if m and self.command == "POST":
            return self.post_heartbeat(m.group(1))
        m = re.fullmatch(r"/v1/complaints/(" + UUID_RE + ")", path)
        if m and self.command == "PUT":
            return self.put_complaint(m.group(1))
        if path == "/v1/verify" and self.command == "POST":
            return self.post_verify()
        if path == "/v1/ping" and self.command == "GET":
            return self.send(200, {"protocol": PROTOCOL, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self.read_body_quietly()
        return self.error(404, "not_found", "no such endpoint")

    def put_application(self, app_id):
        body = self.read_body()
        try:
            manifest = json.loads(body)
        except ValueError:
            return self.error(400, "bad_json", "manifest is not JSON")
        problems = validate_manifest(manifest, app_id)
        if problems:
            return self.error(422, "invalid_manifest", "; ".join(problems))
        with LOCK:
            refuse = self.dinas.faults.get("refuse_applications")
        if refuse:
            # A permanent refusal on demand (POST /admin/faults {"refuse_applications": true}): the kiosk holds
            # the application for staff, who retry it once the Dinas takes them again.
            return self.error(422, "refused", "the Dinas does not take new applications now (test fault)")
        digest = hashlib.sha256(canonical(manifest)).hexdigest()
        revision = manifest.get("revision", 1)
        for _ in range(2 if self.duplicate else 1):
            with LOCK:
                app = self.dinas.load_app(app_id)
                if app is None:
                    if revision != 1:
                        return self.error(409, "not_returned", f"revision {revision} of an application this Dinas does not hold")
                    app = {"id": app_id, "kiosk_id": manifest["kiosk_id"], "service": manifest["service"],
                           "manifest": manifest, "manifest_sha256": digest, "reason": None,
                           # A form-only application (no attachments) is delivered with its manifest.
                           "state": "receiving" if manifest["attachments"] else "delivered",
                           "revision": 1, "max_seq": max([0] + [a["seq"] for a in manifest["attachments"]]),
                           "attachments": [{"seq": a["seq"], "sha256": a["sha256"], "size": a["size"], "complete": False,
                                            "touched": time.time()} for a in manifest["attachments"]]}
                    os.makedirs(self.dinas.app_dir(app_id), exist_ok=True)
                    self.dinas.save_app(app)
                    status = 201
                elif app["manifest_sha256"] == digest:
                    status = 200
                    for att in app["attachments"]:  # a re-sent manifest recreates expired uploads at offset 0
                        if att.get("expired"):
                            att["expired"] = False
                            att["touched"] = time.time()
                    self.dinas.save_app(app)
                else:
                    refusal = self.new_revision(app, manifest, digest, revision)
                    if refusal:
                        return self.error(409, *refusal)
                    status = 201
                response = self.dinas.describe(app)
        self.send(status, response, {"Location": f"/v1/applications/{app_id}"})

    def new_revision(self, app, manifest, digest, revision):
        """Takes revision N+1 of an application returned for correction (PROTOCOL.md §3a); a refusal as (code, message)."""
        current = app.get("revision", 1)
        old = app["manifest"]
        same = all(manifest.get(k) == old.get(k) for k in ("kiosk_id", "service", "profile", "applicant_nik", "event_date"))
        if revision == current or not same:
            return ("manifest_conflict", "this application id exists with a different manifest")
        if revision < current:
            return ("stale_revision", f"revision {revision} is older than the revision {current} held")
        if revision > current + 1:
            return ("revision_gap", f"revision {revision} does not follow revision {current}")
        if app["state"] != "returned_for_correction":
            return ("not_returned", f"the application is {app['state']}, not returned_for_correction")
        held = {a["seq"]: a for a in app["attachments"]}
        max_seq = app.get("max_seq", max(held) if held else 0)
        attachments = []
        for a in manifest["attachments"]:
            o = held.get(a["seq"])
            if o is not None:
                if o["sha256"] != a["sha256"] or o["size"] != a["size"]:
                    return ("attachment_changed", f"attachment {a['seq']} is carried over with another sha256 or size")
                attachments.append(dict(o))  # kept: the Dinas already holds it
            elif a["seq"] <= max_seq:
                return ("seq_reused", f"attachment seq {a['seq']} was used before; new attachments continue after {max_seq}")
            else:
                attachments.append({"seq": a["seq"], "sha256": a["sha256"], "size": a["size"], "complete": False,
                                    "touched": time.time()})
        app.setdefault("history", []).append({"revision": current, "manifest_sha256": app["manifest_sha256"],
                                              "attachments": app["attachments"], "reason": app.get("reason"),
                                              "correction": app.get("correction")})
        app.update({"manifest": manifest, "manifest_sha256": digest, "revision": revision, "attachments": attachments,
                    "reason": None, "correction": None,
                    "max_seq": max([max_seq] + [a["seq"] for a in attachments])})
        app["state"] = "delivered" if all(a["complete"] for a in attachments) else "receiving"
        self.dinas.save_app(app)
        if app["state"] == "delivered":
            self.dinas.notify_state(app, "delivered")
        return None

    def post_verify(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 4096:
            self.close_connection = True
            return self.error(413, "too_large", "a verify request is at most 4096 bytes")
        kiosk = self.headers.get("Kiosk-Id", "")
        d = self.dinas
        with LOCK:
            faults = dict(d.faults)
            now = time.time()
            times = [t for t in d.verify_times.get(kiosk, []) if now - t < 60]
            if len(times) >= int(d.verify_rate):
                d.verify_times[kiosk] = times
                self.read_body_quietly()
                return self.error(429, "rate_limited", f"at most {d.verify_rate} verifications a minute per kiosk",
                                  {"Retry-After": 60})
            d.verify_times[kiosk] = times + [now]
        try:
            req = json.loads(self.read_body())
        except ValueError:
            return self.error(400, "bad_json", "verify request is not JSON")
        if not (isinstance(req, dict) and isinstance(req.get("nik"), str) and re.fullmatch(r"\d{16}", req["nik"])
                and isinstance(req.get("kk"), str) and re.fullmatch(r"\d{16}", req["kk"])):
            return self.error(422, "invalid_request", "nik and kk must be 16 digits")
        if "verify_answer" in faults and faults["verify_answer"] is not None:
            return self.send(200, dict(faults["verify_answer"], protocol=PROTOCOL))
        with LOCK:
            entry = d.registry.get(req["nik"])
        if entry and entry["kk"] == req["kk"]:
            return self.send(200, {"protocol": PROTOCOL, "match": True, "name_masked": Dinas.mask_name(entry["name"])})
        return self.send(200, {"protocol": PROTOCOL, "match": False})

    def get_application(self, app_id):
        with LOCK:
            app = self.dinas.load_app(app_id)
            if app is None:
                return self.error(404, "unknown_application", "no such application")
            return self.send(200, self.dinas.describe(app))

    def upload(self, app_id, seq):
        d = self.dinas
        with LOCK:
            app = d.load_app(app_id)
            att = next((a for a in (app or {}).get("attachments", []) if a["seq"] == seq), None)
            if att is None:
                self.read_body_quietly()
                return self.error(404, "unknown_upload", "no such upload")
            if att.get("expired") or d.expired(app, att):
                if not att.get("expired"):
                    d.expire(app, att)
                    d.save_app(app)
                self.read_body_quietly()
                return self.error(410, "upload_expired", "upload expired; send the manifest again")
            offset = d.offset(app_id, seq)
        headers = {"Upload-Offset": offset, "Upload-Length": att["size"], "Cache-Control": "no-store"}
        if self.command == "HEAD":
            return self.send(200, None, headers)
        claimed = self.headers.get("Upload-Offset")
        checksum = self.headers.get("Upload-Checksum", "")
        if claimed is None or not claimed.isdigit() or not checksum.startswith("sha256 "):
            self.read_body_quietly()
            return self.error(400, "bad_patch", "Upload-Offset and Upload-Checksum: sha256 <base64> are required")
        try:
            body = self.read_body(drop_ok=True)
            complete_body = True
        except Dropped as dropped:
            body = dropped.args[0]
            complete_body = False
        with LOCK:
            app = d.load_app(app_id)
            att = next(a for a in app["attachments"] if a["seq"] == seq)
            for attempt in range(2 if (self.duplicate and complete_body) else 1):
                offset = d.offset(app_id, seq)
                if int(claimed) != offset:
                    if attempt == 1:
                        break
                    return self.error(409, "offset_mismatch", f"offset is {offset}",
                                      {"Upload-Offset": offset, "Upload-Length": att["size"]})
                if offset + len(body) > att["size"]:
                    return self.error(413, "too_long", "chunk runs past the declared size")
                if complete_body and base64.b64encode(hashlib.sha256(body).digest()).decode() != checksum[7:].strip():
                    return self.error(460, "checksum_mismatch", "chunk checksum mismatch; chunk discarded",
                                      {"Upload-Offset": offset})
                with open(d.upload_path(app_id, seq), "ab") as f:
                    f.write(body)  # a body cut short is kept (tus core); the whole-file hash guards it
                    f.flush()
                    os.fsync(f.fileno())
                att["touched"] = time.time()
                offset += len(body)
                if offset == att["size"]:
                    h = hashlib.sha256()
                    with open(d.upload_path(app_id, seq), "rb") as f:
                        for block in iter(lambda: f.read(1 << 20), b""):
                            h.update(block)
                    if h.hexdigest() == att["sha256"]:
                        att["complete"] = True
                        if all(a["complete"] for a in app["attachments"]) and app["state"] == "receiving":
                            app["state"] = "delivered"
                            d.notify_state(app, "delivered")
                    else:
                        os.unlink(d.upload_path(app_id, seq))
                        d.save_app(app)
                        return self.error(422, "hash_mismatch", "attachment hash mismatch; upload restarted at 0",
                                          {"Upload-Offset": 0})
                d.save_app(app)
            if not complete_body:
                raise Dropped(b"")
        self.send(204, None, {"Upload-Offset": d.offset(app_id, seq), "Upload-Length": att["size"]})

    def get_events(self, kiosk_id):
        q = dict(p.split("=", 1) for p in self.path.split("?", 1)[1].split("&")) if "?" in self.path else {}
        cursor = int(q.get("cursor", "0") or 0)
        wait = min(float(q.get("wait", "0") or 0), 25.0)
        deadline = time.time() + wait
        while True:
            with LOCK:
                events = [e for e in self.dinas.events if e["seq"] > cursor and e["kiosk_id"] == kiosk_id][:100]
                last = self.dinas.events[-1]["seq"] if self.dinas.events else 0
            if events or time.time() >= deadline:
                break
            time.sleep(0.1)
        self.send(200, {"protocol": PROTOCOL, "cursor": events[-1]["seq"] if events else max(cursor, 0) if cursor <= last else last,
                        "events": events})

    def get_document(self, doc_id):
        try:
            with open(self.dinas.path("documents", doc_id + ".pdf"), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return self.error(404, "unknown_document", "no such document")
        self.send(200, data, {"Content-Type": "application/pdf"})

    def get_config(self, kiosk_id):
        cfg = self.dinas.config
        if not cfg:
            return self.send(204, None)
        etag = f'"{cfg["version"]}"'
        if self.headers.get("If-None-Match") == etag:
            return self.send(304, None, {"ETag": etag})
        self.send(200, cfg["bundle"].encode(), {"Content-Type": "application/json", "ETag": etag})

    def post_heartbeat(self, kiosk_id):
        try:
            beat = json.loads(self.read_body())
        except ValueError:
            return self.error(400, "bad_json", "heartbeat is not JSON")
        beat["received_at"] = time.time()
        beat["kiosk_id"] = kiosk_id
        with LOCK:
            self.dinas.heartbeats.append(beat)
            self.dinas.save_json("heartbeats.json", self.dinas.heartbeats[-1000:])
        self.send(204, None)

    def put_complaint(self, complaint_id):
        try:
            body = json.loads(self.read_body())
        except ValueError:
            return self.error(400, "bad_json", "complaint is not JSON")
        missing = [k for k in ("reference", "category", "body", "language", "created_at") if not body.get(k)]
        if missing or len(body.get("body", "")) > 2000:
            return self.error(422, "invalid_complaint", "missing or oversized fields: " + ",".join(missing))
        with LOCK:
            existing = self.dinas.complaints.get(complaint_id)
            if existing is not None:
                # Idempotent by id: the same complaint again is acknowledged, a different one under that id is not.
                if existing["body"] != body["body"]:
                    return self.error(409, "conflict", "another complaint has this id")
                return self.send(200, {"id": complaint_id, "received_at": existing["received_at"]})
            body["received_at"] = time.time()
            self.dinas.complaints[complaint_id] = body
            self.dinas.save_json("complaints.json", self.dinas.complaints)
        self.send(201, {"id": complaint_id, "received_at": body["received_at"]})

    # ---- /admin ----
    def route_admin(self):
        d, path = self.dinas, self.path.split("?")[0]
        if path == "/admin/applications" and self.command == "GET":
            with LOCK:
                out = []
                for app_id in sorted(os.listdir(d.path("applications"))):
                    app = d.load_app(app_id)
                    if app:
                        out.append({"id": app["id"], "service": app["service"], "state": app["state"],
                                    "kiosk_id": app["kiosk_id"], "revision": app.get("revision", 1),
                                    "form": app["manifest"].get("form", {}), "notify": app["manifest"].get("notify"),
                                    "attachments": [{"seq": a["seq"], "sha256": a["sha256"], "size": a["size"],
                                                     "received": d.offset(app_id, a["seq"]), "complete": a["complete"]}
                                                    for a in app["attachments"]]})
            return self.send(200, out)
        m = re.fullmatch(r"/admin/applications/(" + UUID_RE + ")/state", path)
        if m and self.command == "POST":
            req = json.loads(self.read_body() or b"{}")
            state = req.get("state")
            if state not in READY_STATES:
                return self.error(400, "bad_state", f"state must be one of {sorted(READY_STATES)}")
            with LOCK:
                app = d.load_app(m.group(1))
                if app is None:
                    return self.error(404, "unknown_application", "no such application")
                if not all(a["complete"] for a in app["attachments"]):
                    return self.error(409, "not_delivered", "attachments are incomplete")
                correction = req.get("correction") if state == "returned_for_correction" else None
                if correction is not None and not isinstance(correction, dict):
                    return self.error(400, "bad_correction", "correction must be an object")
                # Passed on as given: the kiosk bounds and validates it (tests send hostile values on purpose).
                app["state"], app["reason"], app["correction"] = state, req.get("reason"), correction
                d.save_app(app)
                event = {"type": "state", "application_id": app["id"], "state": state, "reason": req.get("reason"),
                         "revision": app.get("revision", 1)}
                if correction is not None:
                    event["correction"] = correction
                d.add_event(app["kiosk_id"], event)
                d.notify_state(app, state)
                if state == "ready":
                    d.produce_documents(app, req.get("documents") or [f"{app['service']}-document"], req.get("tamper"))
                return self.send(200, d.describe(app))
        if path == "/admin/stats" and self.command == "GET":
            with LOCK:
                return self.send(200, dict(d.stats, heartbeats=len(d.heartbeats), events=len(d.events), faults=d.faults))
        if path == "/admin/faults" and self.command == "POST":
            with LOCK:
                d.faults.update(json.loads(self.read_body() or b"{}"))
                d.drop_counter = 0
                return self.send(200, d.faults)
        if path == "/admin/config" and self.command == "PUT":
            bundle = self.read_body().decode()
            try:
                version = json.loads(base64.b64decode(json.loads(bundle)["payload"]))["version"]
            except Exception:
                version = int(time.time())  # a broken bundle is still served: kiosks must reject it
            with LOCK:
                d.config = {"version": version, "bundle": bundle}
                d.save_json("config.json", d.config)
            return self.send(200, {"version": version})
        if path == "/admin/complaints" and self.command == "GET":
            with LOCK:
                return self.send(200, d.complaints)
        m = re.fullmatch(r"/admin/complaints/([A-Za-z0-9-]{1,64})/answer", path)
        if m and self.command == "POST":
            req = json.loads(self.read_body() or b"{}")
            answer = req.get("answer")
            if not isinstance(answer, str) or not answer or len(answer) > 10000:
                return self.error(400, "bad_answer", "answer must be a string of 1..10000 characters")
            key = m.group(1)
            with LOCK:
                cid = next((i for i, c in d.complaints.items()
                            if i == key.lower() or c.get("reference", "").upper() == key.upper()), None)
                if cid is None:
                    return self.error(404, "unknown_complaint", "no such complaint")
                c = d.complaints[cid]
                c["answer"], c["answered_at"] = answer, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                d.save_json("complaints.json", d.complaints)
                # application_id repeats the complaint id for kiosk-dinas/1 readers that require the field.
                d.add_event(c.get("kiosk_id", ""), {"type": "complaint_answer", "complaint_id": cid,
                                                    "application_id": cid, "reference": c.get("reference"),
                                                    "answer": answer})
                return self.send(200, {"id": cid, "reference": c.get("reference"), "answered_at": c["answered_at"]})
        if path == "/admin/notifications" and self.command == "GET":
            with LOCK:
                return self.send(200, d.notifications)
        if path == "/admin/registry" and self.command == "POST":
            req = json.loads(self.read_body() or b"[]")
            with LOCK:
                n = d.add_registry(req.get("entries") if isinstance(req, dict) else req)
            return self.send(200, {"added": n, "size": len(d.registry)})
        if path == "/admin/heartbeats" and self.command == "GET":
            with LOCK:
                return self.send(200, d.heartbeats)
        if path == "/admin/heartbeats" and self.command == "POST":
            # Time control for tests and demos: a heartbeat recorded as if received at `received_at` (epoch s).
            beat = json.loads(self.read_body() or b"{}")
            if not isinstance(beat, dict) or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", str(beat.get("kiosk_id", ""))):
                return self.error(400, "bad_heartbeat", "an object with kiosk_id is required")
            beat["received_at"] = float(beat.get("received_at", time.time()))
            with LOCK:
                d.heartbeats.append(beat)
                d.save_json("heartbeats.json", d.heartbeats[-1000:])
            return self.send(204, None)
        if path == "/admin/fleet" and self.command == "GET":
            with LOCK:
                latest = {}
                for beat in d.heartbeats:
                    k = beat.get("kiosk_id")
                    if k and beat.get("received_at", 0) >= latest.get(k, {}).get("received_at", -1):
                        latest[k] = beat
                return self.send(200, {"now": time.time(), "config_version": (d.config or {}).get("version"),
                                       "kiosks": [latest[k] for k in sorted(latest)]})
        if path == "/admin/config" and self.command == "GET":
            with LOCK:
                return self.send(200, {"version": (d.config or {}).get("version")})
        if path == "/admin/expire-uploads" and self.command == "POST":
            with LOCK:
                n = 0
                for app_id in os.listdir(d.path("applications")):
                    app = d.load_app(app_id)
                    for att in (app or {}).get("attachments", []):
                        if not att["complete"] and not att.get("expired"):
                            d.expire(app, att)
                            n += 1
                    if app:
                        d.save_app(app)
            return self.send(200, {"expired": n})
        return self.error(404, "not_found", "no such admin endpoint")


class AutoReviewer:
    """Moves delivered applications through in_review to ready after `seconds`, issuing every printable product."""

    def __init__(self, dinas, seconds, profiles_dir):
        self.dinas, self.seconds, self.profiles_dir = dinas, seconds, profiles_dir
        self.profiles = {}

    def products(self, profile_id, service_id):
        if profile_id not in self.profiles:
            self.profiles[profile_id] = None
            if re.fullmatch(r"[a-z0-9-]{1,64}", profile_id or ""):
                try:
                    with open(os.path.join(self.profiles_dir, profile_id + ".json")) as f:
                        self.profiles[profile_id] = json.load(f)
                except (OSError, ValueError) as e:
                    print(f"auto-review: profile {profile_id}: {e}", file=sys.stderr, flush=True)
        profile = self.profiles[profile_id] or {}
        for service in profile.get("services", []):
            if service.get("id") == service_id:
                return [p["id"] for p in service.get("products", []) if p.get("printable_at_kiosk")]
        print(f"auto-review: no products for {profile_id}/{service_id}; issuing {service_id}-document", file=sys.stderr, flush=True)
        return [f"{service_id}-document"]

    def step(self):
        d, now = self.dinas, time.time()
        with LOCK:
            for app_id in sorted(os.listdir(d.path("applications"))):
                app = d.load_app(app_id)
                # Delivered: every attachment complete (a form-only application has none to wait for).
                if not app or not all(a["complete"] for a in app["attachments"]):
                    continue
                if app["state"] == "delivered":
                    app["state"], app["reason"], app["review_started"] = "in_review", None, now
                    d.save_app(app)
                    d.add_event(app["kiosk_id"], {"type": "state", "application_id": app_id, "state": "in_review", "reason": None,
                                                  "revision": app.get("revision", 1)})
                    d.notify_state(app, "in_review")
                elif app["state"] == "in_review" and app.get("review_started") and now - app["review_started"] >= self.seconds:
                    products = self.products((app.get("manifest") or {}).get("profile"), app["service"])
                    # ready is saved before the documents are produced: a crash in between issues none rather than twice.
                    app["state"] = "ready"
                    d.save_app(app)
                    d.add_event(app["kiosk_id"], {"type": "state", "application_id": app_id, "state": "ready", "reason": None,
                                                  "revision": app.get("revision", 1)})
                    d.notify_state(app, "ready")
                    d.produce_documents(app, products, None)

    def run(self):
        while True:
            try:
                self.step()
            except Exception as e:  # a bad file must not stop the reviewer
                print(f"auto-review: {e}", file=sys.stderr, flush=True)
            time.sleep(0.25)


def validate_manifest(m, app_id):
    problems = []
    if not isinstance(m, dict):
        return ["manifest must be an object"]
    if m.get("id") != app_id:
        problems.append("id does not match the URL")
    for key in ("kiosk_id", "service", "profile", "applicant_nik", "event_date", "submitted_at"):
        if not isinstance(m.get(key), str) or not m.get(key):
            problems.append(f"{key} is required")
    nik = m.get("applicant_nik", "")
    if isinstance(nik, str) and not re.fullmatch(r"\d{16}", nik):
        problems.append("applicant_nik must be 16 digits")
    revision = m.get("revision", 1)
    if not isinstance(revision, int) or isinstance(revision, bool) or not 1 <= revision <= 1000:
        problems.append("revision must be an integer 1..1000")
        revision = 1
    form = m.get("form", {})
    if not isinstance(form, dict) or len(form) > 60:
        problems.append("form must be an object of at most 60 fields")
    else:
        for k, v in form.items():
            if not re.fullmatch(FORM_KEY_RE, k) or not isinstance(v, str) or len(v) > 200:
                problems.append(f"form field {k[:40]!r} needs a snake_case key and a string of at most 200 characters")
                break
    if "notify" in m and (m["notify"] not in ("whatsapp", "sms") or not m.get("contact")):
        problems.append("notify must be whatsapp or sms, with a contact")
    atts = m.get("attachments")
    if not isinstance(atts, list) or not (atts or m.get("form")):
        problems.append("attachments must be a non-empty list (or the form must carry the application)")
    else:
        last = 0
        for i, a in enumerate(atts):
            # Revision 1 numbers its attachments 1..n; a later revision keeps some and continues after the highest.
            seq_ok = isinstance(a, dict) and isinstance(a.get("seq"), int) and (
                a["seq"] == i + 1 if revision == 1 else a["seq"] > last)
            if not (seq_ok and isinstance(a.get("size"), int) and a["size"] >= 0
                    and isinstance(a.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", a["sha256"])):
                problems.append(f"attachments[{i}] needs seq {i + 1 if revision == 1 else f'> {last}'}, size and a sha256 hex digest")
            elif a["size"] > 64 * 1024 * 1024:
                problems.append(f"attachments[{i}] is larger than 64 MiB")
            else:
                last = a["seq"]
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--data", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--signing-key", required=True)
    p.add_argument("--drop-after-bytes", type=int, default=0)
    p.add_argument("--fail-rate", type=float, default=0.0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--captive-portal-rate", type=float, default=0.0)
    p.add_argument("--duplicate-rate", type=float, default=0.0)
    p.add_argument("--expire-uploads-after", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--auto-review", type=float, default=None, metavar="SECONDS")
    p.add_argument("--registry", default=None, metavar="FILE")
    p.add_argument("--verify-rate-per-minute", type=int, default=60)
    p.add_argument("--profiles", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Kiosk", "profiles"))
    args = p.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.dinas = Dinas(args)
    if args.auto_review is not None:
        threading.Thread(target=AutoReviewer(server.dinas, max(0.0, args.auto_review), os.path.abspath(args.profiles)).run,
                         daemon=True).start()
    print(f"dinas reference listening on http://{args.host}:{server.server_address[1]} key {server.dinas.key_id}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
