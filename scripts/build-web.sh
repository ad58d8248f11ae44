#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build-web.sh -- builds what /api-docs/ serves beside openapi.json, none of
# it kept in git (a package ships these built files):
#   web/api-docs/vendor/                        Swagger UI, from the npm package
#                                               swagger-ui-dist pinned in
#                                               tools/web/package-lock.json
#   web/api-docs/timing.postman_collection.json generated from openapi.json
# Idempotent and quick when up to date: npm runs only when tools/web has no
# packages or the lockfile is newer than them; files are rewritten only when
# they change.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
tools="$here/tools/web"
docs="$here/web/api-docs"
vendor="$docs/vendor"
dist="$tools/node_modules/swagger-ui-dist"
collection="$docs/timing.postman_collection.json"

fail() {
    echo "build-web: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || fail "node is missing (make deps installs it)"
[ -f "$docs/openapi.json" ] || fail "$docs/openapi.json is missing"

# npm writes node_modules/.package-lock.json on every install: the packages
# are current when it is newer than the lockfile.
installed="$tools/node_modules/.package-lock.json"
if [ ! -f "$installed" ] || [ "$tools/package-lock.json" -nt "$installed" ] \
   || [ ! -f "$dist/package.json" ]; then
    command -v npm >/dev/null 2>&1 || fail "npm is missing (make deps installs it)"
    echo "build-web: npm ci in tools/web"
    # No install scripts: the viewer is static files, and swagger-ui-dist's
    # dependency @scarf/scarf would otherwise report the install.
    SCARF_ANALYTICS=false npm ci --prefix "$tools" --ignore-scripts \
        --no-audit --no-fund --loglevel=error \
        || fail "npm ci in tools/web failed (is the npm registry reachable?)"
    touch "$installed"
fi

# Just what the page loads, and the licence and notices that go with it
# (as .txt: Apache then serves them as text).  Each entry: source[:name].
FILES="swagger-ui.css swagger-ui-bundle.js favicon-16x16.png favicon-32x32.png
       LICENSE:LICENSE.txt NOTICE:NOTICE.txt swagger-ui-bundle.js.LICENSE.txt"
mkdir -p "$vendor" || fail "cannot create $vendor"
keep="README.txt"
for entry in $FILES; do
    src=${entry%%:*}
    name=${entry#*:}
    keep="$keep $name"
    [ -f "$dist/$src" ] || fail "$dist/$src is missing (delete tools/web/node_modules and retry)"
    if ! cmp -s "$dist/$src" "$vendor/$name"; then
        # Through a temporary name: Apache may be serving the old file.
        cp "$dist/$src" "$vendor/.$name.tmp" && mv -f "$vendor/.$name.tmp" "$vendor/$name" \
            || fail "cannot copy $src into $vendor"
    fi
done
version=$(node -p 'require(process.argv[1]).version' "$dist/package.json") \
    || fail "cannot read the version of swagger-ui-dist"
readme="Swagger UI $version, from the npm package swagger-ui-dist (Apache-2.0,
see LICENSE.txt and NOTICE.txt) pinned in tools/web/package-lock.json.
Copied here by scripts/build-web.sh (make web); not kept in git, not edited."
if [ "$(cat "$vendor/README.txt" 2>/dev/null || true)" != "$readme" ]; then
    printf '%s\n' "$readme" > "$vendor/README.txt"
fi
# Files an older build left that this one does not make.
for f in "$vendor"/* "$vendor"/.*.tmp; do
    [ -e "$f" ] || continue
    case " $keep " in
        *" $(basename "$f") "*) ;;
        *) rm -f "$f" ;;
    esac
done

if [ ! -f "$collection" ] || [ "$docs/openapi.json" -nt "$collection" ] \
   || [ "$tools/postman.mjs" -nt "$collection" ]; then
    echo "build-web: generating $(basename "$collection") from openapi.json"
    node "$tools/postman.mjs" "$docs/openapi.json" "$collection" \
        || fail "could not generate the Postman collection"
fi
