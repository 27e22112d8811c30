#!/usr/bin/env bash
# The TUF conformance suite (theupdateframework/tuf-conformance v2.4.0, kept in
# ../shared/tuf-conformance with its PROVENANCE.md) against ocisig's TUF client: the ocisig
# binary through tests/tuf/conformance-client (`ocisig trust conformance-client`, the same code
# as `ocisig trust update`). Every test must pass: there is no list of expected failures. The
# suite's pinned Python packages go to a virtual environment under ~/.cache/ocisig (outside
# ../shared, which is only read); some tests run the client under Debian's faketime.
#
# Usage: scripts/tuf-conformance.sh OCISIG_BINARY   run the suite
#        scripts/tuf-conformance.sh --venv          only make the virtual environment
# Without the suite it says so and passes, except under CI, where it fails.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ocisig=$1
suite=${TUF_CONFORMANCE_DIR:-$here/../shared/tuf-conformance}

missing() {
    if [ -n "${CI:-}" ]; then
        echo "tuf-conformance: $1 (required under CI)" >&2
        exit 1
    fi
    echo "tuf-conformance skipped: $1" >&2
    exit 0
}
[ -f "$suite/pyproject.toml" ] || missing "the suite is not at $suite"

venv=${XDG_CACHE_HOME:-$HOME/.cache}/ocisig/tuf-conformance-venv
stamp=$(sha256sum "$suite/pyproject.toml" | cut -d' ' -f1)
if [ "$(cat "$venv/.ocisig-stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    # The suite's own pinned dependencies, read from its pyproject.toml.
    python3 - "$suite/pyproject.toml" >"$venv/requirements.txt" <<'PY'
import sys, tomllib
for requirement in tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]:
    print(requirement)
PY
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$venv/requirements.txt"
    echo "$stamp" >"$venv/.ocisig-stamp"
fi
[ "$ocisig" = --venv ] && exit 0
command -v faketime >/dev/null || missing "faketime is not installed (.ci/install-deps installs it)"
OCISIG=$(cd "$(dirname "$ocisig")" && pwd)/$(basename "$ocisig")
export OCISIG

# The suite is read, never written: no bytecode, no pytest cache.
cd "$suite"
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    tuf_conformance --entrypoint "$here/tests/tuf/conformance-client"
