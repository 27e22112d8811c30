// dist/ocisig-opa.wasm loaded by OPA's own JavaScript SDK (@open-policy-agent/opa-wasm), as
// any OPA host would, and compared with `ocisig eval` (the raw module in wasmtime, itself
// checked byte for byte against the native core by the Rust harness).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import opa from "@open-policy-agent/opa-wasm";
import { attestedEvidence } from "../fixtures/attested.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const wasm = readFileSync(join(root, "dist", "ocisig-opa.wasm"));
const ocisig = process.env.OCISIG ?? join(root, "target", "release", "ocisig");
const examples = readdirSync(join(root, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, "examples", d.name, "evidence.json")))
  .map((d) => d.name);

const bytes = (path) => readFileSync(path);
const buffer = (data) => data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
const example = (name, file) => bytes(join(root, "examples", name, file));

/** The verdict `ocisig eval` prints (exit 1 is a denial, not a failure). */
function shimVerdict(name) {
  const args = ["eval", "--policy", join(root, "examples", name, "policy.json"),
    "--evidence", join(root, "examples", name, "evidence.json")];
  try {
    return execFileSync(ocisig, args, { encoding: "utf8" }).trim();
  } catch (err) {
    if (err.status === 1) return err.stdout.trim();
    throw err;
  }
}

test("the module has OPA's shape: imports env.memory only, ABI 1.3 globals", async () => {
  const module = await WebAssembly.compile(wasm);
  assert.deepEqual(WebAssembly.Module.imports(module), [{ module: "env", name: "memory", kind: "memory" }]);
  const exports = WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`);
  for (const name of ["eval", "builtins", "entrypoints", "opa_eval_ctx_new", "opa_eval_ctx_set_input",
    "opa_eval_ctx_set_data", "opa_eval_ctx_set_entrypoint", "opa_eval_ctx_get_result", "opa_malloc",
    "opa_free", "opa_json_parse", "opa_value_parse", "opa_json_dump", "opa_value_dump", "opa_heap_ptr_get",
    "opa_heap_ptr_set", "opa_value_add_path", "opa_value_remove_path", "opa_eval", "opa_value_free",
    "opa_heap_blocks_stash", "opa_heap_blocks_restore", "opa_heap_stash_clear"]) {
    assert.ok(exports.includes(`${name}:function`), name);
  }
  assert.ok(exports.includes("memory:memory"));
  const policy = await opa.loadPolicy(wasm);
  assert.equal(policy.wasmInstance.exports.opa_wasm_abi_version.value, 1);
  assert.equal(policy.wasmInstance.exports.opa_wasm_abi_minor_version.value, 3);
  assert.deepEqual(policy.entrypoints, { "ocisig/verify": 0, "ocisig/allow": 1 });
});

test("every example gives the verdict `ocisig eval` gives, byte for byte", async () => {
  const policy = await opa.loadPolicy(wasm);
  assert.ok(examples.length >= 9, examples.join(","));
  for (const name of examples) {
    const expected = shimVerdict(name);
    policy.setData(buffer(example(name, "policy.json")));
    const [{ result }] = policy.evaluate(buffer(example(name, "evidence.json")));
    assert.equal(JSON.stringify(result), expected, name);
    const reason = example(name, "expected-reason").toString().trim();
    assert.equal(result.reason, reason, name);
    const [{ result: allowed }] = policy.evaluate(buffer(example(name, "evidence.json")), "ocisig/allow");
    assert.equal(allowed, reason === "verified", name);
  }
});

test("the context path (ABI 1.0 hosts) agrees with the one-shot path", async () => {
  const policy = await opa.loadPolicy(wasm);
  policy.minorVersion = 1; // make the SDK use opa_eval_ctx_* instead of opa_eval
  for (const name of examples) {
    policy.setData(buffer(example(name, "policy.json")));
    const [{ result }] = policy.evaluate(JSON.parse(example(name, "evidence.json")));
    assert.equal(JSON.stringify(result), shimVerdict(name), name);
  }
});

test("Rego-value results are the set {{\"result\": ...}}", async () => {
  const policy = await opa.loadPolicy(wasm);
  policy.setData(buffer(example("signed", "policy.json")));
  const exports = policy.wasmInstance.exports;
  const input = example("signed", "evidence.json");
  const memory = new Uint8Array(policy.mem.buffer);
  const at = policy.dataHeapPtr;
  memory.set(input, at);
  const address = exports.opa_eval(0, 1, policy.dataAddr, at, input.byteLength, at + input.byteLength, 1);
  const view = new Uint8Array(policy.mem.buffer);
  const end = view.indexOf(0, address);
  assert.equal(new TextDecoder().decode(view.subarray(address, end)), '{{"result":true}}');
});

test("many evaluations with setData changes in between: no growth, no corruption", async () => {
  const policy = await opa.loadPolicy(wasm);
  const cases = examples.map((name) => [name, buffer(example(name, "policy.json")),
    buffer(example(name, "evidence.json")), shimVerdict(name)]);
  let sizeAfterWarmup = 0;
  for (let round = 0; round < 40; round++) {
    for (const [name, data, input, expected] of cases) {
      policy.setData(data);
      const [{ result }] = policy.evaluate(input);
      assert.equal(JSON.stringify(result), expected, `${name}, round ${round}`);
    }
    if (round === 2) sizeAfterWarmup = policy.mem.buffer.byteLength;
  }
  assert.equal(policy.mem.buffer.byteLength, sizeAfterWarmup, "memory grew after warm-up");
});

test("a 1 MiB evidence document is evaluated", async () => {
  const policy = await opa.loadPolicy(wasm);
  policy.setData(buffer(example("signed", "policy.json")));
  const evidence = JSON.parse(example("signed", "evidence.json"));
  // An extra blob the manifest does not name: ignored by the checks, but it makes the
  // document 1 MiB.
  const filler = Buffer.alloc(768 * 1024, 7);
  evidence.blobs["sha256:" + createHash("sha256").update(filler).digest("hex")] = filler.toString("base64");
  const text = JSON.stringify(evidence);
  assert.ok(text.length > 1024 * 1024);
  const [{ result }] = policy.evaluate(buffer(Buffer.from(text)));
  assert.equal(result.reason, "verified", result.message);
});

test("malformed input is a clean denial, malformed data a clean error", async () => {
  const policy = await opa.loadPolicy(wasm);
  policy.setData(buffer(example("signed", "policy.json")));
  const [{ result }] = policy.evaluate(buffer(Buffer.from('{"image": "x", "dig')));
  assert.equal(result.verified, false);
  assert.equal(result.reason, "invalid_evidence");
  assert.throws(() => policy.setData(buffer(Buffer.from("{not json"))));
  // After an error the module still works.
  policy.setData(buffer(example("signed", "policy.json")));
  const [{ result: again }] = policy.evaluate(buffer(example("signed", "evidence.json")));
  assert.equal(again.reason, "verified");
  // No data at all: the empty policy is refused, never allowed.
  const fresh = await opa.loadPolicy(wasm);
  const [{ result: noPolicy }] = fresh.evaluate(buffer(example("signed", "evidence.json")));
  assert.equal(noPolicy.reason, "invalid_policy");
});

test("a bundle-style data tree holds the policy at data.ocisig.policy", async () => {
  const policy = await opa.loadPolicy(wasm);
  const inner = JSON.parse(example("signed", "policy.json"));
  policy.setData({ ocisig: { policy: inner }, other: { team: "web" } });
  const [{ result }] = policy.evaluate(buffer(example("signed", "evidence.json")));
  assert.equal(result.reason, "verified");
  policy.setData({ ocisig: {} });
  const [{ result: missing }] = policy.evaluate(buffer(example("signed", "evidence.json")));
  assert.equal(missing.reason, "invalid_policy");
});

test("opa_value_add_path and opa_value_remove_path edit the data document", async () => {
  const policy = await opa.loadPolicy(wasm);
  const e = policy.wasmInstance.exports;
  const load = (value) => {
    const text = new TextEncoder().encode(JSON.stringify(value));
    const address = e.opa_malloc(text.length);
    new Uint8Array(policy.mem.buffer).set(text, address);
    return e.opa_json_parse(address, text.length);
  };
  const dump = (value) => {
    const address = e.opa_json_dump(value);
    const view = new Uint8Array(policy.mem.buffer);
    return JSON.parse(new TextDecoder().decode(view.subarray(address, view.indexOf(0, address))));
  };
  const base = load({ a: 1 });
  assert.equal(e.opa_value_add_path(base, load(["ocisig", "policy"]), load({ threshold: 2 })), 0);
  assert.deepEqual(dump(base), { a: 1, ocisig: { policy: { threshold: 2 } } });
  assert.equal(e.opa_value_remove_path(base, load(["ocisig", "policy"])), 0);
  assert.deepEqual(dump(base), { a: 1, ocisig: {} });
  assert.notEqual(e.opa_value_add_path(base, load("not a path"), load(1)), 0);
  // Addresses that are not values are refused, not dereferenced blindly.
  assert.equal(e.opa_json_dump(12345), 0);
  assert.equal(e.opa_json_parse(0x7ffffff0, 64), 0);
});

test("an attestation rule's verified statements come out through the SDK, as `ocisig eval` gives them", async () => {
  const predicate = { runDetails: { builder: { id: "https://github.com/org/builder@v1" } } };
  const made = attestedEvidence({ predicate });
  const evidence = Buffer.from(JSON.stringify(made.evidence));
  const policyDocument = Buffer.from(JSON.stringify({
    attestations: [{
      name: "provenance", predicateType: "slsaprovenance1",
      keys: [{ name: "builder", publicKey: made.publicKey }],
      conditions: { "/runDetails/builder/id": { prefix: "https://github.com/org/" } },
    }],
  }));
  const policy = await opa.loadPolicy(wasm);
  policy.setData(buffer(policyDocument));
  const [{ result }] = policy.evaluate(buffer(evidence));
  assert.equal(result.reason, "verified", result.message);
  assert.equal(result.statements.length, 1);
  assert.equal(result.statements[0].signer, "builder");
  assert.deepEqual(result.statements[0].predicate, predicate);
  const [{ result: allowed }] = policy.evaluate(buffer(evidence), "ocisig/allow");
  assert.equal(allowed, true);
  // The same bytes as the shim's verdict.
  const dir = mkdtempSync(join(tmpdir(), "ocisig-opa-att-"));
  writeFileSync(join(dir, "policy.json"), policyDocument);
  writeFileSync(join(dir, "evidence.json"), evidence);
  const shim = execFileSync(ocisig, ["eval", "--policy", join(dir, "policy.json"),
    "--evidence", join(dir, "evidence.json")], { encoding: "utf8" }).trim();
  assert.equal(JSON.stringify(result), shim);
  // A condition that fails: denied, and no statement is handed over.
  const strict = JSON.parse(policyDocument);
  strict.attestations[0].conditions["/runDetails/builder/id"] = { equals: "https://github.com/other/b@v1" };
  policy.setData(strict);
  const [{ result: denied }] = policy.evaluate(buffer(evidence));
  assert.equal(denied.reason, "condition_not_met");
  assert.equal(denied.statements, undefined);
});

/** What `ocisig eval` decides for a policy file and an evidence file (exit 1 is a denial). */
function shimEval(policyPath, evidencePath) {
  try {
    return execFileSync(ocisig, ["eval", "--policy", policyPath, "--evidence", evidencePath],
      { encoding: "utf8" }).trim();
  } catch (err) {
    if (err.status === 1) return err.stdout.trim();
    throw err;
  }
}

test("a policy set as the data: the set verdict `ocisig eval` gives, rule by rule", async () => {
  const policy = await opa.loadPolicy(wasm);
  const setPath = join(root, "examples", "policy-set", "set.json");
  const set = JSON.parse(readFileSync(setPath));
  const dir = mkdtempSync(join(tmpdir(), "ocisig-opa-set-"));
  const signed = JSON.parse(example("signed", "evidence.json"));
  const cases = [
    ["signed", signed, true, "verified"],
    ["unsigned", JSON.parse(example("unsigned", "evidence.json")), false, "no_signatures"],
    ["elsewhere", { ...signed, image: "quay.io/someone/else:v1" }, false, "unmatched_image"],
    ["mirror", { ...signed, image: "registry.k8s.io/pause:3.9" }, true, "verified"],
  ];
  for (const [name, evidence, allowed, reason] of cases) {
    const evidencePath = join(dir, `${name}.json`);
    writeFileSync(evidencePath, JSON.stringify(evidence));
    for (const data of [set, { ocisig: { policy: set } }]) {
      policy.setData(data);
      const [{ result }] = policy.evaluate(evidence);
      // The binary adds the module's verdicts up with the same core code: the same decision.
      assert.deepEqual(result, JSON.parse(shimEval(setPath, evidencePath)), name);
      assert.equal(result.allowed, allowed, name);
      assert.equal(result.reason, reason, name);
      const [{ result: allow }] = policy.evaluate(evidence, "ocisig/allow");
      assert.equal(allow, allowed, name);
    }
  }
  // The rule that decided is named.
  policy.setData(set);
  const [{ result }] = policy.evaluate(JSON.parse(example("unsigned", "evidence.json")));
  assert.match(result.message, /^rule "demo": /);
  assert.equal(result.rules[0].name, "demo");
  assert.equal(result.rules[0].verdict.reason, "no_signatures");
});
