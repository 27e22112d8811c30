#!/usr/bin/env bash
# Bundles end to end, and what looking for them costs: N images signed as cosign v3 signs (a Sigstore bundle attached as an OCI
# referrer, `cosign attest --new-bundle-format --type https://sigstore.dev/cosign/sign/v1`) in a
# local docker-registry (no referrers API, so cosign keeps the `sha256-<hex>` index), verified by
#   1. `ocisig verify` in one process,
#   2. one `cosign verify-attestation --new-bundle-format` call given all images,
# measured in this one run (medians of RUNS): wall time, and registry requests per image, counted
# from the registry's own access log. Then the requests per image for N images signed the legacy
# way (`cosign sign`, the `.sig` tag), with both formats looked for and with `--format
# simplesigning`.
#
# Usage: benches/bundles.sh OCISIG_BINARY OUT.json N
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/testenv.sh
source "$here/scripts/testenv.sh"
ocisig=$1 out=$2 n=$3
runs=${E2E_RUNS:-3}
sign_v1=https://sigstore.dev/cosign/sign/v1
root="$here/host-shim/trust/production_trusted_root.json"

for tool in docker-registry skopeo cosign bc; do
    command -v "$tool" >/dev/null || { echo "bundle bench skipped: $tool is not installed" >&2; exit 0; }
done

work=$(mktemp -d)
trap 'kill ${REGISTRY_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_registry "$work/registry"
# The same registry, restarted to log every request ("response completed" at level info).
kill "$REGISTRY_PID"; wait "$REGISTRY_PID" 2>/dev/null || true
sed -i 's/level: error/level: info/' "$work/registry/config.yml"
docker-registry serve "$work/registry/config.yml" >"$work/registry/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 1 100); do curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
new_cosign_key "$work/bench"
echo '{}' >"$work/empty.json"

images=() legacy=()
for i in $(seq 0 $((n - 1))); do
    digest=$(push_image "legacy bench image $i" "$REGISTRY/legacy-$i:v1")
    cosign_sign "$work/bench.key" "$REGISTRY/legacy-$i@$digest"
    legacy+=("$REGISTRY/legacy-$i:v1")
    digest=$(push_image "bundle bench image $i" "$REGISTRY/bundles-$i:v1")
    COSIGN_PASSWORD= cosign attest --new-bundle-format --tlog-upload=false --key "$work/bench.key" \
        --type "$sign_v1" --predicate "$work/empty.json" --allow-http-registry \
        --allow-insecure-registry -y "$REGISTRY/bundles-$i@$digest" >/dev/null 2>&1
    images+=("$REGISTRY/bundles-$i:v1")
done

ocisig_run() {
    "$ocisig" verify "${images[@]}" --key "$work/bench.pub" --insecure-registry "$REGISTRY" >/dev/null
}
cosign_run() {
    cosign verify-attestation --new-bundle-format --trusted-root "$root" --insecure-ignore-tlog \
        --allow-http-registry --key "$work/bench.pub" --type "$sign_v1" "${images[@]}" >/dev/null 2>&1
}
# requests COMMAND: how many requests the registry served while it ran.
requests() {
    local before after
    before=$(grep -c 'response completed' "$work/registry/registry.log" || true)
    "$@" >/dev/null
    sleep 0.2
    after=$(grep -c 'response completed' "$work/registry/registry.log" || true)
    echo $((after - before))
}
seconds() {
    local start
    start=$(date +%s.%N)
    "$@" >/dev/null
    echo "$(date +%s.%N) - $start" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Both must agree that every image verifies before anything is measured.
ocisig_run
cosign_run || { echo "cosign does not verify the bench images" >&2; exit 1; }
ocisig_requests=$(requests ocisig_run)
cosign_requests=$(requests cosign_run)
ocisig_s=() cosign_s=()
for _ in $(seq 1 "$runs"); do
    ocisig_s+=("$(seconds ocisig_run)")
    cosign_s+=("$(seconds cosign_run)")
done
legacy_both=$(requests "$ocisig" verify "${legacy[@]}" --key "$work/bench.pub" --insecure-registry "$REGISTRY")
legacy_only=$(requests "$ocisig" verify "${legacy[@]}" --key "$work/bench.pub" --insecure-registry "$REGISTRY" --format simplesigning)
o=$(printf '%s\n' "${ocisig_s[@]}" | median)
c=$(printf '%s\n' "${cosign_s[@]}" | median)
printf '%4d bundle-signed images  ocisig %6.2fs, %.1f requests/image | cosign verify-attestation %6.2fs, %.1f requests/image (%4.1fx)\n' \
    "$n" "$o" "$(echo "$ocisig_requests / $n" | bc -l)" "$c" "$(echo "$cosign_requests / $n" | bc -l)" \
    "$(echo "$c / $o" | bc -l)"
printf '%4d .sig-signed images     ocisig %.1f requests/image looking for both formats, %.1f with --format simplesigning\n' \
    "$n" "$(echo "$legacy_both / $n" | bc -l)" "$(echo "$legacy_only / $n" | bc -l)"
printf '{"images":%d,"runs":%d,"ocisigSeconds":%.4f,"ocisigRequestsPerImage":%.2f,"cosignSeconds":%.4f,"cosignRequestsPerImage":%.2f,"ratio":%.2f,"legacyRequestsPerImage":%.2f,"legacySimplesigningOnlyRequestsPerImage":%.2f}\n' \
    "$n" "$runs" "$o" "$(echo "$ocisig_requests / $n" | bc -l)" "$c" "$(echo "$cosign_requests / $n" | bc -l)" \
    "$(echo "$c / $o" | bc -l)" "$(echo "$legacy_both / $n" | bc -l)" "$(echo "$legacy_only / $n" | bc -l)" >"$out"
