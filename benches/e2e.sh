#!/usr/bin/env bash
# End-to-end: verify N cosign-signed images in a local docker-registry with
#   1. `ocisig verify` in one process,
#   2. `cosign verify` run once per image,
#   3. one `cosign verify` call given all images,
# measured in this one run (medians of RUNS): wall time, client CPU (user + system, from
# /usr/bin/time) and peak memory, with the ratios against ocisig.
#
# Usage: benches/e2e.sh OCISIG_BINARY OUT.json N [N...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/testenv.sh
source "$here/scripts/testenv.sh"
ocisig=$1 out=$2
shift 2
runs=${E2E_RUNS:-3}

for tool in docker-registry skopeo cosign /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "e2e bench skipped: $tool is not installed" >&2; exit 0; }
done

work=$(mktemp -d)
trap 'kill ${REGISTRY_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_registry "$work/registry"
new_cosign_key "$work/bench"

# seconds_peak_kib_cpu COMMAND...: runs it once; prints "SECONDS PEAK_KIB CPU_SECONDS", the
# CPU being the process's (and its children's) user plus system time.
seconds_peak_kib_cpu() {
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f '%M %U %S' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
    end=$(date +%s.%N)
    read -r kib user system < <(tail -n1 "$work/time")
    echo "$(echo "$end - $start" | bc -l) $kib $(echo "$user + $system" | bc -l)"
}

# cosign_each IMAGE...: one cosign process per image; prints the largest peak.
cosign_each() {
    local peak=0 image
    for image in "$@"; do
        /usr/bin/time -f '%M' -o "$work/each" cosign verify --key "$work/bench.pub" \
            --insecure-ignore-tlog --allow-http-registry "$image" >/dev/null 2>&1
        peak=$(( $(tail -n1 "$work/each") > peak ? $(tail -n1 "$work/each") : peak ))
    done
    echo "$peak" >"$work/each-peak"
}
export -f cosign_each
export work

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

results=()
have=0
for n in "$@"; do
    images=()
    for i in $(seq 0 $((n - 1))); do
        image="$REGISTRY/e2e-$i:v1"
        if [ "$i" -ge "$have" ]; then
            digest=$(push_image "e2e image $i" "$image")
            cosign_sign "$work/bench.key" "$REGISTRY/e2e-$i@$digest"
        fi
        images+=("$image")
    done
    have=$(( n > have ? n : have ))
    # Each tool must agree that every image verifies before it is timed.
    "$ocisig" verify "${images[@]}" --key "$work/bench.pub" --insecure-registry "$REGISTRY" >/dev/null
    cosign verify --key "$work/bench.pub" --insecure-ignore-tlog --allow-http-registry \
        "${images[@]}" >/dev/null 2>&1

    ocisig_s=() ocisig_kib=() ocisig_cpu=() each_s=() all_s=() all_kib=() all_cpu=() each_kib=0
    for _ in $(seq 1 "$runs"); do
        read -r s kib cpu < <(seconds_peak_kib_cpu "$ocisig" verify "${images[@]}" \
            --key "$work/bench.pub" --insecure-registry "$REGISTRY")
        ocisig_s+=("$s") ocisig_kib+=("$kib") ocisig_cpu+=("$cpu")
        start=$(date +%s.%N)
        cosign_each "${images[@]}"
        each_s+=("$(echo "$(date +%s.%N) - $start" | bc -l)")
        each_kib=$(cat "$work/each-peak")
        read -r s kib cpu < <(seconds_peak_kib_cpu cosign verify --key "$work/bench.pub" \
            --insecure-ignore-tlog --allow-http-registry "${images[@]}")
        all_s+=("$s") all_kib+=("$kib") all_cpu+=("$cpu")
    done
    o=$(printf '%s\n' "${ocisig_s[@]}" | median)
    e=$(printf '%s\n' "${each_s[@]}" | median)
    a=$(printf '%s\n' "${all_s[@]}" | median)
    ok=$(printf '%s\n' "${ocisig_kib[@]}" | median)
    ak=$(printf '%s\n' "${all_kib[@]}" | median)
    oc=$(printf '%s\n' "${ocisig_cpu[@]}" | median)
    ac=$(printf '%s\n' "${all_cpu[@]}" | median)
    # CPU times come in 10 ms steps: a floor of 0.01 s keeps the ratio finite.
    cpu_ratio=$(awk -v a="$ac" -v o="$oc" 'BEGIN { if (o < 0.01) o = 0.01; print a / o }')
    printf '%4d images  ocisig %7.2fs %6.2fs CPU %4d MiB | cosign per image %7.2fs %4d MiB (%5.1fx) | cosign one call %7.2fs %6.2fs CPU %4d MiB (%4.1fx time, %4.1fx CPU)\n' \
        "$n" "$o" "$oc" $((ok / 1024)) "$e" $((each_kib / 1024)) "$(echo "$e / $o" | bc -l)" \
        "$a" "$ac" $((ak / 1024)) "$(echo "$a / $o" | bc -l)" "$cpu_ratio"
    results+=("$(printf '{"images":%d,"runs":%d,"ocisigSeconds":%.4f,"ocisigCpuSeconds":%.2f,"ocisigPeakKiB":%d,"cosignPerImageSeconds":%.4f,"cosignPerImagePeakKiB":%d,"cosignOneCallSeconds":%.4f,"cosignOneCallCpuSeconds":%.2f,"cosignOneCallPeakKiB":%d,"perImageRatio":%.2f,"oneCallRatio":%.2f,"oneCallCpuRatio":%.2f}' \
        "$n" "$runs" "$o" "$oc" "$ok" "$e" "$each_kib" "$a" "$ac" "$ak" "$(echo "$e / $o" | bc -l)" "$(echo "$a / $o" | bc -l)" "$cpu_ratio")")
done
(IFS=,; echo "[${results[*]}]") >"$out"
