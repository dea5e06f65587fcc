#!/usr/bin/env bash
# Starts a private CUPS scheduler with one IPP Everywhere queue backed by ippeveprinter (a simulated IPP printer),
# for tests and the demo. Nothing touches the system cupsd. Usage: start-test-printer.sh DIR [QUEUE]
# A second simulated printer accepts only PWG and Apple raster (image/pwg-raster, image/urf), as most cheap IPP
# Everywhere printers do: queue QUEUE-raster, so a PDF printed there needs CUPS's raster filters (cups-filters).
# Writes DIR/env (CUPS_SERVER, KIOSK_TEST_IPP_URI, KIOSK_TEST_RASTER_QUEUE, ...) to source; stop with
# stop-test-printer.sh DIR.
set -euo pipefail
D=$(mkdir -p "$1" && cd "$1" && pwd)
QUEUE=${2:-kiosk}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
IPP_PORT=$(free_port)
CUPS_PORT=$(free_port)
RASTER_PORT=$(free_port)
mkdir -p "$D"/{etc,spool/tmp,cache,run,log,ipp/spool,ipp/out,raster/spool,raster/out}
# CUPS filters run as user lp: every directory on the way must be traversable (platform-notes §3c).
chmod 755 "$D" "$D"/etc "$D"/spool "$D"/cache "$D"/run "$D"/log "$D"/ipp "$D"/raster
chmod 1777 "$D"/spool/tmp "$D"/ipp/out "$D"/raster/out
p="$D"; while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done

# The simulated printer's job command: keep a copy of each printed document, report a page count.
cat > "$D/ipp/print.sh" <<'SH'
#!/bin/sh
cp "$1" "$(dirname "$0")/out/job-$(date +%s%N).prn" 2>/dev/null
echo "ATTR: marker-names=Black marker-types=toner marker-colors=#000000" >&2
exit 0
SH
chmod 755 "$D/ipp/print.sh"
cp "$D/ipp/print.sh" "$D/raster/print.sh"

# ippeveprinter needs a D-Bus system bus for its (disabled) DNS-SD client: give it a private one.
dbus-daemon --session --address="unix:path=$D/run/dbus.sock" --fork --print-pid > "$D/run/dbus.pid"
echo "$IPP_PORT" > "$D/run/ipp.port"
( DBUS_SYSTEM_BUS_ADDRESS="unix:path=$D/run/dbus.sock" exec ippeveprinter -r off -n localhost -p "$IPP_PORT" \
    -d "$D/ipp/spool" -c "$D/ipp/print.sh" -f application/pdf,image/pwg-raster,image/urf -s 60 "KioskSimPrinter" \
    > "$D/log/ippeveprinter.log" 2>&1 ) &
echo $! > "$D/run/ippeveprinter.pid"
( DBUS_SYSTEM_BUS_ADDRESS="unix:path=$D/run/dbus.sock" exec ippeveprinter -r off -n localhost -p "$RASTER_PORT" \
    -d "$D/raster/spool" -c "$D/raster/print.sh" -f image/pwg-raster,image/urf -s 60 "KioskSimRaster" \
    > "$D/log/ippeveprinter-raster.log" 2>&1 ) &
echo $! > "$D/run/ippeveprinter-raster.pid"
IPP_URI="ipp://localhost:$IPP_PORT/ipp/print"
RASTER_URI="ipp://localhost:$RASTER_PORT/ipp/print"
for uri in "$IPP_URI" "$RASTER_URI"; do
  for _ in $(seq 1 100); do
    ipptool -q "$uri" get-printer-attributes.test 2>/dev/null && break
    sleep 0.1
  done
  ipptool -q "$uri" get-printer-attributes.test
done

cat > "$D/etc/cups-files.conf" <<CONF
ServerRoot $D/etc
RequestRoot $D/spool
TempDir $D/spool/tmp
CacheDir $D/cache
StateDir $D/run
AccessLog $D/log/access_log
ErrorLog $D/log/error_log
PageLog $D/log/page_log
Printcap $D/run/printcap
SystemGroup root
FileDevice Yes
CONF
cat > "$D/etc/cupsd.conf" <<CONF
LogLevel info
ErrorPolicy stop-printer
JobRetryLimit 0
PreserveJobHistory Yes
Listen 127.0.0.1:$CUPS_PORT
Listen $D/run/cups.sock
Browsing No
WebInterface No
<Location />
  Order allow,deny
  Allow localhost
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
CONF
cupsd -t -c "$D/etc/cupsd.conf" -s "$D/etc/cups-files.conf" >/dev/null
cupsd -f -c "$D/etc/cupsd.conf" -s "$D/etc/cups-files.conf" > "$D/log/cupsd.out" 2>&1 &
echo $! > "$D/run/cupsd.pid"
export CUPS_SERVER="$D/run/cups.sock"
for _ in $(seq 1 100); do lpstat -r 2>/dev/null | grep -q 'is running' && break; sleep 0.1; done
lpadmin -p "$QUEUE" -E -v "$IPP_URI" -m everywhere -o printer-error-policy=stop-printer
lpadmin -d "$QUEUE"
lpadmin -p "$QUEUE-raster" -E -v "$RASTER_URI" -m everywhere -o printer-error-policy=stop-printer
# Start with A4 paper loaded in the main tray and a full toner.
curl -fsS "http://localhost:$IPP_PORT/media?size1=iso_a4_210x297mm&type1=stationery&level1=250&size3=iso_a4_210x297mm&type3=stationery&level3=25" >/dev/null || true
curl -fsS "http://localhost:$IPP_PORT/supplies?supply0=10&supply1=100" >/dev/null || true
curl -fsS "http://localhost:$RASTER_PORT/media?size1=iso_a4_210x297mm&type1=stationery&level1=250&size3=iso_a4_210x297mm&type3=stationery&level3=25" >/dev/null || true
cat > "$D/env" <<ENV
export CUPS_SERVER="$D/run/cups.sock"
export KIOSK_TEST_PRINTER_DIR="$D"
export KIOSK_TEST_PRINTER_QUEUE="$QUEUE"
export KIOSK_TEST_IPP_PORT="$IPP_PORT"
export KIOSK_TEST_IPP_URI="$IPP_URI"
export KIOSK_TEST_RASTER_QUEUE="$QUEUE-raster"
export KIOSK_TEST_RASTER_IPP_URI="$RASTER_URI"
ENV
echo "private cupsd at $D/run/cups.sock (127.0.0.1:$CUPS_PORT), queue $QUEUE -> $IPP_URI, $QUEUE-raster -> $RASTER_URI"
