#!/usr/bin/env bash
# The package test (Kiosk/package/README.md): builds the .deb (or takes --deb FILE), runs lintian, installs it with
# dpkg -i, checks the units with systemd-analyze verify, starts /usr/bin/kioskd the way kioskd.service does (user
# kiosk, the unit's groups, umask and environment, a test NOTIFY_SOCKET) and waits for READY=1, stops it, purges the
# package and checks that nothing is left. Root only; safe to run twice; cleans up on any exit.
# Usage: test-deb.sh [--deb FILE] [--out DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
deb=""
out="$repo/.build/package"
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-deb.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "test-deb.sh: needs root (dpkg -i)" >&2; exit 77; }
started=$(date +%s)
step() { echo "-- $* ($(( $(date +%s) - started )) s)"; }
fail() { echo "test-deb.sh: FAIL: $*" >&2; exit 1; }

# What the package creates must not exist already unless a previous run of this test left it (then purge first).
if dpkg-query -W -f='${Status}' kiosk 2>/dev/null | grep -q "installed\|config-files"; then
  step "a kiosk package is installed: purging it first"
  dpkg --purge kiosk >/dev/null
fi
for u in kiosk kiosk-ui; do
  if getent passwd "$u" >/dev/null; then fail "user $u exists but the kiosk package is not installed: not touching it"; fi
done
# Shared groups the postinst adds only when missing; the ones this run caused are removed again at the end.
shared_missing=()
for g in scanner lpadmin lp dialout; do getent group "$g" >/dev/null || shared_missing+=("$g"); done
udev_running=no
if udevadm control --ping --timeout=2 >/dev/null 2>&1; then udev_running=yes; fi

tmp=$(mktemp -d /run/kiosk-deb-test.XXXXXX)
chmod 0711 "$tmp"
kioskd_pid=""
listener_pid=""
cupsd_pid=""
cleanup() {
  status=$?
  set +e
  if [ -n "$cupsd_pid" ]; then kill "$cupsd_pid" 2>/dev/null; fi
  if [ -n "$kioskd_pid" ] && kill -0 "$kioskd_pid" 2>/dev/null; then
    kill -TERM "$kioskd_pid"; sleep 2; kill -KILL "$kioskd_pid" 2>/dev/null
  fi
  if [ -n "$listener_pid" ]; then kill "$listener_pid" 2>/dev/null; fi
  if dpkg-query -W -f='${Status}' kiosk 2>/dev/null | grep -q "installed\|config-files"; then
    dpkg --purge kiosk >/dev/null 2>&1 || echo "test-deb.sh: dpkg --purge kiosk failed" >&2
  fi
  for g in "${shared_missing[@]}"; do getent group "$g" >/dev/null && delgroup --quiet --system "$g" >/dev/null 2>&1; done
  rm -rf "$tmp" /run/kiosk
  if [ "$udev_running" = yes ]; then udevadm settle --timeout=10 >/dev/null 2>&1; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$deb" ]; then
  step "build"
  # --fast: xz -1 (14 s instead of about 110 s for the same files; the release package uses the default level)
  deb=$(bash "$here/build-deb.sh" --out "$out" --fast | tail -n 1)
fi
[ -f "$deb" ] || fail "no package at $deb"
echo "package: $deb ($(du -h "$deb" | cut -f1))"

step "lintian"
# --fail-on error: warnings are printed and explained (Kiosk/package/README.md, the overrides), errors fail.
lintian --fail-on error --info --display-level '>=warning' "$deb" || fail "lintian reports errors"

step "dpkg -i"
dpkg -i "$deb" >/dev/null
for u in kiosk kiosk-ui; do getent passwd "$u" >/dev/null || fail "postinst made no user $u"; done
for g in kiosk-staff kiosk-teknisi kiosk-ui; do getent group "$g" >/dev/null || fail "postinst made no group $g"; done
[ "$(stat -c '%a %U' /var/lib/kiosk)" = "700 kiosk" ] || fail "/var/lib/kiosk is $(stat -c '%a %U' /var/lib/kiosk)"
dpkg-query -W -f='${Conffiles}\n' kiosk | grep -q '/etc/kiosk/kioskd.json' || fail "kioskd.json is no conffile"
[ -f /lib/udev/rules.d/70-kiosk-devices.rules ] || fail "no udev rules"
id -nG kiosk | tr ' ' '\n' | grep -qx lpadmin || fail "kiosk is not in lpadmin (CUPS's SystemGroup)"
# Installing twice (an upgrade to the same version) must work: the postinst is idempotent.
dpkg -i "$deb" >/dev/null

step "systemd-analyze verify"
# Offline (no systemd as PID 1 needed): parses the units and checks that ExecStart's programs exist. Run from a
# scratch directory so it does not pick up unit files from the working directory.
# Any message (an unknown or misspelt setting, a bad value, a missing program) fails the test.
verify_rc=0
(cd "$tmp" && systemd-analyze verify --man=no /lib/systemd/system/kioskd.service /lib/systemd/system/kiosk-ui.service \
   /lib/systemd/system/kiosk-ui-cage.service) > "$tmp/verify.log" 2>&1 || verify_rc=$?
# kiosk-ui-cage.service runs /usr/bin/cage (Suggests: cage), which this machine need not have.
grep -v 'kiosk-ui-cage.service: Command /usr/bin/cage is not executable' "$tmp/verify.log" > "$tmp/verify.problems" || true
if [ -s "$tmp/verify.problems" ]; then cat "$tmp/verify.problems"; fail "systemd-analyze verify reported problems"; fi
if [ "$verify_rc" -ne 0 ] && ! grep -q cage "$tmp/verify.log"; then fail "systemd-analyze verify exited $verify_rc"; fi

# The unit's settings, read from the installed file so the test starts kioskd the way the unit does.
unit=/lib/systemd/system/kioskd.service
setting() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
user=$(setting User); group=$(setting Group); umask_value=$(setting UMask)
supplementary=$(setting SupplementaryGroups)
exec_start=$(setting ExecStart)
watchdog_sec=$(setting WatchdogSec)
environment=(); while IFS= read -r e; do environment+=("$e"); done < <(sed -n 's/^Environment=//p' "$unit")
[ "$(setting Type)" = notify ] || fail "kioskd.service is not Type=notify"
[ -n "$watchdog_sec" ] || fail "kioskd.service has no WatchdogSec"
gids=$(for g in $supplementary; do getent group "$g" | cut -d: -f3; done | paste -sd, -)
[ "$(echo "$gids" | tr ',' '\n' | grep -c .)" -eq "$(echo "$supplementary" | wc -w)" ] || fail "a SupplementaryGroups= group is missing ($supplementary)"
# RuntimeDirectory=kiosk and StateDirectory=kiosk, as systemd makes them.
install -d -m "$(setting RuntimeDirectoryMode)" -o "$user" -g "$group" /run/kiosk

# A test NOTIFY_SOCKET: a datagram socket that records each sd_notify message on a line.
python3 - "$tmp/notify.sock" "$tmp/notify.log" <<'EOF' &
import os, socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(log, "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
EOF
listener_pid=$!
for _ in $(seq 1 50); do [ -S "$tmp/notify.sock" ] && break; sleep 0.1; done
touch "$tmp/notify.log"

# kioskd as the unit starts it: its user, group and supplementary groups, no new privileges, the unit's umask and
# Environment=, systemd's standard variables, and a 4 s watchdog (so WATCHDOG=1 is seen quickly).
run_kioskd() {
  ( umask "$umask_value"
    exec setpriv --reuid="$user" --regid="$group" --groups="$gids" --no-new-privs --inh-caps=-all \
      env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        USER="$user" LOGNAME="$user" HOME=/var/lib/kiosk SHELL=/usr/sbin/nologin \
        RUNTIME_DIRECTORY=/run/kiosk STATE_DIRECTORY=/var/lib/kiosk \
        NOTIFY_SOCKET="$tmp/notify.sock" WATCHDOG_USEC=4000000 "${environment[@]}" \
        $exec_start ) > "$tmp/kioskd.log" 2>&1 &
  kioskd_pid=$!
}

# The printer hotplug's privilege: lpadmin as kioskd's user, against a cupsd with Debian's own policy
# (/etc/cups/cupsd.conf, SystemGroup lpadmin), for the simulated printer .ci/run started (KIOSK_TEST_RASTER_IPP_URI).
if [ -n "${KIOSK_TEST_RASTER_IPP_URI:-}" ] && [ -f /etc/cups/cupsd.conf ]; then
  step "lpadmin as kiosk against a cupsd with Debian's policy"
  c="$tmp/cups"
  mkdir -p "$c"/{etc,spool/tmp,cache,run,log}
  chmod 0755 "$c" "$c"/{etc,spool,cache,run,log}; chmod 1777 "$c/spool/tmp"
  printf '%s\n' "ServerRoot $c/etc" "RequestRoot $c/spool" "TempDir $c/spool/tmp" "CacheDir $c/cache" "StateDir $c/run" \
    "AccessLog $c/log/access_log" "ErrorLog $c/log/error_log" "PageLog $c/log/page_log" "Printcap $c/run/printcap" \
    "SystemGroup lpadmin" > "$c/etc/cups-files.conf"
  # Debian's policy, listening only on a private socket.
  grep -v '^Listen\|^Port\|^Browsing\|^BrowseLocalProtocols' /etc/cups/cupsd.conf > "$c/etc/cupsd.conf"
  printf '%s\n' "Listen $c/run/cups.sock" "Browsing No" >> "$c/etc/cupsd.conf"
  cupsd -f -c "$c/etc/cupsd.conf" -s "$c/etc/cups-files.conf" > "$c/log/out" 2>&1 &
  cupsd_pid=$!
  for _ in $(seq 1 50); do [ -S "$c/run/cups.sock" ] && break; sleep 0.1; done
  as_user() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --no-new-privs env CUPS_SERVER="$c/run/cups.sock" "$@"; }
  as_user "$user" lpadmin -p kiosk -v "$KIOSK_TEST_RASTER_IPP_URI" -m everywhere -o printer-error-policy=stop-printer -E \
    || fail "lpadmin as $user was refused by a cupsd with Debian's policy"
  as_user "$user" lpadmin -d kiosk || fail "lpadmin -d as $user refused"
  # ...and a user outside lpadmin is refused, so the check above means something.
  refused=$(as_user kiosk-ui lpadmin -p other -v "$KIOSK_TEST_RASTER_IPP_URI" -m everywhere -E 2>&1) \
    && fail "lpadmin as kiosk-ui (not in lpadmin) was allowed: the policy check proves nothing"
  grep -q Forbidden <<< "$refused" || fail "lpadmin as kiosk-ui failed for another reason: $refused"
  kill "$cupsd_pid"; wait "$cupsd_pid" 2>/dev/null || true; cupsd_pid=""
fi

step "kioskd with the shipped kioskd.json (not provisioned)"
# The shipped file has no kiosk_id: kioskd must refuse with 78 (EX_CONFIG, RestartPreventExitStatus) and say why.
run_kioskd
rc=0; wait "$kioskd_pid" || rc=$?
kioskd_pid=""
[ "$rc" -eq 78 ] || { cat "$tmp/kioskd.log"; fail "unprovisioned kioskd exited $rc, expected 78"; }
grep -q kiosk_id "$tmp/kioskd.log" || { cat "$tmp/kioskd.log"; fail "unprovisioned kioskd did not name kiosk_id"; }
[ "$(setting RestartPreventExitStatus)" = 78 ] || fail "kioskd.service does not stop restarting on 78"

step "kioskd provisioned (kiosk_id set in /etc/kiosk/kioskd.json, as kioskctl provision does)"
python3 - <<'EOF'
import json
p = "/etc/kiosk/kioskd.json"
c = json.load(open(p))
c["kiosk_id"] = "uji-paket-01"
json.dump(c, open(p, "w"), indent=2)
EOF
run_kioskd
for _ in $(seq 1 300); do
  grep -q 'READY=1' "$tmp/notify.log" && break
  kill -0 "$kioskd_pid" 2>/dev/null || { cat "$tmp/kioskd.log"; fail "kioskd exited before READY=1"; }
  sleep 0.1
done
grep -q 'READY=1' "$tmp/notify.log" || { cat "$tmp/kioskd.log"; fail "no READY=1 within 30 s"; }
step "READY=1"
[ "$(stat -c '%U %G %a' /run/kiosk/kioskd.sock)" = "kiosk kiosk-ui 660" ] \
  || fail "socket is $(stat -c '%U %G %a' /run/kiosk/kioskd.sock), expected kiosk kiosk-ui 660"
[ -z "$(find /var/lib/kiosk -mindepth 1 ! -user kiosk -print -quit)" ] || fail "a file in /var/lib/kiosk is not kiosk's"
for _ in $(seq 1 100); do grep -q 'WATCHDOG=1' "$tmp/notify.log" && break; sleep 0.1; done
grep -q 'WATCHDOG=1' "$tmp/notify.log" || fail "no WATCHDOG=1 within 10 s of READY=1"
# Idle RSS (issue 14): a few seconds after start-up, with the unit's Environment= (MALLOC_ARENA_MAX).
sleep 3
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$kioskd_pid/status")
echo "kioskd idle RSS: $(awk -v k="$rss_kib" 'BEGIN {printf "%.1f MiB", k/1024}') (${environment[*]:-no Environment=})"

step "stop"
kill -TERM "$kioskd_pid"
rc=0; wait "$kioskd_pid" || rc=$?
kioskd_pid=""
[ "$rc" -eq 0 ] || { cat "$tmp/kioskd.log"; fail "kioskd exited $rc on SIGTERM"; }
grep -q 'STOPPING=1' "$tmp/notify.log" || fail "kioskd sent no STOPPING=1"
kill "$listener_pid" 2>/dev/null; listener_pid=""

step "dpkg --purge"
dpkg --purge kiosk >/dev/null
rm -rf /run/kiosk   # RuntimeDirectory=: systemd removes it when the service stops
left=()
for u in kiosk kiosk-ui; do getent passwd "$u" >/dev/null && left+=("user $u"); done
for g in kiosk kiosk-ui kiosk-staff kiosk-teknisi; do getent group "$g" >/dev/null && left+=("group $g"); done
for p in /etc/kiosk /var/lib/kiosk /lib/udev/rules.d/70-kiosk-devices.rules /lib/systemd/system/kioskd.service \
         /usr/bin/kioskd /usr/share/kiosk; do
  [ -e "$p" ] && left+=("$p")
done
[ ${#left[@]} -eq 0 ] || fail "left behind after purge: ${left[*]}"
step "package test passed"
