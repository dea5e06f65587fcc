#!/usr/bin/env bash
# Removes the kiosk's udev rules and makes udev forget what they set. (root)
# Usage: uninstall.sh [--test]   --test removes only the test rule (99-kiosk-test.rules), keeping the kiosk's own.
set -euo pipefail
rules=(/etc/udev/rules.d/99-kiosk-test.rules)
if [ "${1:-}" != "--test" ]; then rules+=(/etc/udev/rules.d/70-kiosk-devices.rules); fi
rm -f "${rules[@]}"
if udevadm control --ping --timeout=2 2>/dev/null; then
  udevadm control --reload
  # A reload only affects the next event: without one, /dev/ttyS0 would keep KIOSK_ROLE=card-reader from the test
  # rule until reboot. A change event re-runs the (now rule-less) processing and replaces the properties of each
  # device that the kiosk's rules had tagged -- and of no other device on the machine.
  udevadm trigger --tag-match=kiosk --action=change
  udevadm settle --timeout=10 || echo "uninstall.sh: udevadm settle timed out; properties may update late" >&2
fi
