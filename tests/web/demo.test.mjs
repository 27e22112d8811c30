// The demo page (dist/web, built by `make web`) in Debian's chromium, driven by playwright-core:
// every example shows its verdict, a changed payload byte turns the verdict, and the page asks
// nothing of any origin but its own. Skips without chromium unless CI is set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { serve } from '../../web/serve.mjs';
import { attestedEvidence } from '../fixtures/attested.mjs';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = new URL('../../', import.meta.url).pathname;
const DIST = `${ROOT}dist/web`;
const SHOTS = `${process.env.CARGO_TARGET_DIR || `${ROOT}target`}/web`;

const missing = [CHROMIUM, `${DIST}/index.html`].filter((path) => !existsSync(path));
if (missing.length && process.env.CI) throw new Error(`CI is set but ${missing.join(', ')} missing`);
const skip = missing.length ? `missing ${missing.join(', ')} (apt-get install chromium; make web)` : false;

let server;
let browser;
let origin;

before(async () => {
  if (skip) return;
  server = await serve(DIST);
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A fresh page at the demo, with every request it makes recorded. */
async function openDemo(viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const requests = [];
  const problems = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  await page.goto(`${origin}/`);
  await page.waitForSelector('body[data-ready=true]');
  return { page, requests, problems };
}

async function loadExample(page, name) {
  await page.click(`[data-example="${name}"]`);
  await page.waitForFunction(
    () => ['verified', 'denied'].includes(document.getElementById('banner').dataset.state),
  );
  const banner = page.locator('#banner');
  // Reset the marker so that the next example waits for its own verdict.
  const state = await banner.getAttribute('data-state');
  const reason = await banner.getAttribute('data-reason');
  const text = await banner.innerText();
  await page.evaluate(() => { document.getElementById('banner').dataset.state = 'idle'; });
  return { state, reason, text };
}

const EXAMPLES = {
  signed: ['verified', 'verified'],
  threshold: ['verified', 'verified'],
  tampered: ['denied', 'no_matching_signature'],
  'wrong-key': ['denied', 'no_matching_signature'],
  'other-image': ['denied', 'claim_digest_mismatch'],
  bundle: ['verified', 'verified'],
  'mixed-formats': ['verified', 'verified'],
  keyless: ['verified', 'verified'],
};

test('each example shows the verdict the core gives, in words and not only colour', { skip }, async () => {
  const { page, requests, problems } = await openDemo();
  for (const [name, [state, reason]] of Object.entries(EXAMPLES)) {
    const expected = readFileSync(`${ROOT}examples/${name}/expected-reason`, 'utf8').trim();
    assert.equal(reason, expected, `${name}: the table agrees with examples/`);
    const shown = await loadExample(page, name);
    assert.equal(shown.state, state, name);
    assert.equal(shown.reason, reason, name);
    assert.match(shown.text, state === 'verified' ? /✓ Verified/ : new RegExp(`✗ Not verified: ${reason}`), name);
  }
  assert.deepEqual(problems, []);
  assert.ok(requests.every((url) => url.startsWith(`${origin}/`)), requests.join('\n'));
  await page.close();
});

test('the layer view marks each check and highlights the claimed digest', { skip }, async () => {
  const { page } = await openDemo();
  await loadExample(page, 'other-image');
  const layer = page.locator('.layer').first();
  const states = await layer.locator('.check').evaluateAll((items) => items.map((i) => i.dataset.state));
  // Media type … signature verify … payload parse pass; the claim fails; the rest do not run.
  assert.deepEqual(states.slice(0, 10), Array(10).fill('passed'));
  assert.equal(states[10], 'failed');
  assert.ok(states.slice(11).every((s) => s === 'skipped'));
  assert.match(await layer.locator('.check.failed').innerText(), /copied onto this one/);
  assert.equal(await layer.locator('mark.claim.bad').count(), 1);

  await loadExample(page, 'threshold');
  assert.ok(await page.locator('.layer[data-status=verified]').count() >= 2);
  assert.equal(await page.locator('#keys .key').count(), 3);
  await page.close();
});

test('changing one payload byte makes the signature fail', { skip }, async () => {
  const { page, requests } = await openDemo();
  await loadExample(page, 'signed');
  const layer = page.locator('.layer').first();
  await layer.locator('summary', { hasText: 'Edit this payload' }).click();
  const editor = layer.locator('textarea.tamper');
  const payload = await editor.inputValue();
  const at = payload.indexOf('sha256:') + 7;
  const flipped = payload[at] === 'a' ? 'b' : 'a';
  await editor.fill(payload.slice(0, at) + flipped + payload.slice(at + 1));
  await layer.getByRole('button', { name: 'Verify with this payload' }).click();
  await page.waitForFunction(() => document.getElementById('banner').dataset.state === 'denied');
  assert.equal(await page.locator('#banner').getAttribute('data-reason'), 'payload_digest_mismatch');
  assert.match(await page.locator('.check.failed').first().innerText(), /altered/);
  assert.ok(requests.every((url) => url.startsWith(`${origin}/`)), requests.join('\n'));
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/demo-tampered.png`, fullPage: true });
  await page.close();
});

test('keys are described as they are pasted, and parts build evidence', { skip }, async () => {
  const { page } = await openDemo();
  const pem = readFileSync(`${ROOT}examples/keys/alice.pub`, 'utf8');
  await page.locator('#keys textarea').first().fill(pem);
  assert.match(await page.locator('.key-info').first().innerText(), /ECDSA P-256 · ecdsa-p256 · fingerprint sha256:/);
  await page.locator('#keys input').first().fill('alice');

  const evidence = JSON.parse(readFileSync(`${ROOT}examples/signed/evidence.json`, 'utf8'));
  await page.getByRole('tab', { name: 'Manifest and payloads' }).click();
  await page.getByLabel('Image reference').fill(evidence.image);
  await page.getByLabel('Image digest').fill(evidence.digest);
  await page.getByLabel(/manifest/).fill(evidence.signatureManifest);
  const payloads = Object.values(evidence.blobs).map((b64) => Buffer.from(b64, 'base64').toString());
  await page.getByLabel(/Payloads/).fill(payloads.join('\n'));
  await page.getByRole('button', { name: 'Use these parts' }).click();
  await page.waitForFunction(() => document.getElementById('banner').dataset.state === 'verified');
  await page.close();
});

test('works on a narrow screen with the keyboard alone', { skip }, async () => {
  const { page } = await openDemo({ width: 375, height: 800 });
  // Tab to the first example button and press Enter.
  let focused = '';
  for (let i = 0; i < 10 && focused !== 'signed'; i += 1) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.dataset?.example ?? '');
  }
  assert.equal(focused, 'signed');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('banner').dataset.state === 'verified');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input, textarea')]
    .filter((input) => !input.labels?.length && !input.getAttribute('aria-label'))
    .map((input) => input.id || input.outerHTML.slice(0, 60)));
  assert.deepEqual(unlabeled, []);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/demo-narrow.png`, fullPage: true });
  await page.close();
});

// A real keyless `.sig` signature (connaisseur's, read from ../shared/vectors, never copied
// here) under a policy file with an identity and Sigstore's production trusted root: the page
// lists the identity and marks each certificate check; another identity fails at the last.
const VECTORS = `${ROOT}../shared/vectors`;
const vectorsMissing = !existsSync(VECTORS);
if (vectorsMissing && process.env.CI) throw new Error(`CI is set but ${VECTORS} is missing`);

test('a keyless signature shows each certificate check', { skip: skip || (vectorsMissing && `missing ${VECTORS}`) }, async () => {
  const testimage = `${VECTORS}/connaisseur/test/testdata/cosign/securesystemsengineering/testimage`;
  const digest = 'sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee';
  const payloadDigest = 'sha256:897d9e862b4599b723442f36ed7b4cfd1628bb7656643c56855988cac161d065';
  const evidence = {
    image: 'index.docker.io/phbelitz/rekor-test:latest',
    digest,
    signatureManifest: readFileSync(`${testimage}/manifests/sha256-${digest.slice(7)}.sig.json`, 'utf8'),
    blobs: { [payloadDigest]: readFileSync(`${testimage}/blobs/${payloadDigest}.json`).toString('base64') },
  };
  const trustedRoot = JSON.parse(readFileSync(`${VECTORS}/sigstore-trust-roots/production_trusted_root.sigstore-python.json`, 'utf8'));
  const policyFor = (subject) => JSON.stringify({
    identities: [{ name: 'philipp', issuer: 'https://github.com/login/oauth', subject }],
    trustedRoot,
  });
  const { page, problems } = await openDemo();
  const verifyWith = async (subject) => {
    await page.setInputFiles('#policy-file', { name: 'policy.json', mimeType: 'application/json', buffer: Buffer.from(policyFor(subject)) });
    await page.waitForFunction(() => document.getElementById('identities').textContent.includes('philipp'));
    await page.fill('#evidence', JSON.stringify(evidence));
    await page.evaluate(() => { document.getElementById('banner').dataset.state = 'idle'; });
    await page.click('#verify');
    await page.waitForFunction(() => ['verified', 'denied'].includes(document.getElementById('banner').dataset.state));
    const layer = page.locator('section.layer').first();
    const keyless = layer.locator('ol.checks').nth(1);
    return {
      state: await page.locator('#banner').getAttribute('data-state'),
      reason: await page.locator('#banner').getAttribute('data-reason'),
      checks: await keyless.locator('.check').evaluateAll((items) => items.map((i) => i.dataset.state)),
    };
  };
  const good = await verifyWith('philipp.belitz@securesystems.de');
  assert.equal(good.state, 'verified');
  assert.equal(good.checks.length, 8);
  assert.ok(good.checks.every((state) => state === 'passed'), good.checks.join());
  const other = await verifyWith('bob@gmail.com');
  assert.equal(other.reason, 'identity_mismatch');
  assert.deepEqual(other.checks, [...Array(7).fill('passed'), 'failed']);
  assert.deepEqual(problems, []);
  await page.close();
});

// An attestation rule: after the provenance verifies, the page shows the decoded statement;
// under a condition it fails, the statement is not shown as verified.
test('an attestation shows its decoded statement once it verifies', { skip }, async () => {
  const { evidence, publicKey } = attestedEvidence();
  const policyWith = (builder) => Buffer.from(JSON.stringify({
    attestations: [{
      name: 'provenance',
      predicateType: 'slsaprovenance1',
      keys: [{ name: 'builder-key', publicKey }],
      conditions: { '/runDetails/builder/id': { prefix: builder } },
    }],
  }));
  const { page, problems } = await openDemo();
  const verifyWith = async (builder) => {
    await page.setInputFiles('#policy-file', { name: 'policy.json', mimeType: 'application/json', buffer: policyWith(builder) });
    await page.waitForFunction((b) => document.getElementById('identities').textContent.includes(b), builder);
    await page.fill('#evidence', JSON.stringify(evidence));
    await page.evaluate(() => { document.getElementById('banner').dataset.state = 'idle'; });
    await page.click('#verify');
    await page.waitForFunction(() => ['verified', 'denied'].includes(document.getElementById('banner').dataset.state));
    return {
      reason: await page.locator('#banner').getAttribute('data-reason'),
      statements: await page.locator('section.statement').count(),
    };
  };
  const good = await verifyWith('https://github.com/org/');
  assert.equal(good.reason, 'verified');
  assert.equal(good.statements, 1);
  const statement = page.locator('section.statement');
  assert.match(await statement.innerText(), /https:\/\/slsa\.dev\/provenance\/v1/);
  assert.match(await statement.locator('pre.predicate').innerText(), /"id": "https:\/\/github\.com\/org\/builder@v1"/);
  assert.match(await page.locator('#identities').innerText(), /provenance: a slsaprovenance1 statement signed by builder-key/);
  const other = await verifyWith('https://github.com/other/');
  assert.equal(other.reason, 'condition_not_met');
  assert.equal(other.statements, 0);
  assert.match(await page.locator('section.layer[data-status=condition_not_met]').innerText(), /runDetails\/builder\/id/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a policy set decides the evidence by the rules its image matches', { skip }, async () => {
  const { page, requests, problems } = await openDemo();
  await loadExample(page, 'signed');
  await page.click('#load-set');
  await page.waitForFunction(() => document.getElementById('set').value.includes('"rules"'));
  const decide = async (image) => {
    await page.fill('#set-image', image);
    await page.evaluate(() => { document.getElementById('set-banner').dataset.state = 'idle'; });
    await page.click('#decide');
    await page.waitForFunction(
      () => ['verified', 'denied'].includes(document.getElementById('set-banner').dataset.state),
    );
    return {
      state: await page.locator('#set-banner').getAttribute('data-state'),
      reason: await page.locator('#set-banner').getAttribute('data-reason'),
      rules: await page.locator('#set-rules li').allInnerTexts(),
    };
  };
  // The example's own image: the "demo" rule trusts alice, who signed it.
  const own = await decide('127.0.0.1:5055/ocisig/demo:v1');
  assert.equal(own.state, 'verified');
  assert.equal(own.rules.length, 1);
  assert.match(own.rules[0], /^Rule "demo" \(enforce\): passed/);
  // A static rule, and an image no rule matches.
  const mirror = await decide('registry.k8s.io/pause:3.9');
  assert.equal(mirror.state, 'verified');
  assert.match(mirror.rules[0], /^Rule "kubernetes"/);
  const stranger = await decide('quay.io/someone/else:v1');
  assert.deepEqual([stranger.state, stranger.reason, stranger.rules], ['denied', 'unmatched_image', []]);
  // The vendor's rule is warn-only: alice is not the vendor's signer, yet the image is admitted.
  const vendor = await decide('quay.io/vendor/db:v1');
  assert.equal(vendor.state, 'verified');
  assert.match(await page.locator('#set-banner').innerText(), /Warning: rule "vendor"/);
  assert.deepEqual(problems, []);
  assert.ok(requests.every((url) => url.startsWith(origin)), requests.join(' '));
  await page.close();
});
