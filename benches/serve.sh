#!/usr/bin/env bash
# `ocisig serve` under load: REQUESTS AdmissionReviews to the validating webhook over a mix of
# IMAGES cosign-signed images in a local docker-registry, CONCURRENCY at a time, over HTTPS on
# loopback. Two servers, one after the other:
#   uncached  --cache-ttl 0: every request verifies (concurrent requests for one image share one);
#   cached    the default cache, after one warm-up pass over the images;
#   cached-set as cached, under a policy set of 50 rules (one per image's repository, as a
#             cluster's set would name its teams), so that the rule matching on every request
#             is measured against one policy.
# For each: requests per second, p50 and p99 latency, errors, registry requests per image and per
# request, and the server's peak memory (/usr/bin/time).
#
# The load comes from Debian's wrk (HTTP/1.1 keep-alive, 2 threads, CONCURRENCY connections,
# benches/serve-wrk.lua), which keeps up with the server: the figures are the server's. The
# uncached mode runs 10 s, the cached ones 5 s each. Without wrk, LOAD_BINARY (host-shim/examples/serve-load, a client that is
# itself the bottleneck when cached) measures REQUESTS requests instead, and the JSON says so.
#
# Usage: benches/serve.sh OCISIG_BINARY LOAD_BINARY OUT.json [REQUESTS] [IMAGES] [CONCURRENCY]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/testenv.sh
source "$here/scripts/testenv.sh"
ocisig=$1 load=$2 out=$3
requests=${4:-5000} count=${5:-50} concurrency=${6:-64}

for tool in docker-registry skopeo cosign openssl curl /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "serve bench skipped: $tool is not installed" >&2; exit 0; }
done

work=$(mktemp -d)
server_pid=
trap '[ -n "${server_pid:-}" ] && pkill -TERM -P "$server_pid"; kill ${server_pid:-} ${REGISTRY_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_registry "$work/registry"
new_cosign_key "$work/bench"

# A CA and a server certificate for localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -keyout "$work/ca.key" -out "$work/ca.crt" -subj /CN=bench-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$work/tls.key" -out "$work/tls.csr" -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$work/ext"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
    -CAcreateserial -days 1 -extfile "$work/ext" -out "$work/tls.crt" 2>/dev/null

images=()
for i in $(seq 0 $((count - 1))); do
    digest=$(push_image "serve bench image $i" "$REGISTRY/serve-$i:v1")
    cosign_sign "$work/bench.key" "$REGISTRY/serve-$i@$digest"
    images+=("$REGISTRY/serve-$i:v1@$digest")
done
printf '{"keys":[{"name":"bench","publicKey":%s}]}' \
    "$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$work/bench.pub")" \
    >"$work/policy.json"

# The same trust as a set of 50 rules: rule i covers serve-i, so each image matches one rule
# and every request matches its image against all 50.
# One AdmissionReview per image, one per line, as serve-load sends them, for wrk.
python3 - "${images[@]}" >"$work/bodies" <<'PY'
import json, sys
for image in sys.argv[1:]:
    print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "load", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "operation": "CREATE", "object": {"spec": {"containers": [{"name": "app", "image": image}]}}}},
        separators=(",", ":")))
PY
generator=serve-load
command -v wrk >/dev/null && generator=wrk

python3 - "$work/bench.pub" "$REGISTRY" >"$work/set.json" <<'PY'
import json, sys
key = open(sys.argv[1]).read()
rules = [{"name": f"team-{i}", "images": [f"{sys.argv[2]}/serve-{i}:*", f"{sys.argv[2]}/serve-{i}@*"],
          "policy": {"keys": [{"name": "bench", "publicKey": key}]}} for i in range(50)]
print(json.dumps({"rules": rules}))
PY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
metric() { curl -fsS "http://127.0.0.1:$health/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

results=()
for mode in uncached cached cached-set; do
    port=$(free_port) health=$(free_port)
    ttl=10m
    [ "$mode" = uncached ] && ttl=0
    policy="$work/policy.json"
    [ "$mode" = cached-set ] && policy="$work/set.json"
    /usr/bin/time -f '%M' -o "$work/peak" "$ocisig" serve --listen "127.0.0.1:$port" \
        --health-listen "127.0.0.1:$health" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" \
        --policy "$policy" --insecure-registry "$REGISTRY" --cache-ttl "$ttl" \
        2>"$work/serve.log" &
    server_pid=$!
    for _ in $(seq 1 200); do
        curl -fsS "http://127.0.0.1:$health/readyz" >/dev/null 2>&1 && break
        sleep 0.05
    done
    base="https://localhost:$port"
    if [ "$mode" != uncached ]; then
        "$load" "$base" "$work/ca.crt" "$count" 8 "${images[@]}" >/dev/null
    fi
    before=$(metric ocisig_serve_registry_requests_total)
    if [ "$generator" = wrk ]; then
        # uncached: about 10 s; cached: long enough for REQUESTS many times over.
        seconds=10
        [ "$mode" = uncached ] || seconds=5
        result=$(BODIES="$work/bodies" wrk -t2 -c"$concurrency" -d"${seconds}s" --timeout 10s \
            -s "$here/benches/serve-wrk.lua" "$base" | grep '^{')
        result=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(concurrency=int(sys.argv[2]), images=int(sys.argv[3]), generator="wrk"); print(json.dumps(r))' \
            "$result" "$concurrency" "$count")
    else
        result=$("$load" "$base" "$work/ca.crt" "$requests" "$concurrency" "${images[@]}")
        result=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(generator="serve-load"); print(json.dumps(r))' "$result")
    fi
    after=$(metric ocisig_serve_registry_requests_total)
    # SIGTERM to the server itself (the child of /usr/bin/time), which then reports its peak.
    pkill -TERM -P "$server_pid"
    wait "$server_pid" || true
    server_pid=
    peak=$(tail -n1 "$work/peak")
    per_image=$(echo "($after - $before) / $count" | bc -l)
    line=$(python3 - "$result" "$mode" "$per_image" "$peak" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
per_image = float(sys.argv[3])
r.update(mode=sys.argv[2], registryRequestsPerImage=round(per_image, 2),
         registryRequestsPerRequest=round(per_image * r["images"] / r["requests"], 3),
         serverPeakKiB=int(sys.argv[4]))
print(json.dumps(r))
PY
)
    printf '%-10s %6d requests (%s) over %d images at %d: %7.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %d errors  %5.2f registry requests/image  peak %d MiB\n' \
        "$mode" "$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')" \
        "$generator" "$count" "$concurrency" \
        "$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requestsPerSecond"])')" \
        "$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["p50Ms"])')" \
        "$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["p99Ms"])')" \
        "$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["errors"])')" \
        "$per_image" $((peak / 1024))
    results+=("$line")
done
(IFS=,; echo "[${results[*]}]") >"$out"
