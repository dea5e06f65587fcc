#!/usr/bin/env bash
# Changes the simulated printer's condition: media-empty | refill | toner-low | toner-ok | offline | online |
# reject | accept | pause | resume.   Usage: printer-ctl.sh DIR ACTION
set -euo pipefail
D=${1:?usage: printer-ctl.sh DIR ACTION}
ACTION=${2:?action}
. "$D/env"
PORT=$KIOSK_TEST_IPP_PORT
media() { curl -fsS "http://localhost:$PORT/media?size1=iso_a4_210x297mm&type1=stationery&level1=$1&size3=iso_a4_210x297mm&type3=stationery&level3=$2" >/dev/null; }
case "$ACTION" in
  media-empty) media 0 0 ;;
  refill) media 250 25 ;;
  toner-low) curl -fsS "http://localhost:$PORT/supplies?supply0=10&supply1=5" >/dev/null ;;
  toner-ok) curl -fsS "http://localhost:$PORT/supplies?supply0=10&supply1=100" >/dev/null ;;
  offline)
    # Pulled plug: SIGKILL, and wait until the port no longer answers (the dead process may linger as a zombie).
    kill -KILL "$(cat "$D/run/ippeveprinter.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do ipptool -q "$KIOSK_TEST_IPP_URI" get-printer-attributes.test 2>/dev/null || break; sleep 0.1; done ;;
  online)
    if ipptool -q "$KIOSK_TEST_IPP_URI" get-printer-attributes.test 2>/dev/null; then exit 0; fi
    ( DBUS_SYSTEM_BUS_ADDRESS="unix:path=$D/run/dbus.sock" exec ippeveprinter -r off -n localhost -p "$PORT" \
        -d "$D/ipp/spool" -c "$D/ipp/print.sh" -f application/pdf,image/pwg-raster,image/urf -s 60 "KioskSimPrinter" \
        >> "$D/log/ippeveprinter.log" 2>&1 ) &
    echo $! > "$D/run/ippeveprinter.pid"
    for _ in $(seq 1 100); do ipptool -q "$KIOSK_TEST_IPP_URI" get-printer-attributes.test 2>/dev/null && break; sleep 0.1; done
    media 250 25 ;;
  reject) cupsreject -r "ditolak oleh petugas / rejected by staff" "$KIOSK_TEST_PRINTER_QUEUE" ;;
  accept) cupsaccept "$KIOSK_TEST_PRINTER_QUEUE" ;;
  pause) cupsdisable -r "paused by a fault" "$KIOSK_TEST_PRINTER_QUEUE" ;;
  resume) cupsenable "$KIOSK_TEST_PRINTER_QUEUE" ;;
  *) echo "unknown action $ACTION" >&2; exit 64 ;;
esac
