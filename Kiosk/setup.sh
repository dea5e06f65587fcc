#!/usr/bin/env bash
# Installs the Debian 12 packages the kiosk needs to build and run (non-interactive; root or sudo).
# Used by .ci/run and by Kiosk/demo.sh; safe to run again (installs only what is missing).
set -euo pipefail

packages=(
  # build: system-library targets (platform-notes §1)
  pkg-config libsqlite3-dev libcups2-dev libudev-dev libssl-dev libqrencode-dev libturbojpeg0-dev
  # tools the tests drive for real: openssl (Ed25519 interop, the Dinas reference endpoint's signatures),
  # sqlite3 (an independent reader of the store), python3 (the Dinas reference endpoint)
  openssl sqlite3 python3
  # printing (issue 5): a private cupsd with an IPP Everywhere queue, ippeveprinter as the printer, its PDF filter,
  # a private D-Bus for ippeveprinter, curl to change the simulated printer's condition; the receipt checks
  # read the PDF (pdftotext, pdftoppm) and decode its QR (zbarimg)
  cups-daemon cups-client cups-ipp-utils cups-filters-core-drivers dbus-daemon curl poppler-utils zbar-tools
  # driverless printers that take only PWG or Apple raster (issue 18): cups-filters (pdftopdf, gstoraster) and cups
  # (rastertopwg, which writes image/urf too, and its mime.convs); without them such a printer refuses every PDF
  # with "Unsupported document-format"
  cups cups-filters
  # scanning (issue 6): scanimage and libsane1 (whose "test" backend the tests drive); pgrep checks that a
  # killed scan leaves no process behind
  sane-utils procps
  # device hotplug (issue 7): systemd-udevd and udevadm, to apply Hardware/udev rules
  udev
  # terminal UI (issue 8): the end-to-end tests drive kiosk-ui (against kioskd) in a private tmux server
  tmux
  # voice guidance (issue 19): espeak-ng with its Indonesian voice renders the spoken scripts, aplay plays them
  espeak-ng alsa-utils
  # the Debian package (issue 18, Kiosk/package): libcurl's dev symlink for the static Foundation (the release
  # build links FoundationNetworking statically, which links -lcurl), dpkg-shlibdeps (dpkg-dev), strip (binutils),
  # lintian, adduser for the postinst, systemd-analyze (systemd) to verify the units
  libcurl4-openssl-dev dpkg-dev binutils lintian adduser systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
