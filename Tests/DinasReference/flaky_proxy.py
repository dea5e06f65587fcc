#!/usr/bin/env python3
"""A flaky link between a kiosk and its Dinas, for `kiosk-bench sync` (loopback only, bounded in time).

    python3 Tests/DinasReference/flaky_proxy.py --upstream-port PORT --stats FILE
        [--reset-after N]            reset (RST) each connection after N bytes from the kiosk
        [--drop-mean N --seed S]     reset at random points, on average once every N bytes from the kiosk
        [--rate-bps B]               limit the link to B bits per second in each direction
        [--max-seconds S]            exit after S seconds (default 300)

Prints "listening on 127.0.0.1:PORT". Every byte read from the kiosk is a byte that crossed the wire, whether or
not the connection survived to deliver it; the counts are written to FILE (JSON, replaced atomically) after every
connection ends: bytes_from_kiosk, bytes_to_kiosk, connections, resets.
"""
import argparse
import json
import os
import random
import socket
import struct
import threading
import time

LOCK = threading.Lock()


class Bucket:
    """One token bucket per direction: the link's bandwidth is shared by every connection."""

    def __init__(self, bps):
        self.rate = bps / 8.0 if bps else 0
        self.tokens = 0.0
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self, n):
        if not self.rate:
            return
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate * 0.05, self.tokens + (now - self.last) * self.rate)
            self.last = now
            self.tokens -= n
            wait = -self.tokens / self.rate if self.tokens < 0 else 0
        if wait > 0:
            time.sleep(wait)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream-port", type=int, required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--reset-after", type=int, default=0)
    p.add_argument("--drop-mean", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate-bps", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=300)
    a = p.parse_args()
    rng = random.Random(a.seed)
    stats = {"bytes_from_kiosk": 0, "bytes_to_kiosk": 0, "connections": 0, "resets": 0}
    up, down = Bucket(a.rate_bps), Bucket(a.rate_bps)
    # Random drops: a countdown of kiosk bytes to the next drop, drawn from an exponential with the given mean.
    countdown = [rng.expovariate(1.0 / a.drop_mean) if a.drop_mean else 0]

    def save():
        tmp = a.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, a.stats)

    def reset(*socks):
        for s in socks:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass

    def serve(kiosk):
        try:
            dinas = socket.create_connection(("127.0.0.1", a.upstream_port))
        except OSError:
            reset(kiosk)
            return
        done = threading.Event()
        sent = [0]

        def to_kiosk():
            try:
                while not done.is_set():
                    data = dinas.recv(16384)
                    if not data:
                        break
                    down.take(len(data))
                    kiosk.sendall(data)
                    with LOCK:
                        stats["bytes_to_kiosk"] += len(data)
                kiosk.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        t = threading.Thread(target=to_kiosk, daemon=True)
        t.start()
        dropped = False
        try:
            while True:
                want = 16384
                if a.reset_after:
                    want = min(want, a.reset_after - sent[0])
                if a.drop_mean:
                    with LOCK:
                        want = max(1, min(want, int(countdown[0]) + 1))
                if want <= 0:
                    dropped = True
                    break
                up.take(want)
                data = kiosk.recv(want)
                if not data:
                    dinas.shutdown(socket.SHUT_WR)
                    break
                sent[0] += len(data)
                with LOCK:
                    stats["bytes_from_kiosk"] += len(data)
                    if a.drop_mean:
                        countdown[0] -= len(data)
                        if countdown[0] <= 0:
                            countdown[0] = rng.expovariate(1.0 / a.drop_mean)
                            dropped = True
                if dropped:
                    break  # this chunk crossed the wire but dies with the connection
                dinas.sendall(data)
                if a.reset_after and sent[0] >= a.reset_after:
                    dropped = True
                    break
        except OSError:
            pass
        if dropped:
            done.set()
            # The kiosk sees a reset; the Dinas keeps what reached it (the end of its stream, then the close).
            reset(kiosk)
            try:
                dinas.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            t.join(timeout=5)
            reset(dinas)
            with LOCK:
                stats["resets"] += 1
        else:
            t.join(timeout=60)
            for s in (kiosk, dinas):
                try:
                    s.close()
                except OSError:
                    pass
        with LOCK:
            save()

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(0.5)
    with LOCK:
        save()
    print(f"listening on 127.0.0.1:{srv.getsockname()[1]}", flush=True)
    end = time.monotonic() + a.max_seconds
    while time.monotonic() < end:
        try:
            kiosk, _ = srv.accept()
        except socket.timeout:
            continue
        with LOCK:
            stats["connections"] += 1
        threading.Thread(target=serve, args=(kiosk,), daemon=True).start()


if __name__ == "__main__":
    main()
