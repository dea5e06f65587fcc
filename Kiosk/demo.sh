#!/usr/bin/env bash
# The kiosk's main job on a sample, until the full demo (kioskd --demo) lands:
# set up, build, then walk a late birth application through the Kota Kupang rules and sign a config bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Kiosk/setup.sh
if [ -d /opt/swift/usr/bin ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
swift build -c release --product kioskctl >/dev/null
ctl=.build/release/kioskctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
