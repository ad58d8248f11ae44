#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# deps.sh -- `make bench-deps`: what the fan-out bench's anchor needs,
# Debian's nginx and its nchan module (libnginx-mod-nchan).  Never part of
# `make deps`.  Idempotent: apt runs only when one of them is missing.
#
# The bench runs its own nginx with a private configuration on a free
# port; Debian's nginx service is not wanted.  Installing the package
# would start it on port 80 (and fail the install when Apache or anything
# else holds port 80), so for the install a /usr/sbin/policy-rc.d that
# exits 101 forbids every service start: invoke-rc.d (no systemd, as in a
# CI container) and deb-systemd-invoke (systemd) both ask it first.  A
# policy-rc.d already there (Docker's images have one) is put back
# afterwards, as it was.  When this script installed nginx itself, the
# service is then disabled at boot too (systemd's and the init scripts'
# links), so no later boot starts it either; an nginx that was installed
# before is left as its owner set it up.
set -eu

PACKAGES="nginx libnginx-mod-nchan"
POLICY=/usr/sbin/policy-rc.d
SAVED=/usr/sbin/policy-rc.d.timing-bench-deps

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
had_nginx=yes
case "$missing" in *" nginx"*) had_nginx=no ;; esac

echo "bench-deps: installing$missing (the nginx service is not started)"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "bench-deps: missing packages:$missing" >&2
    echo "bench-deps: run 'make bench-deps' as root, or install sudo" >&2
    exit 1
fi

# A run that was killed before it put the old policy back: put it back.
if $SUDO test -e "$SAVED"; then
    $SUDO mv -f "$SAVED" "$POLICY"
fi
restore() {
    if $SUDO test -e "$SAVED"; then
        $SUDO mv -f "$SAVED" "$POLICY"
    else
        $SUDO rm -f "$POLICY"
    fi
}
if $SUDO test -e "$POLICY"; then
    $SUDO mv "$POLICY" "$SAVED"
fi
trap restore EXIT
trap 'exit 1' INT TERM HUP
printf '#!/bin/sh\n# make bench-deps: no service starts.\nexit 101\n' \
    | $SUDO tee "$POLICY" >/dev/null
$SUDO chmod 755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
# Empty package lists (a fresh machine), or stale ones: refresh once.
if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ] \
   || ! $SUDO apt-get install -y -qq --no-install-recommends $missing \
        >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

if [ "$had_nginx" = no ]; then
    # Not at boot either: the links only, whether or not systemd runs.
    $SUDO deb-systemd-helper disable nginx.service >/dev/null 2>&1 || true
    $SUDO update-rc.d nginx disable >/dev/null 2>&1 || true
fi
echo "bench-deps: installed$missing"
