#!/usr/bin/env bash
# `make install` into a temporary DESTDIR with PREFIX=/opt/nerd-install-test, then what a user of
# the installed library does: `pkg-config --cflags --libs nerd` (PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR pointing into the staging tree) builds tests/install/consumer.c, which
# must run the stand-in model on the seed's Paris text and print spaCy's entities (the golden
# file's). Then `make uninstall` must leave no file behind. Run by `make test-install`.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${NERD_SHARED:-../shared}
prefix=/opt/nerd-install-test
work=$(mktemp -d /tmp/nerd-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
stage=$work/stage
root=$stage$prefix
fail() { echo "test-install: $*" >&2; exit 1; }

version=$(sed -n 's/^#define NERD_VERSION "\(.*\)"$/\1/p' include/nerd.h)
major=${version%%.*}
[ -n "$version" ] || fail "no NERD_VERSION in include/nerd.h"
[ ! -e "$prefix" ] || fail "$prefix exists on this machine: the test would not see a write outside DESTDIR"

make --no-print-directory install BUILD="$BUILD" DESTDIR="$stage" PREFIX="$prefix" >"$work/install.log"
[ ! -e "$prefix" ] || fail "make install wrote to $prefix, outside DESTDIR"
for f in bin/nerd "lib/libnerd.so.$version" include/nerd.h lib/pkgconfig/nerd.pc; do
  [ -f "$root/$f" ] || fail "$root/$f not installed"
done
[ "$(readlink "$root/lib/libnerd.so.$major")" = "libnerd.so.$version" ] || fail "lib/libnerd.so.$major is not a link to libnerd.so.$version"
[ "$(readlink "$root/lib/libnerd.so")" = "libnerd.so.$major" ] || fail "lib/libnerd.so is not a link to libnerd.so.$major"
[ "$("$root/bin/nerd" --version)" = "nerd $version" ] || fail "the installed nerd --version is not nerd $version"

export PKG_CONFIG_PATH=$root/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
[ "$(pkg-config --modversion nerd)" = "$version" ] || fail "pkg-config --modversion nerd is not $version"
flags=$(pkg-config --cflags --libs nerd)
echo "pkg-config --cflags --libs nerd: $flags"
# shellcheck disable=SC2086 # the flags are words
${CC:-cc} -std=c17 -Wall -Wextra -Werror -o "$work/consumer" tests/install/consumer.c $flags
# (the outputs captured first: under pipefail, grep -q quitting at its match can end the writer
# with SIGPIPE and fail the pipeline, as it did once in CI)
needed=$(readelf -d "$work/consumer")
grep -q "NEEDED.*\[libnerd.so.$major\]" <<<"$needed" || fail "the program does not need libnerd.so.$major"
loaded=$(LD_LIBRARY_PATH=$root/lib ldd "$work/consumer")
grep -q "libnerd.so.$major => $root/lib/" <<<"$loaded" ||
  fail "the program does not load the installed libnerd"

LD_LIBRARY_PATH=$root/lib "$work/consumer" "$SHARED/models/en_core_web_sm" "$SHARED/corpus/paris.txt" >"$work/ents.txt"
# spaCy's entities for the same text on the same model: the first line of the golden edge cases
/usr/bin/python3 -c '
import json, sys
golden = json.loads(open(sys.argv[1], encoding="utf-8").readline())
assert golden["id"] == "paris", golden["id"]
for e in golden["ents"]:
    print(e["start_char"], e["end_char"], e["label"])' "$SHARED/golden/edge.jsonl" >"$work/golden.txt"
[ -s "$work/golden.txt" ] || fail "no golden entities"
diff "$work/golden.txt" "$work/ents.txt" || fail "the installed library's entities differ from spaCy's (golden) above"
echo "test-install: $(wc -l <"$work/ents.txt") entities of paris.txt as spaCy's, through $root/lib/libnerd.so.$version"

make --no-print-directory uninstall BUILD="$BUILD" DESTDIR="$stage" PREFIX="$prefix" >>"$work/install.log"
left=$(find "$stage" ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "test-install: make install and make uninstall under DESTDIR=$stage PREFIX=$prefix ok"
