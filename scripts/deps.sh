#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# deps.sh -- install every Debian package Timing builds, runs and tests
# with.  Idempotent and quiet: apt runs only when something is missing.
# Only the binaries are installed, not Debian's apache2 and mariadb-server
# service packages: `make run` and the tests start their own private
# Apache and MariaDB, and no system service is started or changed.
# apache2-bin brings mod_ssl and mod_http2 too (the TLS stack and the
# H2WebSockets check of tests/integration/test_tls.py); openssl makes the
# TLS stack's self-signed certificate.
set -eu

PACKAGES="
  apache2-bin apache2-dev apache2-utils
  libapr1-dev libaprutil1-dev libaprutil1-dbd-mysql
  mariadb-server-core mariadb-client tzdata
  libjson-c-dev libjwt-dev libwslay-dev libcunit1-dev libssl-dev openssl
  gcc make pkg-config libc6-dev
  python3 python3-pytest python3-websockets wrk
  chromium fonts-noto-core fonts-noto-color-emoji fonts-thai-tlwg
  clang libclang-rt-dev clang-tidy cppcheck valgrind
  debhelper lintian build-essential fakeroot systemd
"

here=$(cd "$(dirname "$0")/.." && pwd)

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done
# Node runs the client tests: Debian's nodejs (18) and npm, unless a node
# with its npm is already there (NodeSource's package bundles npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

# The Node tests' own packages (ws: WebSocket for Node 18; playwright-core
# drives Debian's chromium), from the lockfile; again when it changes.
# They belong to the checkout's owner: after `sudo scripts/deps.sh` in a
# user's checkout, a node_modules only root may write would stop that
# user's next npm ci.
node_packages() {
    installed="$here/tests/node/node_modules/.package-lock.json"
    [ -f "$installed" ] && [ "$installed" -nt "$here/tests/node/package-lock.json" ] \
        && return 0
    echo "deps: npm ci in tests/node"
    owner=$(stat -c %U "$here")
    if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
        "$(command -v runuser || echo /usr/sbin/runuser)" -u "$owner" -- env HOME="$(getent passwd "$owner" | cut -d: -f6)" \
            npm ci --prefix "$here/tests/node" --no-audit --no-fund --loglevel=error
    else
        npm ci --prefix "$here/tests/node" --no-audit --no-fund --loglevel=error
    fi
}

if [ -z "$missing" ]; then
    node_packages
    exit 0
fi

echo "deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: missing packages:$missing" >&2
    echo "deps: run 'make deps' as root, or install sudo" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once.
if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ] \
   || ! $SUDO apt-get install -y -qq --no-install-recommends $missing \
        >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
node_packages
