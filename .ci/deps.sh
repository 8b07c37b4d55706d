#!/bin/sh
# Installs the Debian packages nerd builds, tests and benchmarks with. Idempotent; run as root.
# The translated manual pages are text in the languages of nerd's table (make test-languages).
# `deps.sh bench` adds gnuplot for `make bench-seed`'s chart (its Python stacks come from the
# venv, tools/requirements.txt); `deps.sh ui` adds a browser for `make test-ui` (chromium driven
# headless by chromium-driver from python3-selenium).
set -e
PKGS="build-essential pkg-config libpcre2-dev libmsgpack-dev libutf8proc-dev libopenblas-dev
      python3 python3-venv python3-pip python3-aiohttp python3-yaml curl nginx-light wrk clang libclang-rt-14-dev valgrind
      manpages-de manpages-es manpages-fr manpages-it manpages-nl manpages-pt-br manpages-ru manpages-el manpages-zh"
[ "${1:-}" = bench ] && PKGS="$PKGS gnuplot-nox"
[ "${1:-}" = ui ] && PKGS="$PKGS chromium chromium-driver python3-selenium"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
