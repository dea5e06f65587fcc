#!/usr/bin/env bash
# The kiosk's main job: installs what it needs, builds, and runs the resident UI (`kioskd --demo`) in this
# terminal on a temporary data directory, with real devices where present and simulated ones otherwise.
# Without a terminal (e.g. piped or in CI) it walks the same rules non-interactively instead.
# Extra arguments go to kioskd --demo (see `kioskd --help`), e.g.  bash Kiosk/demo.sh --profile blora
set -euo pipefail
cd "$(dirname "$0")/.."
bash Kiosk/setup.sh
if [ -d /opt/swift/usr/bin ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
swift build -c release --product kioskd >/dev/null
swift build -c release --product kioskctl >/dev/null
if [ -t 0 ] && [ -t 1 ]; then
  exec .build/release/kioskd --demo "$@"
fi

ctl=.build/release/kioskctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "(no terminal: kioskd --demo needs one; showing the rules and tools instead)"
echo "== NIK pemohon / applicant's NIK"
$ctl nik check 5371014503240001 || true
echo
echo "== Layanan Kota Kupang / Kota Kupang services"
$ctl catalog list --profile kota-kupang
echo
echo "== Kelahiran dilaporkan hari ke-61 / birth reported on day 61 (domain-brief example 2)"
$ctl rules evaluate --profile kota-kupang --service birth --event-date 2024-03-10 --report-date 2024-05-10 \
  --fact approval_date=2024-05-14
echo
echo "== Bundel konfigurasi bertanda tangan / signed configuration bundle"
$ctl keys generate --private "$work/dinas.pem" --public "$work/dinas.pub.pem"
$ctl config init --profile kota-kupang --desa "Kelurahan Oebobo" > "$work/payload.json"
$ctl config sign "$work/payload.json" --key "$work/dinas.pem" --out "$work/bundle.json"
$ctl config verify "$work/bundle.json" --trusted-key "$work/dinas.pub.pem"
