#!/usr/bin/env bash
# The size budgets of the shipped artifacts (issue #16), checked by `make test` so that no
# change lands over them: the raw module 600 KB, the Kubewarden policy 800 KB, the browser
# page's wasm and JavaScript 300 KB gzipped (KB = 1000 bytes, as the README counts).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
check() { # name bytes budget
    if [ "$2" -gt "$3" ]; then
        echo "size budget: $1 is $2 bytes, over its $3" >&2
        fail=1
    else
        echo "size budget: $1 $2 of $3 bytes"
    fi
}
check dist/ocisig.wasm "$(wc -c < dist/ocisig.wasm)" 600000
check dist/ocisig-kubewarden.wasm "$(wc -c < dist/ocisig-kubewarden.wasm)" 800000
web=$(cat dist/web/pkg/ocisig_web_bg.wasm dist/web/pkg/ocisig_web.js dist/web/app.js | gzip -9 | wc -c)
check "dist/web (wasm + JS, gzipped)" "$web" 300000
exit "$fail"
