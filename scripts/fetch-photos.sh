#!/usr/bin/env bash
# Downloads the Debian packages that hold the training / evaluation photos listed in
# training/photos.json, unpacks them under .cache/photos/root (nothing is installed system-wide;
# apt-get download needs only the package lists: run `apt-get update` once if they are missing),
# then writes data/photos/{train,val,test}/<name>.png through scripts/prepare-photos.ts.
#
#   bash scripts/fetch-photos.sh [OUT_DIR (default data/photos)]
#
# The packages are ~170 MB of downloads; the photos written are ~60 MB. Both folders are
# git-ignored. Running it again reuses the downloads and skips photos already written.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-data/photos}"
CACHE=.cache/photos
LIST=training/photos.json
mkdir -p "$CACHE/debs" "$CACHE/root"

mapfile -t PKGS < <(node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log([...new Set(l.photos.map((p) => p.package))].join("\n"))' "$LIST")
for pkg in "${PKGS[@]}"; do
  if [ -d "$CACHE/root/$pkg" ]; then continue; fi
  want=$(node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(l.packages[process.argv[2]] ?? "")' "$LIST" "$pkg")
  (cd "$CACHE/debs" && apt-get download "$pkg" >/dev/null) || {
    echo "fetch-photos: 'apt-get download $pkg' failed (run 'apt-get update' first?)" >&2
    exit 1
  }
  deb=$(ls -t "$CACHE/debs/${pkg}"_*.deb | head -1)
  got=$(dpkg-deb -f "$deb" Version)
  if [ -n "$want" ] && [ "$got" != "$want" ]; then
    echo "fetch-photos: warning: $pkg is version $got, the list was made from $want" >&2
  fi
  dpkg-deb -x "$deb" "$CACHE/root/$pkg.tmp"
  mv "$CACHE/root/$pkg.tmp" "$CACHE/root/$pkg"
done

npx tsx scripts/prepare-photos.ts --root "$CACHE/root" --list "$LIST" --out "$OUT"
