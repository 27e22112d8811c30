# Shell helpers for scripts that need a throwaway local registry and cosign keys.
# Source it; it defines functions and touches nothing until they are called.

# start_registry DIR [PORT]: starts Debian's docker-registry on 127.0.0.1 (a free port unless
# PORT is given) with storage under DIR, waits until it answers, and sets REGISTRY (host:port)
# and REGISTRY_PID.
start_registry() {
    local dir=$1 port=${2:-}
    mkdir -p "$dir/storage"
    [ -n "$port" ] || port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    cat >"$dir/config.yml" <<CFG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CFG
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    REGISTRY_PID=$!
    REGISTRY=127.0.0.1:$port
    for _ in $(seq 1 100); do
        if curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "docker-registry did not start; log:" >&2
    cat "$dir/registry.log" >&2
    return 1
}

# make_image_layout DIR TEXT: writes a one-layer OCI image layout (tag "latest") whose only
# file holds TEXT. Deterministic: the same TEXT gives the same digest.
make_image_layout() {
    python3 - "$1" "$2" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out, text = sys.argv[1], sys.argv[2].encode()
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    info = tarfile.TarInfo("hello.txt"); info.size = len(text); info.mtime = 0
    tar.addfile(info, io.BytesIO(text))
layer_tar = raw.getvalue()
layer = put(gzip.compress(layer_tar, mtime=0))
config = put(json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"Cmd": ["/hello.txt"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]}},
    separators=(",", ":")).encode())
manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **config),
    "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **layer)]},
    separators=(",", ":")).encode())
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [dict(mediaType="application/vnd.oci.image.manifest.v1+json",
        annotations={"org.opencontainers.image.ref.name": "latest"}, **manifest)]}, f)
print(manifest["digest"])
PY
}

# push_image TEXT REF: builds a one-layer image holding TEXT, pushes it to REF over plain HTTP
# and prints its manifest digest.
push_image() {
    local layout
    layout=$(mktemp -d)
    local digest
    digest=$(make_image_layout "$layout" "$1")
    skopeo copy --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$2" >&2
    rm -rf "$layout"
    echo "$digest"
}

# new_cosign_key PREFIX: writes PREFIX.key and PREFIX.pub with an empty password.
new_cosign_key() {
    COSIGN_PASSWORD= cosign generate-key-pair --output-key-prefix "$1" >/dev/null 2>&1
}

# cosign_sign KEY IMAGE@DIGEST [cosign sign flags...]: signs without the transparency log.
cosign_sign() {
    local key=$1 image=$2
    shift 2
    COSIGN_PASSWORD= cosign sign --key "$key" --tlog-upload=false --allow-http-registry \
        --allow-insecure-registry -y "$@" "$image" >/dev/null 2>&1
}

# push_kind KIND REGISTRY REPO TAG: pushes, over the distribution API in plain HTTP, one of
#   helm      a Helm chart as an OCI artifact (config application/vnd.cncf.helm.config.v1+json)
#   artifact  an OCI 1.1 artifact (artifactType, the empty config descriptor)
#   index     a two-platform image index (linux/amd64, linux/arm64), children by digest
#   index2    another two-platform index (other contents)
# to REGISTRY/REPO:TAG, and prints the top manifest's digest.
push_kind() {
    python3 - "$@" <<'PY'
import gzip, hashlib, io, json, sys, tarfile, urllib.request
kind, registry, repo, tag = sys.argv[1:5]
base = f"http://{registry}/v2/{repo}"
def digest_of(data): return "sha256:" + hashlib.sha256(data).hexdigest()
def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(req)
def blob(data, media_type):
    location = request("POST", f"{base}/blobs/uploads/").headers["Location"]
    if location.startswith("/"): location = f"http://{registry}{location}"
    sep = "&" if "?" in location else "?"
    request("PUT", f"{location}{sep}digest={digest_of(data)}", data,
            {"Content-Type": "application/octet-stream"})
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}
def manifest(document, ref):
    data = json.dumps(document, separators=(",", ":")).encode()
    request("PUT", f"{base}/manifests/{ref}", data, {"Content-Type": document["mediaType"]})
    return {"mediaType": document["mediaType"], "digest": digest_of(data), "size": len(data)}
def image(text, arch):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt"); info.size = len(text); info.mtime = 0
        tar.addfile(info, io.BytesIO(text))
    layer = blob(gzip.compress(raw.getvalue(), mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
    config = blob(json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers",
        "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]}}).encode(),
        "application/vnd.oci.image.config.v1+json")
    document = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": [layer]}
    data = json.dumps(document, separators=(",", ":")).encode()
    return manifest(document, digest_of(data))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
if kind == "helm":
    config = blob(json.dumps({"apiVersion": "v2", "name": "demo", "version": "0.1.0"}).encode(),
                  "application/vnd.cncf.helm.config.v1+json")
    chart = blob(gzip.compress(b"demo chart", mtime=0), "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
    top = manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [chart]}, tag)
elif kind == "artifact":
    empty = blob(b"{}", "application/vnd.oci.empty.v1+json")
    sbom = blob(json.dumps({"spdxVersion": "SPDX-2.3"}).encode(), "application/spdx+json")
    top = manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "artifactType": "application/spdx+json", "config": empty, "layers": [sbom]}, tag)
elif kind in ("index", "index2"):
    children = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        child = image(f"{kind} {arch}".encode(), arch)
        child["platform"] = {"os": "linux", "architecture": arch}
        if variant: child["platform"]["variant"] = variant
        children.append(child)
    top = manifest({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": children}, tag)
else:
    sys.exit(f"push_kind: unknown kind {kind}")
print(top["digest"])
PY
}

# referrers_op OP REGISTRY REPO DIGEST [SOURCE_DIGEST]: rewrites the referrers tag schema's
# index (tag sha256-<hex>) of REPO@DIGEST over the distribution API, in plain HTTP:
#   copy     lists the referrers of REPO@SOURCE_DIGEST under DIGEST's tag (bundles of another
#            image, copied in)
#   tamper   replaces DIGEST's referrers with one whose bundle's DSSE payload was changed (its
#            signature left as it was)
#   retype   replaces DIGEST's referrers with one whose layer is of another media type
referrers_op() {
    python3 - "$@" <<'PY'
import base64, hashlib, json, sys, urllib.request
op, registry, repo, digest = sys.argv[1:5]
base = f"http://{registry}/v2/{repo}"
INDEX = "application/vnd.oci.image.index.v1+json"
def digest_of(data): return "sha256:" + hashlib.sha256(data).hexdigest()
def request(method, url, data=None, headers=None):
    return urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers or {}))
def get_manifest(ref, accept):
    return request("GET", f"{base}/manifests/{ref}", headers={"Accept": accept}).read()
def put_manifest(ref, data, media_type):
    request("PUT", f"{base}/manifests/{ref}", data, {"Content-Type": media_type})
def put_blob(data):
    location = request("POST", f"{base}/blobs/uploads/").headers["Location"]
    if location.startswith("/"): location = f"http://{registry}{location}"
    sep = "&" if "?" in location else "?"
    request("PUT", f"{location}{sep}digest={digest_of(data)}", data, {"Content-Type": "application/octet-stream"})
def tag(d): return "sha256-" + d.split(":", 1)[1]
if op == "copy":
    source = sys.argv[5]
    put_manifest(tag(digest), get_manifest(tag(source), INDEX), INDEX)
elif op in ("tamper", "retype"):
    index = json.loads(get_manifest(tag(digest), INDEX))
    entry = index["manifests"][0]
    manifest = json.loads(get_manifest(entry["digest"], entry["mediaType"]))
    layer = manifest["layers"][0]
if op == "retype":
    layer["mediaType"] = "application/octet-stream"
    manifest_data = json.dumps(manifest, separators=(",", ":")).encode()
    put_manifest(digest_of(manifest_data), manifest_data, manifest["mediaType"])
    entry["digest"], entry["size"] = digest_of(manifest_data), len(manifest_data)
    put_manifest(tag(digest), json.dumps(index, separators=(",", ":")).encode(), INDEX)
elif op == "tamper":
    bundle = json.loads(request("GET", f"{base}/blobs/{layer['digest']}").read())
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload.replace(b"{}", b'{"x":1}', 1)).decode()
    data = json.dumps(bundle).encode()
    put_blob(data)
    layer["digest"], layer["size"] = digest_of(data), len(data)
    manifest_data = json.dumps(manifest, separators=(",", ":")).encode()
    put_manifest(digest_of(manifest_data), manifest_data, manifest["mediaType"])
    entry["digest"], entry["size"] = digest_of(manifest_data), len(manifest_data)
    put_manifest(tag(digest), json.dumps(index, separators=(",", ":")).encode(), INDEX)
elif op not in ("copy", "retype"):
    sys.exit(f"referrers_op: unknown op {op}")
PY
}

# att_op OP REGISTRY REPO DIGEST [ARG]: rewrites the legacy attestation tag sha256-<hex>.att of
# REPO@DIGEST, as an attacker with push access could:
#   copy SOURCE       puts SOURCE's .att manifest (another image's attestations) under it
#   annotate TYPE     sets the first layer's predicateType annotation to TYPE
att_op() {
    python3 - "$@" <<'PY'
import json, sys, urllib.request
op, registry, repo, digest, arg = sys.argv[1:6]
base = f"http://{registry}/v2/{repo}"
OCI = "application/vnd.oci.image.manifest.v1+json"
def tag(d): return "sha256-" + d.split(":", 1)[1] + ".att"
def get(ref):
    req = urllib.request.Request(f"{base}/manifests/{ref}", headers={"Accept": OCI})
    return urllib.request.urlopen(req).read()
def put(ref, data):
    req = urllib.request.Request(f"{base}/manifests/{ref}", data=data, method="PUT",
                                 headers={"Content-Type": OCI})
    urllib.request.urlopen(req).read()
if op == "copy":
    put(tag(digest), get(tag(arg)))
elif op == "annotate":
    manifest = json.loads(get(tag(digest)))
    manifest["layers"][0]["annotations"]["predicateType"] = arg
    put(tag(digest), json.dumps(manifest, separators=(",", ":")).encode())
else:
    sys.exit(f"att_op: unknown op {op}")
PY
}

# save_with_referrers REGISTRY REPO DIGEST DIR: writes an OCI image layout (image-layout 1.1)
# holding the image manifest REPO@DIGEST (tagged "v1") and the bundle referrers listed under its
# referrers tag, each referrer with its artifactType in index.json, and their blobs.
save_with_referrers() {
    python3 - "$@" <<'PY'
import hashlib, json, os, sys, urllib.request
registry, repo, digest, out = sys.argv[1:5]
base = f"http://{registry}/v2/{repo}"
def get(path, accept=None):
    req = urllib.request.Request(f"{base}/{path}", headers={"Accept": accept} if accept else {})
    return urllib.request.urlopen(req).read()
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d
OCI = "application/vnd.oci.image.manifest.v1+json"
image = get(f"manifests/{digest}", OCI)
assert put(image) == digest
entries = [{"mediaType": OCI, "digest": digest, "size": len(image),
            "annotations": {"org.opencontainers.image.ref.name": "v1"}}]
index = json.loads(get("manifests/sha256-" + digest.split(":")[1], "application/vnd.oci.image.index.v1+json"))
for entry in index["manifests"]:
    manifest = get(f"manifests/{entry['digest']}", OCI)
    put(manifest)
    document = json.loads(manifest)
    for blob in [document["config"]] + document["layers"]:
        put(get(f"blobs/{blob['digest']}"))
    entries.append({"mediaType": OCI, "digest": entry["digest"], "size": len(manifest),
                    "artifactType": document.get("artifactType")})
json.dump({"imageLayoutVersion": "1.0.0"}, open(f"{out}/oci-layout", "w"))
json.dump({"schemaVersion": 2, "manifests": entries}, open(f"{out}/index.json", "w"))
PY
}
