// One OPA SDK instance, evaluated hundreds of times: OPA hosts (and Gatekeeper) keep an instance
// for days and reset its heap before every evaluation, so nothing the module keeps may depend
// on what an earlier evaluation left in memory (issue #14: a table cached in a static pointed
// into the reset heap, and later evaluations denied good signatures).
//
// The cases mix every committed example with fresh ones signed here by Node's own crypto for
// every key type the core accepts, several layers each (a key's second use builds its
// precomputed tables), with the policy changed between evaluations. Every verdict must equal,
// byte for byte, what `ocisig eval` gives for the same case in a fresh module.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import opa from "@open-policy-agent/opa-wasm";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
// OCISIG_OPA_WASM points the test at another build (to show it catches a regression).
const wasm = readFileSync(process.env.OCISIG_OPA_WASM ?? join(root, "dist", "ocisig-opa.wasm"));
const ocisig = process.env.OCISIG ?? join(root, "target", "release", "ocisig");
const ROUNDS = 12;

const sha256 = (bytes) => "sha256:" + createHash("sha256").update(bytes).digest("hex");
const buffer = (data) => data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);

/** The key types, each with how cosign signs with it. */
const KEY_TYPES = {
  p256: { generate: () => generateKeyPairSync("ec", { namedCurve: "P-256" }), hash: "sha256" },
  p384: { generate: () => generateKeyPairSync("ec", { namedCurve: "P-384" }), hash: "sha384" },
  p521: { generate: () => generateKeyPairSync("ec", { namedCurve: "P-521" }), hash: "sha512" },
  rsa: { generate: () => generateKeyPairSync("rsa", { modulusLength: 2048 }), hash: "sha256" },
  ed25519: { generate: () => generateKeyPairSync("ed25519"), hash: null },
};

function payload(image, digest, optional = null) {
  return Buffer.from(JSON.stringify({
    critical: {
      identity: { "docker-reference": image },
      image: { "docker-manifest-digest": digest },
      type: "cosign container image signature",
    },
    optional,
  }));
}

/** An evidence document whose `.sig` manifest has one layer per (signer, payload). */
function evidence(image, digest, layers) {
  const blobs = {};
  const descriptors = layers.map(({ key, hash, bytes, tamper }) => {
    const signature = sign(hash, bytes, key).toString("base64");
    const stored = tamper ? Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from(" ")]) : bytes;
    blobs[sha256(bytes)] = stored.toString("base64");
    return {
      mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
      size: bytes.length,
      digest: sha256(bytes),
      annotations: { "dev.cosignproject.cosign/signature": signature },
    };
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 2, digest: sha256(Buffer.from("{}")) },
    layers: descriptors,
  });
  return { image, digest, signatureManifest: manifest, blobs };
}

const pem = (pair) => pair.publicKey.export({ type: "spki", format: "pem" });

/** Cases signed here: for each key type, threshold met, threshold not met, wrong key, tampered. */
function signedCases() {
  const cases = [];
  for (const [type, { generate, hash }] of Object.entries(KEY_TYPES)) {
    const [a, b, c, stranger] = [generate(), generate(), generate(), generate()];
    const image = `registry.example/${type}/app:v1`;
    const digest = sha256(Buffer.from(`image ${type}`));
    const bytes = payload(image, digest);
    const keys = [["a", a], ["b", b], ["c", c]].map(([name, pair]) => ({ name, publicKey: pem(pair) }));
    const policy = (extra) => JSON.stringify({ keys, ...extra });
    const layer = (pair, extra = {}) => ({ key: pair.privateKey, hash, bytes, ...extra });
    cases.push(
      { name: `${type} two of three`, policy: policy({ threshold: 2 }),
        evidence: evidence(image, digest, [layer(stranger), layer(b), layer(c)]) },
      { name: `${type} required a missing`, policy: policy({ threshold: 2, required: ["a"] }),
        evidence: evidence(image, digest, [layer(b), layer(c), layer(b)]) },
      { name: `${type} wrong key`, policy: policy({}),
        evidence: evidence(image, digest, [layer(stranger), layer(stranger)]) },
      { name: `${type} tampered`, policy: policy({}),
        evidence: evidence(image, digest, [layer(a, { tamper: true }), layer(b, { tamper: true })]) },
      { name: `${type} other image`, policy: policy({ threshold: 3 }),
        evidence: evidence(image, sha256(Buffer.from("another")), [layer(a), layer(b), layer(c)]) },
    );
  }
  return cases;
}

function exampleCases() {
  return readdirSync(join(root, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, "examples", d.name, "evidence.json")))
    .map((d) => ({
      name: `example ${d.name}`,
      policy: readFileSync(join(root, "examples", d.name, "policy.json"), "utf8"),
      evidence: JSON.parse(readFileSync(join(root, "examples", d.name, "evidence.json"), "utf8")),
    }));
}

/** What `ocisig eval` (a fresh raw module in wasmtime) gives for each case. */
function expectedVerdicts(cases) {
  const dir = mkdtempSync(join(tmpdir(), "ocisig-long-lived-"));
  try {
    return cases.map((c, i) => {
      const policy = join(dir, `${i}.policy.json`);
      const evidenceFile = join(dir, `${i}.evidence.json`);
      writeFileSync(policy, c.policy);
      writeFileSync(evidenceFile, JSON.stringify(c.evidence));
      try {
        return execFileSync(ocisig, ["eval", "--policy", policy, "--evidence", evidenceFile], { encoding: "utf8" }).trim();
      } catch (err) {
        if (err.status === 1) return err.stdout.trim();
        throw err;
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases = [...exampleCases(), ...signedCases()];
const expected = expectedVerdicts(cases);

test("the cases cover every key type, verified and denied", () => {
  const reasons = new Set(expected.map((v) => JSON.parse(v).reason));
  for (const reason of ["verified", "threshold_not_met", "required_key_missing", "no_matching_signature",
    "payload_digest_mismatch", "claim_digest_mismatch", "no_signatures"]) {
    assert.ok(reasons.has(reason), `no case gives ${reason}: ${[...reasons]}`);
  }
  for (const type of Object.keys(KEY_TYPES)) {
    const verdict = JSON.parse(expected[cases.findIndex((c) => c.name === `${type} two of three`)]);
    assert.equal(verdict.reason, "verified", type);
  }
});

test("one SDK instance gives the fresh module's verdict on every evaluation", async () => {
  const policy = await opa.loadPolicy(wasm);
  let evaluations = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // A different order each round: rotated, and reversed every other round.
    const order = cases.map((_, i) => (i + round * 7) % cases.length);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      policy.setData(buffer(Buffer.from(cases[i].policy)));
      const input = Buffer.from(JSON.stringify(cases[i].evidence));
      const [{ result }] = policy.evaluate(buffer(input));
      assert.equal(JSON.stringify(result), expected[i], `round ${round}, ${cases[i].name}`);
      // The same policy again, without setData: the data document must be intact too.
      const [{ result: again }] = policy.evaluate(buffer(input), "ocisig/allow");
      assert.equal(again, JSON.parse(expected[i]).verified, `round ${round}, ${cases[i].name} (allow)`);
      evaluations += 2;
    }
  }
  assert.equal(evaluations, ROUNDS * cases.length * 2);
  console.log(`long-lived OPA instance: ${evaluations} evaluations over ${cases.length} cases agree`);
});
