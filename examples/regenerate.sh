#!/usr/bin/env bash
# Regenerates the bundled examples with the real cosign against a throwaway local registry.
# Each example folder holds policy.json, evidence.json and expected-reason (the verdict's
# reason). Public keys go to examples/keys/; the private keys are thrown away.
#
# Needs: docker-registry, skopeo, cosign 2.x, curl, python3 (`.ci/install-deps` installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../scripts/testenv.sh
. "$here/../scripts/testenv.sh"
fetch="$here/../scripts/fetch-evidence.py"

work=$(mktemp -d)
trap 'kill "${REGISTRY_PID:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# A fixed port, so that the references recorded in the examples are stable.
start_registry "$work/registry" "${EXAMPLES_REGISTRY_PORT:-5055}"
echo "registry at $REGISTRY"

mkdir -p "$here/keys"
for name in alice bob carol mallory; do
    new_cosign_key "$work/$name"
    cp "$work/$name.pub" "$here/keys/$name.pub"
done

# policy NAME... [-- JSON-FIELDS]: prints a policy trusting the named keys, merged with FIELDS.
policy() {
    local names=() extra='{}'
    while [ $# -gt 0 ]; do
        if [ "$1" = -- ]; then extra=$2; break; fi
        names+=("$1"); shift
    done
    python3 - "$here/keys" "$extra" "${names[@]}" <<'PY'
import json, sys
keys_dir, extra, names = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
doc = {"keys": [{"name": n, "publicKey": open(f"{keys_dir}/{n}.pub").read()} for n in names]}
doc.update(extra)
print(json.dumps(doc, indent=2))
PY
}

example() { # example NAME EXPECTED-REASON: creates the folder and records the expectation
    mkdir -p "$here/$1"
    echo "$2" >"$here/$1/expected-reason"
}

cosign_verifies() { # cosign_verifies KEY IMAGE [flags]: fails unless cosign verifies
    local key=$1 image=$2
    shift 2
    cosign verify --key "$key" --insecure-ignore-tlog --allow-http-registry "$@" "$image" >/dev/null 2>&1
}

cosign_refuses() { # cosign_refuses KEY IMAGE [flags]: fails if cosign verifies
    if cosign_verifies "$@"; then
        echo "cosign verified $2 with $1, which this example expects it to refuse" >&2
        return 1
    fi
}

demo=$REGISTRY/ocisig/demo
v1=$(push_image "ocisig demo v1" "$demo:v1")
v2=$(push_image "ocisig demo v2" "$demo:v2")
cosign_sign "$work/alice.key" "$demo@$v1"

example signed verified
"$fetch" "$demo:v1" >"$here/signed/evidence.json"
policy alice >"$here/signed/policy.json"
cosign_verifies "$work/alice.pub" "$demo@$v1"
rm -rf "$here/signed/layout"
cosign save --dir "$here/signed/layout" --allow-http-registry "$demo@$v1" >/dev/null 2>&1 ||
    cosign save --dir "$here/signed/layout" "$demo@$v1" >/dev/null

example wrong-key no_matching_signature
cp "$here/signed/evidence.json" "$here/wrong-key/evidence.json"
policy mallory >"$here/wrong-key/policy.json"
cosign_refuses "$work/mallory.pub" "$demo@$v1"

example unsigned no_signatures
"$fetch" "$demo:v2" >"$here/unsigned/evidence.json"
policy alice >"$here/unsigned/policy.json"
cosign_refuses "$work/alice.pub" "$demo@$v2"

# A valid signature of v1, copied to v2's signature tag: the registry now serves it for v2.
example other-image claim_digest_mismatch
skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false \
    "docker://$demo:sha256-${v1#sha256:}.sig" "docker://$demo:sha256-${v2#sha256:}.sig"
"$fetch" "$demo:v2" >"$here/other-image/evidence.json"
policy alice >"$here/other-image/policy.json"
cosign_refuses "$work/alice.pub" "$demo@$v2"

app=$REGISTRY/ocisig/app
app1=$(push_image "ocisig app v1" "$app:v1")
for name in alice bob carol; do
    cosign_sign "$work/$name.key" "$app@$app1"
done
example threshold verified
"$fetch" "$app:v1" >"$here/threshold/evidence.json"
policy alice bob carol -- '{"threshold": 2, "required": ["alice"]}' >"$here/threshold/policy.json"
for name in alice bob carol; do cosign_verifies "$work/$name.pub" "$app@$app1"; done

example threshold-unmet threshold_not_met
"$fetch" "$demo:v1" >"$here/threshold-unmet/evidence.json"
policy alice bob carol -- '{"threshold": 2}' >"$here/threshold-unmet/policy.json"

app2=$(push_image "ocisig app v2" "$app:v2")
cosign_sign "$work/alice.key" "$app@$app2" -a env=prod -a team=payments
example annotated verified
"$fetch" "$app:v2" >"$here/annotated/evidence.json"
policy alice -- '{"annotations": {"env": "prod"}, "matchReference": true}' >"$here/annotated/policy.json"
cosign_verifies "$work/alice.pub" "$app@$app2" -a env=prod

example annotation-mismatch annotation_mismatch
cp "$here/annotated/evidence.json" "$here/annotation-mismatch/evidence.json"
policy alice -- '{"annotations": {"env": "staging"}}' >"$here/annotation-mismatch/policy.json"
cosign_refuses "$work/alice.pub" "$app@$app2" -a env=staging

# The signed payload with one byte changed. The attacker fixes up the descriptor's size and
# digest so that the blob looks consistent, but cannot re-sign it.
example tampered no_matching_signature
python3 - "$here/signed/evidence.json" >"$here/tampered/evidence.json" <<'PY'
import base64, hashlib, json, sys
ev = json.load(open(sys.argv[1]))
manifest = json.loads(ev["signatureManifest"])
layer = manifest["layers"][0]
payload = base64.b64decode(ev["blobs"][layer["digest"]])
forged = payload.replace(b'"optional":null', b'"optional":{"x":1}')
assert forged != payload
digest = "sha256:" + hashlib.sha256(forged).hexdigest()
layer["digest"], layer["size"] = digest, len(forged)
ev["signatureManifest"] = json.dumps(manifest, separators=(",", ":"))
ev["blobs"] = {digest: base64.b64encode(forged).decode()}
print(json.dumps(ev, indent=2))
PY
policy alice >"$here/tampered/policy.json"

# cosign v3's format: a Sigstore bundle attached as an OCI referrer (`cosign attest
# --new-bundle-format --type https://sigstore.dev/cosign/sign/v1`, what cosign v3's `cosign sign`
# writes), found under the referrers tag.
echo '{}' >"$work/empty.json"
bundle_sign() { # bundle_sign KEY IMAGE@DIGEST
    COSIGN_PASSWORD= cosign attest --new-bundle-format --tlog-upload=false --key "$1" \
        --type https://sigstore.dev/cosign/sign/v1 --predicate "$work/empty.json" \
        --allow-http-registry --allow-insecure-registry -y "$2" >/dev/null 2>&1
}
cosign_verifies_bundle() { # cosign_verifies_bundle KEY IMAGE: fails unless cosign verifies
    cosign verify-attestation --new-bundle-format --insecure-ignore-tlog --allow-http-registry \
        --trusted-root "$here/../host-shim/trust/production_trusted_root.json" \
        --type https://sigstore.dev/cosign/sign/v1 --key "$1" "$2" >/dev/null 2>&1
}
app3=$(push_image "ocisig app v3" "$app:v3")
bundle_sign "$work/alice.key" "$app@$app3"
example bundle verified
"$fetch" "$app:v3" >"$here/bundle/evidence.json"
policy alice >"$here/bundle/policy.json"
cosign_verifies_bundle "$work/alice.pub" "$app@$app3"

# Both formats under one threshold: alice's `.sig` and bob's bundle.
app4=$(push_image "ocisig app v4" "$app:v4")
cosign_sign "$work/alice.key" "$app@$app4"
bundle_sign "$work/bob.key" "$app@$app4"
example mixed-formats verified
"$fetch" "$app:v4" >"$here/mixed-formats/evidence.json"
policy alice bob -- '{"threshold": 2}' >"$here/mixed-formats/policy.json"
cosign_verifies "$work/alice.pub" "$app@$app4"
cosign_verifies_bundle "$work/bob.pub" "$app@$app4"

echo "examples regenerated:"
for d in "$here"/*/expected-reason; do
    printf '  %-22s %s\n' "$(basename "$(dirname "$d")")" "$(cat "$d")"
done
