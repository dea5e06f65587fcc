#!/usr/bin/env bash
# Stops what start-test-printer.sh started in DIR.
D=${1:?usage: stop-test-printer.sh DIR}
for name in cupsd ippeveprinter ippeveprinter-raster dbus; do
  f="$D/run/$name.pid"
  [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
done
sleep 0.3
for name in cupsd ippeveprinter ippeveprinter-raster dbus; do
  f="$D/run/$name.pid"
  [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  rm -f "$f"
done
exit 0
