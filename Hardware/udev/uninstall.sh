#!/usr/bin/env bash
# Removes the kiosk's udev rules (and the test rule) and makes udev forget what they set. (root)
set -euo pipefail
rm -f /etc/udev/rules.d/70-kiosk-devices.rules /etc/udev/rules.d/99-kiosk-test.rules
if udevadm control --ping --timeout=2 2>/dev/null; then
  udevadm control --reload
  # A reload only affects the next event: without one, /dev/ttyS0 would keep KIOSK_ROLE=card-reader from the test
  # rule until reboot. A change event re-runs the (now rule-less) processing and replaces each device's properties.
  udevadm trigger --subsystem-match=tty --subsystem-match=usb --action=change
  udevadm settle --timeout=10
fi
