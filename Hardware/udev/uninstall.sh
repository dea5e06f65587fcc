#!/usr/bin/env bash
# Removes the kiosk's udev rules (and the test rule) and reloads udev.
set -euo pipefail
rm -f /etc/udev/rules.d/70-kiosk-devices.rules /etc/udev/rules.d/99-kiosk-test.rules
if udevadm control --ping --timeout=2 2>/dev/null; then udevadm control --reload; fi
