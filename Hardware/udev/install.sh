#!/usr/bin/env bash
# Installs the kiosk's udev rules and makes udev apply them now. Usage: install.sh [--test]  (root)
# --test also installs 99-kiosk-test.rules (ttyS0 as a card reader) for the test suite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
install -m 0644 "$here/70-kiosk-devices.rules" /etc/udev/rules.d/70-kiosk-devices.rules
if [ "${1:-}" = "--test" ]; then install -m 0644 "$here/99-kiosk-test.rules" /etc/udev/rules.d/99-kiosk-test.rules; fi
if udevadm control --ping --timeout=2 2>/dev/null; then
  udevadm control --reload
  udevadm trigger --subsystem-match=tty --subsystem-match=usb --action=change
  udevadm settle --timeout=10
fi
