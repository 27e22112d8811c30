#!/usr/bin/env python3
"""Writes an ocisig evidence document for an image in a plain-HTTP registry.

A stand-in for `ocisig fetch` used to regenerate the bundled examples: it resolves the tag to a
digest by hashing the manifest bytes it received, fetches the cosign `.sig` manifest by tag and
each payload blob, and the Sigstore bundle referrers listed under the referrers tag
`sha256-<hex>` (the registries it is used with have no referrers API) with their bundles, and
checks every manifest and blob against its digest.

usage: fetch-evidence.py HOST:PORT/REPO[:TAG|@DIGEST] [--image NAME] > evidence.json
"""
import argparse, base64, hashlib, json, sys, urllib.error, urllib.request

ACCEPT = ",".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])

def get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise

def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("--image", help="the image name to record (default: REF)")
    args = ap.parse_args()
    name, _, digest = args.ref.partition("@")
    host, _, repo = name.partition("/")
    if ":" in repo.rsplit("/", 1)[-1]:
        repo, _, tag = repo.rpartition(":")
    else:
        tag = None
    base = f"http://{host}/v2/{repo}"
    manifest = get(f"{base}/manifests/{digest or tag or 'latest'}", ACCEPT)
    if manifest is None:
        sys.exit(f"no manifest for {args.ref}")
    if digest and sha256(manifest) != digest:
        sys.exit("registry served bytes that do not hash to the requested digest")
    digest = sha256(manifest)
    sig = get(f"{base}/manifests/sha256-{digest.split(':')[1]}.sig", ACCEPT)
    blobs = {}
    if sig is not None:
        for layer in json.loads(sig)["layers"]:
            blob = get(f"{base}/blobs/{layer['digest']}")
            if blob is None or len(blob) != layer["size"] or sha256(blob) != layer["digest"]:
                sys.exit(f"blob {layer['digest']} is missing or does not match its descriptor")
            blobs[layer["digest"]] = base64.b64encode(blob).decode()
    referrers = []
    listing = get(f"{base}/manifests/sha256-{digest.split(':')[1]}", "application/vnd.oci.image.index.v1+json")
    for entry in json.loads(listing)["manifests"] if listing is not None else []:
        referrer = get(f"{base}/manifests/{entry['digest']}", entry["mediaType"])
        if referrer is None or sha256(referrer) != entry["digest"]:
            sys.exit(f"referrer {entry['digest']} is missing or does not match its digest")
        layer = json.loads(referrer)["layers"][0]
        blob = get(f"{base}/blobs/{layer['digest']}")
        if blob is None or len(blob) != layer["size"] or sha256(blob) != layer["digest"]:
            sys.exit(f"bundle {layer['digest']} is missing or does not match its descriptor")
        blobs[layer["digest"]] = base64.b64encode(blob).decode()
        referrers.append(referrer.decode())
    document = {"image": args.image or args.ref, "digest": digest,
                "signatureManifest": None if sig is None else sig.decode(), "blobs": blobs}
    if referrers:
        document["referrers"] = referrers
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")

if __name__ == "__main__":
    main()
