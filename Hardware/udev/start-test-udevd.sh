#!/usr/bin/env bash
# Starts systemd-udevd for the tests if it is not running (CI machines have no init running it), with the test
# rules installed. Prints "started" when this script started it (so the caller stops it), "running" otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/install.sh" --test >/dev/null
if udevadm control --ping --timeout=2 2>/dev/null; then echo running; exit 0; fi
# A udevd that is still shutting down holds the control socket: let it finish.
for _ in $(seq 1 50); do pgrep -x systemd-udevd >/dev/null || break; sleep 0.1; done
# The daemon must not keep the caller's stdout or stderr: a test reading this script's output to its end would
# otherwise wait for udevd to exit (it daemonizes with the pipes it inherited).
/lib/systemd/systemd-udevd --daemon </dev/null >/dev/null 2>&1
for _ in $(seq 1 50); do udevadm control --ping 2>/dev/null && break; sleep 0.1; done
udevadm control --reload
udevadm trigger --subsystem-match=tty --action=change
udevadm settle --timeout=10
echo started
