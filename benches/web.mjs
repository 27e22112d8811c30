// `make bench`: the browser build (dist/web/pkg, built by `make web`) in Node's V8, the engine
// of chromium. Each call of `verify` reads the policy and evidence afresh, as the demo page
// does, so a call is a whole verdict: policy parse, evidence parse and a key's first
// verification. Medians of ROUNDS calls after a warm-up, one line per example; no goal, the
// numbers are reported beside the wasmtime ones.
//
// Usage: node benches/web.mjs OUT.json [ROUNDS]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const root = new URL('../', import.meta.url).pathname;
const pkg = `${root}dist/web/pkg`;
const [out, rounds = '30'] = process.argv.slice(2);
if (!existsSync(`${pkg}/ocisig_web.js`)) {
  console.error('web bench skipped: dist/web/pkg is missing (make web)');
  process.exit(0);
}
const { default: init, verify } = await import(`${pkg}/ocisig_web.js`);
await init({ module_or_path: readFileSync(`${pkg}/ocisig_web_bg.wasm`) });

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = {};
console.log(`browser build in Node ${process.version} (V8), ${rounds} calls, medians:`);
for (const [example, what] of [
  ['signed', 'a .sig image signature, ECDSA P-256'],
  ['bundle', 'a cosign v3 bundle, ECDSA P-256'],
]) {
  const policy = readFileSync(`${root}examples/${example}/policy.json`, 'utf8');
  const evidence = readFileSync(`${root}examples/${example}/evidence.json`, 'utf8');
  const first = verify(policy, evidence);
  if (!first.verified) throw new Error(`examples/${example} does not verify: ${JSON.stringify(first)}`);
  for (let i = 0; i < 3; i++) verify(policy, evidence);
  const times = [];
  for (let i = 0; i < Number(rounds); i++) {
    const start = process.hrtime.bigint();
    verify(policy, evidence);
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  results[example] = { micros: median(times), what };
  console.log(`  ${example.padEnd(8)} ${median(times).toFixed(0).padStart(8)} us  (${what})`);
}
if (out) writeFileSync(out, JSON.stringify({ node: process.version, rounds: Number(rounds), examples: results }));
