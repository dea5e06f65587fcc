#!/usr/bin/env bash
# The kiosk's main job, on the production path: the Dinas reference endpoint (Tests/DinasReference/server.py, with
# its automatic reviewer), kioskd (the real service) and kiosk-ui (the real touchscreen UI) in this terminal. All of
# it lives in one temporary directory that is removed on exit. Devices: a CUPS queue when the system has one, else
# a private cupsd + ippeveprinter queue (printing is real either way); a SANE scanner when one is attached, else
# SANE's test backend; a card reader when udev tagged one, else the simulated reader (F2 taps the test card).
#
#   bash Kiosk/demo.sh [--profile ID]      ID: a profile of Kiosk/profiles (default kota-kupang)
#   bash Kiosk/demo.sh --help              this text
#
# Ctrl-C, or closing the terminal, stops everything (so does SIGTERM to this script). Without a terminal it prints
# what it started and a status line, runs a scripted round trip through kioskctl (submit → delivered → reviewed →
# documents back, signed; at most 120 s) and exits 0 only if that completed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
profile=kota-kupang
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=${2:?--profile needs an ID}; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "demo.sh: argumen tidak dikenal / unknown argument: $1" >&2; exit 64 ;;
  esac
done
[ -f "Kiosk/profiles/$profile.json" ] || { echo "demo.sh: profil tidak ada / no profile Kiosk/profiles/$profile.json" >&2; exit 66; }

bash Kiosk/setup.sh
if [ -d /opt/swift/usr/bin ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
for product in kioskd kioskctl kiosk-ui; do swift build -c release --product "$product" >/dev/null; done
bin="$root/.build/release"
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

work=$(mktemp -d /tmp/kiosk-demo-XXXXXX)
chmod 755 "$work"
dinas_pid="" kioskd_pid="" ui_pid="" printer_dir=""
cleanup() {
  trap - EXIT INT TERM HUP
  set +e
  if [ -n "$ui_pid" ]; then
    # SIGTERM: kiosk-ui restores the terminal (cursor, mouse reporting, cooked mode) before it ends.
    kill -TERM "$ui_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$ui_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$ui_pid" 2>/dev/null
    wait "$ui_pid" 2>/dev/null
  fi
  if [ -n "$kioskd_pid" ]; then
    kill -TERM "$kioskd_pid" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$kioskd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$kioskd_pid" 2>/dev/null
    wait "$kioskd_pid" 2>/dev/null
  fi
  if [ -n "$dinas_pid" ]; then kill -TERM "$dinas_pid" 2>/dev/null; wait "$dinas_pid" 2>/dev/null; fi
  if [ -n "$printer_dir" ]; then bash Hardware/printer/stop-test-printer.sh "$printer_dir" >/dev/null 2>&1; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The Dinas: a fresh signing key and credential, a free loopback port, the reviewer answering in 5 s.
"$bin/kioskctl" keys generate --private "$work/dinas.pem" --public "$work/dinas.pub.pem" >/dev/null
(umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(24), end="")' > "$work/dinas.token")
python3 Tests/DinasReference/server.py --port 0 --data "$work/dinas" --token "$(cat "$work/dinas.token")" \
  --signing-key "$work/dinas.pem" --auto-review 5 > "$work/dinas.log" 2>&1 &
dinas_pid=$!
dinas_url=""
for _ in $(seq 100); do
  dinas_url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/dinas.log" | head -1 || true)
  [ -n "$dinas_url" ] && break
  kill -0 "$dinas_pid" 2>/dev/null || { cat "$work/dinas.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$dinas_url" ] || { echo "demo.sh: endpoint Dinas tidak mulai / the Dinas reference endpoint did not start" >&2; cat "$work/dinas.log" >&2; exit 1; }

# Devices: real ones where present, else a private printer, SANE's test scanner, the simulated card reader.
printer=auto
if ! lpstat -d 2>/dev/null | grep -q 'destination: '; then
  # No default destination: the first queue the system CUPS has, else the private printer below.
  printer=$(lpstat -e 2>/dev/null | head -1 || true)
fi
if [ -z "$printer" ]; then
  printer_dir="$work/printer"
  bash Hardware/printer/start-test-printer.sh "$printer_dir" > "$work/printer.log" 2>&1 \
    || { echo "demo.sh: printer privat tidak mulai / the private printer did not start" >&2; cat "$work/printer.log" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$printer_dir/env"
  export CUPS_SERVER
  printer=kiosk
fi
scanner=simulated scanner_options='[]'
if command -v scanimage >/dev/null; then
  if scanimage -L 2>/dev/null | grep -q "device \`"; then
    scanner=auto
  else
    export SANE_CONFIG_DIR="$root/Hardware/scanner/sane.d"
    scanner=test scanner_options='["--test-picture=Grid"]'
  fi
fi
card=simulated
if udevadm info --export-db 2>/dev/null | grep -q 'KIOSK_ROLE=card-reader'; then card=auto; fi

socket="$work/kioskd.sock"
cat > "$work/kioskd.json" <<EOF
{
  "data_dir": "$work/data",
  "socket": "$socket",
  "kiosk_id": "demo-01",
  "control": {"group": "$(id -gn)"},
  "dinas": {"url": "$dinas_url", "token_file": "$work/dinas.token", "trusted_keys": ["$work/dinas.pub.pem"],
            "poll_seconds": 5, "heartbeat_seconds": 30},
  "profile": "$profile",
  "profiles_dir": "$root/Kiosk/profiles",
  "devices": {"printer": "$printer", "scanner": "$scanner", "card_reader": "$card"},
  "scanner": {"extra_options": $scanner_options}
}
EOF
"$bin/kioskd" --config "$work/kioskd.json" > "$work/kioskd.log" 2>&1 &
kioskd_pid=$!
ctl() { "$bin/kioskctl" --socket "$socket" "$@"; }
deadline=$((SECONDS + 20))
while [ "$SECONDS" -lt "$deadline" ]; do
  ctl status >/dev/null 2>&1 && break
  kill -0 "$kioskd_pid" 2>/dev/null || { echo "demo.sh: kioskd berhenti / kioskd stopped:" >&2; cat "$work/kioskd.log" >&2; exit 1; }
  sleep 0.1
done
ctl status >/dev/null 2>&1 || { echo "demo.sh: kioskd tidak menjawab dalam 20 s / kioskd did not answer within 20 s:" >&2; cat "$work/kioskd.log" >&2; exit 1; }
ctl restock paper --sheets 100 >/dev/null \
  || { echo "demo.sh: isi ulang kertas gagal / restocking the paper failed" >&2; cat "$work/kioskd.log" >&2; exit 1; }

if [ -t 0 ] && [ -t 1 ]; then
  # Two lines that fit 80 columns (the devices are on the home screen).
  echo "Berjalan / running: Dinas, kioskd, kiosk-ui. Data & log: $work"
  echo "Ctrl-C/tutup terminal: berhenti & hapus / Ctrl-C/close: stop & remove all"
  sleep 2
  # In the background so that a signal to this script stops it at once (bash defers traps while a foreground
  # child runs); "<&0" keeps the terminal as its input (an asynchronous command's default is /dev/null).
  "$bin/kiosk-ui" --socket "$socket" --demo --voice-cache "$work/voice" <&0 &
  ui_pid=$!
  status=0
  wait "$ui_pid" || status=$?
  ui_pid=""
  exit "$status"
fi

# No terminal: a scripted round trip through kioskctl.
echo "endpoint Dinas / Dinas reference endpoint: $dinas_url (auto-review 5 s)"
echo "kioskd: pid $kioskd_pid, socket $socket, data $work/data (dihapus saat keluar / removed on exit)"
echo "perangkat / devices: printer $printer, scanner $scanner, card reader $card"
echo "status: $(ctl status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print("health", s["health"], "| config", s["config"]["version"], s["config"]["profile"], "| printer", s["devices"]["printer"]["state"])')"
start=$(date +%s.%N)
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):5.1f} s')" "$start" "$(date +%s.%N)"; }

# The application: every required document of the service, one page each: SANE's test picture when scanimage
# has the test backend, else a one-page PDF written here. Facts: the first choice, or yes, of each declared fact.
page="$work/page.jpg"
if [ "$scanner" = test ]; then
  scanimage -d test --test-picture=Grid --format=jpeg --resolution 75 -x 100 -y 100 > "$page" 2>/dev/null || rm -f "$page"
fi
if [ ! -s "$page" ]; then
  page="$work/page.pdf"
  python3 - "$page" <<'PY'
import sys
# A valid one-page PDF (A4, "DEMO" in Helvetica) with a correct cross-reference table.
stream = b"BT /F1 48 Tf 200 400 Td (DEMO) Tj ET"
objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
           b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
           b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
           b" /Resources << /Font << /F1 5 0 R >> >> >>",
           b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
           b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
out, offsets = bytearray(b"%PDF-1.4\n"), []
for i, body in enumerate(objects, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
open(sys.argv[1], "wb").write(out)
PY
fi
python3 - "$root/Kiosk/profiles/$profile.json" "$page" "$profile" > "$work/application.json" <<'PY'
import datetime, json, sys
profile, page, pid = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
service = next(s for s in profile["services"] if s["id"] == "birth")
event = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()
facts = {}
for f in service.get("facts", []):
    if f["kind"] == "choice":
        facts[f["key"]] = f["choices"][0]
    elif f["kind"] == "bool":
        facts[f["key"]] = True
print(json.dumps({"service": "birth", "profile": pid, "applicant_nik": "5371011708950003", "event_date": event,
                  "contact": "081234567890", "facts": facts,
                  "attachments": [{"requirement": r["id"], "path": page}
                                  for r in service["requirements"] if not r.get("optional")]}))
PY
echo "[$(elapsed)] permohonan / application: birth, applicant NIK 5371011708950003, event $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["event_date"], "|", len(d["attachments"]), "attachment(s)", "|", "facts", json.dumps(d["facts"]))' "$work/application.json"), page $(basename "$page")"
if ! submitted=$(ctl application submit "$work/application.json" --json); then
  echo "demo.sh: pengajuan gagal / the submission failed" >&2
  tail -20 "$work/kioskd.log" >&2
  exit 1
fi
code=$(printf '%s' "$submitted" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tracking_code"])')
echo "[$(elapsed)] diajukan / submitted: tracking code $code"
state="" seen="" kept=""
deadline=$((SECONDS + 120))
while [ "$SECONDS" -lt "$deadline" ]; do
  show=$(ctl application show "$code" --json) || { sleep 0.5; continue; }
  read -r state kept < <(printf '%s' "$show" | python3 -c '
import json, sys
d = json.load(sys.stdin)
docs = sorted(e["detail"].split()[0] for e in d["history"] if e["event"] == "document" and e.get("detail"))
print(d["application"]["state"], ",".join(docs))')
  if [ "$state" != "$seen" ]; then echo "[$(elapsed)] status / state: $state"; seen=$state; fi
  [ "$state" = ready ] && [ -n "$kept" ] && break
  case "$state" in rejected|quarantined|returned_for_correction) break ;; esac
  sleep 0.2
done
if [ "$state" != ready ] || [ -z "$kept" ]; then
  echo "demo.sh: permohonan tidak siap / the application did not become ready with its documents within 120 s (state ${state:-unknown}, documents ${kept:-none})" >&2
  echo "--- kioskd.log (last 20 lines)" >&2; tail -20 "$work/kioskd.log" >&2
  echo "--- dinas.log (last 20 lines)" >&2; tail -20 "$work/dinas.log" >&2
  exit 1
fi
issued=$(python3 - "$work/dinas/events.json" <<'PY'
import json, sys
print(",".join(sorted(e["product"] for e in json.load(open(sys.argv[1])) if e.get("type") == "document")))
PY
)
if [ "$kept" != "$issued" ]; then
  echo "demo.sh: dokumen tidak lengkap / the kiosk kept $kept of $issued" >&2
  exit 1
fi
echo "[$(elapsed)] dokumen / documents signed by the Dinas, verified and stored at the kiosk: $kept"
echo "perjalanan penuh selesai / round trip complete"
