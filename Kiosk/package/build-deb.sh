#!/usr/bin/env bash
# Builds the Debian package kiosk_<version>_<arch>.deb (Kiosk/package/README.md): a release build of kioskd,
# kiosk-ui and kioskctl with the Swift runtime linked in (--static-swift-stdlib), stripped, plus the systemd units,
# udev rules, shipped profiles, docs and the production /etc/kiosk/kioskd.json. Depends comes from dpkg-shlibdeps.
# Usage: build-deb.sh [--out DIR] [--no-build] [--fast]   (DIR defaults to .build/package; --no-build reuses
# .build/release; --fast compresses with xz -1, for tests: same files, about 20% larger, 8x quicker)
# Prints the .deb's path as its last line. Needs dpkg-dev (dpkg-shlibdeps) and python3; not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/.build/package"
build=yes
level=6
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    --no-build) build=no; shift ;;
    --fast) level=1; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-deb.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
if [ -d /opt/swift/usr/bin ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
cd "$repo"

version=$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/KioskCore/Version.swift)
# The Debian revision: the packaging (Kiosk/package) is versioned apart from the programs (KioskVersion).
debian_revision=${DEB_REVISION:-1}
[ -n "$version" ] || { echo "build-deb.sh: no version in Sources/KioskCore/Version.swift" >&2; exit 1; }
version="$version-$debian_revision"
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-"Kios Adminduk maintainers <kiosk-maintainers@example.org>"}
# The package's dates follow the commit, so two builds of one commit give the same files.
commit_date=$(git log -1 --format=%aD 2>/dev/null || date -R)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%at 2>/dev/null || date +%s)}

products=(kioskd kiosk-ui kioskctl)
if [ "$build" = yes ]; then
  for p in "${products[@]}"; do
    swift build -c release --static-swift-stdlib --product "$p" 2>&1 | grep -E 'error:|Compiling|Build complete' | grep -v Compiling || true
  done
fi
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
for p in "${products[@]}"; do
  [ -x "$bin/$p" ] || { echo "build-deb.sh: $bin/$p missing (run without --no-build)" >&2; exit 1; }
done

work="$out/work"
root="$work/root"
rm -rf "$work"
mkdir -p "$root/DEBIAN" "$out"
umask 022

# Programs, stripped (the symbols stay in .build/release for crash reports from the same commit).
install -d "$root/usr/bin"
for p in "${products[@]}"; do
  install -m 0755 "$bin/$p" "$root/usr/bin/$p"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/$p"
done

# systemd units (both UI variants: kiosk-ui.service on the text console, kiosk-ui-cage.service on Wayland).
install -d "$root/lib/systemd/system"
install -m 0644 Kiosk/systemd/kioskd.service Kiosk/systemd/kiosk-ui.service Kiosk/systemd/kiosk-ui-cage.service \
  "$root/lib/systemd/system/"

# udev rules: generated from Hardware/profiles; the committed file must be what the generator writes now.
install -d "$root/lib/udev/rules.d"
python3 Hardware/udev/generate-rules.py Hardware/profiles > "$work/70-kiosk-devices.rules"
if ! cmp -s "$work/70-kiosk-devices.rules" Hardware/udev/70-kiosk-devices.rules; then
  echo "build-deb.sh: Hardware/udev/70-kiosk-devices.rules is stale: run python3 Hardware/udev/generate-rules.py > Hardware/udev/70-kiosk-devices.rules" >&2
  exit 1
fi
install -m 0644 "$work/70-kiosk-devices.rules" "$root/lib/udev/rules.d/70-kiosk-devices.rules"

# Shipped data: jurisdiction profiles where kioskd searches them (ProfileSearch: /usr/share/kiosk/profiles),
# hardware profiles (what the udev rules were made from), and the reference docs the units point at.
install -d "$root/usr/share/kiosk/profiles" "$root/usr/share/kiosk/hardware"
install -m 0644 Kiosk/profiles/*.json "$root/usr/share/kiosk/profiles/"
install -m 0644 Hardware/profiles/*.json "$root/usr/share/kiosk/hardware/"
for d in README.md Kiosk/PROTOCOL.md Kiosk/CONTROL.md Kiosk/CONFIG-SCHEMA.md Kiosk/STAFF.md Kiosk/TOUCHSCREEN.md \
         Kiosk/DEPLOY.md Hardware/README.md; do
  [ -f "$d" ] || continue
  case "$d" in Hardware/README.md) name=HARDWARE.md ;; *) name=$(basename "$d") ;; esac
  install -m 0644 "$d" "$root/usr/share/kiosk/$name"
done
install -m 0644 Kiosk/config/README.md "$root/usr/share/kiosk/kioskd.json.md"

# /etc/kiosk/kioskd.json (a conffile): the shipped defaults without the example kiosk id. kioskd refuses to start
# (exit 78, not restarted) until `kioskctl provision` has set kiosk_id and the Dinas link.
install -d "$root/etc/kiosk"
python3 - Kiosk/config/kioskd.json "$root/etc/kiosk/kioskd.json" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
config["kiosk_id"] = None
with open(sys.argv[2], "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
EOF
chmod 0644 "$root/etc/kiosk/kioskd.json"

# Debian docs: copyright and changelog.
install -d "$root/usr/share/doc/kiosk"
install -m 0644 "$here/debian/copyright" "$root/usr/share/doc/kiosk/copyright"
sed -e "s/@VERSION@/$version/" -e "s/@MAINTAINER@/$maintainer/" -e "s/@DATE@/$commit_date/" "$here/debian/changelog" \
  | gzip -9n > "$root/usr/share/doc/kiosk/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/kiosk/changelog.Debian.gz"

# Manual pages.
install -d "$root/usr/share/man/man1" "$root/usr/share/man/man8"
for m in "$here"/man/*.[18]; do
  section=${m##*.}
  gzip -9n < "$m" > "$root/usr/share/man/man$section/$(basename "$m").gz"
  chmod 0644 "$root/usr/share/man/man$section/$(basename "$m").gz"
done

# Lintian overrides (each with its reason).
install -d "$root/usr/share/lintian/overrides"
install -m 0644 "$here/debian/lintian-overrides" "$root/usr/share/lintian/overrides/kiosk"

# Depends: the shared libraries the three programs link (dpkg-shlibdeps reads their ELF NEEDED entries and the
# installed packages' shlibs/symbols files), plus the programs kioskd runs: scanimage (sane-utils), lpadmin
# (cups-client; the printer hotplug), adduser (postinst).
mkdir -p "$work/src/debian"
printf 'Source: kiosk\n\nPackage: kiosk\nArchitecture: any\n' > "$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "${products[@]/#/$root/usr/bin/}" 2>"$work/shlibdeps.err" \
  | sed -n 's/^shlibs:Depends=//p') || { cat "$work/shlibdeps.err" >&2; exit 1; }
[ -n "$shlibs" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; cat "$work/shlibdeps.err" >&2; exit 1; }
depends="$shlibs, adduser, sane-utils, cups-client"

install -m 0644 "$here/debian/conffiles" "$root/DEBIAN/conffiles"
for s in postinst postrm prerm; do install -m 0755 "$here/debian/$s" "$root/DEBIAN/$s"; done
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@MAINTAINER@/$maintainer/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" "$here/debian/control.in" > "$root/DEBIAN/control"
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb="$out/kiosk_${version}_${arch}.deb"
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz -z"$level" --build "$root" "$deb" >/dev/null
echo "Depends: $depends" >&2
echo "$deb"
