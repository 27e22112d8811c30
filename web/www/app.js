// The demo page: gathers evidence and a policy, runs the ocisig core (WebAssembly) in the
// page, and explains the verdict check by check. No network requests beyond this origin.
import init, { verify, decide, inspectKey, inspectEvidence, layerChecks, keylessChecks, buildEvidence } from './pkg/ocisig_web.js';

const $ = (id) => document.getElementById(id);
const CHECKS = [];
const KEYLESS_CHECKS = [];

// ---- small DOM helpers -------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') node.textContent = value;
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsText(file);
  });
}

function acceptDrops(target, onText) {
  target.addEventListener('dragover', (event) => { event.preventDefault(); target.classList.add('dragging'); });
  target.addEventListener('dragleave', () => target.classList.remove('dragging'));
  target.addEventListener('drop', async (event) => {
    event.preventDefault();
    target.classList.remove('dragging');
    const file = event.dataTransfer.files[0];
    if (file) onText(await readFile(file));
  });
}

// ---- keys --------------------------------------------------------------------------------
let keyCounter = 0;

function addKey(name = '', pem = '') {
  keyCounter += 1;
  const id = `key-${keyCounter}`;
  const nameInput = el('input', { id: `${id}-name`, type: 'text', value: name || `key${keyCounter}`, spellcheck: 'false' });
  const pemInput = el('textarea', { id: `${id}-pem`, rows: '4', spellcheck: 'false', class: 'drop pem' });
  pemInput.value = pem;
  const info = el('p', { class: 'key-info', 'aria-live': 'polite' });
  const remove = el('button', { type: 'button', class: 'small', text: 'Remove' });
  const item = el('li', { class: 'key' },
    el('label', { for: `${id}-name`, text: 'Name' }), nameInput,
    el('label', { for: `${id}-pem`, text: 'PEM public key (paste or drop a .pub file)' }), pemInput,
    info, remove);
  const describe = () => {
    if (!pemInput.value.trim()) { info.textContent = ''; info.dataset.state = ''; return; }
    try {
      const key = inspectKey(pemInput.value);
      info.textContent = `${key.kind} · ${key.algorithm} · fingerprint ${key.fingerprint}`;
      info.dataset.state = 'ok';
    } catch (error) {
      info.textContent = `Not a usable key: ${error.message}`;
      info.dataset.state = 'bad';
    }
  };
  pemInput.addEventListener('input', () => { describe(); showPolicy(); });
  nameInput.addEventListener('input', showPolicy);
  acceptDrops(pemInput, (text) => { pemInput.value = text; describe(); showPolicy(); });
  remove.addEventListener('click', () => { item.remove(); showPolicy(); $('add-key').focus(); });
  $('keys').append(item);
  describe();
  return item;
}

// ---- policy ------------------------------------------------------------------------------
// Fields the form does not edit (limits, rekor) are kept from the loaded policy.
let policyExtras = {};

function currentPolicy() {
  const keys = [...document.querySelectorAll('#keys .key')].map((item) => ({
    name: item.querySelector('input').value.trim(),
    publicKey: item.querySelector('textarea').value,
  }));
  const policy = { ...policyExtras, keys };
  const threshold = Number.parseInt($('threshold').value, 10);
  if (Number.isFinite(threshold) && threshold !== 1) policy.threshold = threshold;
  const required = $('required').value.split(',').map((s) => s.trim()).filter(Boolean);
  if (required.length) policy.required = required;
  const annotations = {};
  for (const line of $('annotations').value.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) annotations[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  if (Object.keys(annotations).length) policy.annotations = annotations;
  if ($('match-reference').checked) policy.matchReference = true;
  return policy;
}

function showPolicy() {
  $('policy-json').textContent = JSON.stringify(currentPolicy(), null, 2);
}

function loadPolicy(policy) {
  const { keys = [], threshold = 1, required = [], annotations = {}, matchReference = false, ...extras } = policy;
  policyExtras = extras;
  // Keyless signers come with the policy file (with the trusted root they chain to).
  const identities = extras.identities || [];
  $('identities').replaceChildren(...(identities.length ? [
    el('p', { text: `Trusted identities (keyless)${extras.trustedRoot ? ', checked against the policy\'s trusted root' : ''}:` }),
    el('ul', {}, ...identities.map((i) => el('li', {
      text: `${i.name || i.subject || i.subjectRegExp}: ${i.subject || `/${i.subjectRegExp}/`} from ${i.issuer || `/${i.issuerRegExp}/`}`,
    }))),
  ] : []));
  // Attestation rules, likewise, come with the policy file.
  const rules = extras.attestations || [];
  if (rules.length) {
    $('identities').append(
      el('p', { text: 'Attestations the image must have:' }),
      el('ul', {}, ...rules.map((r) => el('li', {
        text: `${r.name || r.predicateType}: a ${r.predicateType} statement signed by ${(r.keys || []).map((k) => k.name).join(', ') || 'the policy\'s keys'}${Object.keys(r.conditions || {}).length ? `, where ${Object.entries(r.conditions).map(([p, t]) => `${p} ${Object.keys(t)[0]} ${JSON.stringify(Object.values(t)[0])}`).join(' and ')}` : ''}`,
      }))),
    );
  }
  $('keys').replaceChildren();
  for (const key of keys) addKey(key.name, key.publicKey);
  $('threshold').value = threshold;
  $('required').value = required.join(', ');
  $('annotations').value = Object.entries(annotations).map(([k, v]) => `${k}=${v}`).join('\n');
  $('match-reference').checked = matchReference;
  showPolicy();
}

// ---- the verdict -------------------------------------------------------------------------
function markClaim(text, claimed, matches) {
  const pre = el('pre', { class: 'payload-text', tabindex: '0' });
  const at = claimed ? text.indexOf(claimed) : -1;
  if (at < 0) { pre.textContent = text; return pre; }
  pre.append(text.slice(0, at),
    el('mark', { class: matches ? 'claim ok' : 'claim bad', text: claimed }),
    text.slice(at + claimed.length));
  return pre;
}

function checklist(result, policySatisfiedEarly, checks = CHECKS) {
  const list = el('ol', { class: 'checks' });
  let failedAt = result ? checks.findIndex((c) => c.status === result.status) : -1;
  // For the certificate checks, a payload status means every one of them passed.
  if (checks === KEYLESS_CHECKS && failedAt < 0 && result && CHECKS.some((c) => c.status === result.status)) {
    failedAt = checks.length;
  }
  checks.forEach((check, index) => {
    let state;
    if (!result) state = 'skipped';
    else if (result.status === 'verified' || index < failedAt) state = 'passed';
    else if (index === failedAt) state = 'failed';
    else state = 'skipped';
    const label = { passed: '✓ passed', failed: '✗ failed', skipped: '– not run' }[state];
    const item = el('li', { class: `check ${state}`, 'data-state': state },
      el('span', { class: 'mark', text: label }), ' ', el('span', { text: check.check }));
    if (state === 'failed') {
      item.append(el('p', { class: 'explain', text: check.failure }),
        el('p', { class: 'detail', text: result.message }));
    }
    list.append(item);
  });
  if (!result && policySatisfiedEarly) {
    list.append(el('li', { class: 'note', text: 'Not needed: the policy was already satisfied by earlier layers.' }));
  }
  return list;
}

function showLayers(summary, verdict) {
  const container = $('layers');
  container.replaceChildren();
  if (!summary) return;
  if (summary.manifestError) {
    container.append(el('p', { class: 'note', text: `Signature manifest: ${summary.manifestError}` }));
  }
  for (const layer of summary.layers) {
    const result = (verdict.signatures || []).find((r) => r.layer === layer.index);
    const status = result ? result.status : 'not evaluated';
    const section = el('section', { class: 'layer', 'data-status': status, 'aria-label': `Layer ${layer.index}` });
    section.append(el('h3', { text: `Layer ${layer.index}: ${result ? (result.status === 'verified' ? '✓ verified' : `✗ ${result.status}`) : '– not evaluated'}${result && result.key ? ` (key ${result.key})` : ''}` }));
    const facts = el('dl', { class: 'facts' });
    const fact = (term, value) => facts.append(el('dt', { text: term }), el('dd', { text: value }));
    fact('Layer digest', `${layer.digest} (${layer.size} bytes)`);
    fact('Media type', layer.mediaType);
    fact('Signature', layer.signature ? `${layer.signature.slice(0, 32)}…` : 'none');
    if (layer.hasBundle) fact('Rekor bundle', 'attached');
    for (const [name, value] of Object.entries(layer.annotations)) fact(name, value);
    section.append(facts);
    section.append(checklist(result, verdict.verified));
    if (layer.annotations['dev.sigstore.cosign/certificate'] && isKeyless(result)) {
      section.append(el('h4', { text: 'Keyless: the certificate checks' }));
      section.append(checklist(result, verdict.verified, KEYLESS_CHECKS));
    }
    if (layer.payload) {
      const p = layer.payload;
      section.append(el('h4', { text: 'Signed payload (shown before verification; only the checks above say whether it counts)' }));
      let pretty = p.text;
      try { pretty = JSON.stringify(JSON.parse(p.text), null, 2); } catch { /* shown as is */ }
      section.append(markClaim(pretty, p.claimedDigest, p.claimMatchesImage));
      section.append(el('p', {
        class: `claim-line ${p.claimMatchesImage ? 'ok' : 'bad'}`,
        text: p.claimedDigest
          ? (p.claimMatchesImage
            ? `✓ The payload claims ${p.claimedDigest}, which is the image digest.`
            : `✗ The payload claims ${p.claimedDigest}, but the image is ${summary.digest}.`)
          : `✗ The payload does not parse: ${p.parseError}`,
      }));
      if (!p.digestMatches) {
        section.append(el('p', { class: 'claim-line bad', text: `✗ The payload hashes to ${p.sha256}, not the layer digest.` }));
      }
      section.append(tamperEditor(layer, p.text));
    } else {
      section.append(el('p', { class: 'note', text: 'The evidence has no payload for this layer.' }));
    }
    container.append(section);
  }
  // cosign v3's format: each Sigstore bundle attached to the image as an OCI referrer.
  for (const [index, result] of (verdict.bundles || []).entries()) {
    const section = el('section', { class: 'layer', 'data-status': result.status, 'aria-label': `Bundle ${index}` });
    section.append(el('h3', { text: `Sigstore bundle ${index}: ${result.status === 'verified' ? '✓ verified' : `✗ ${result.status}`}${result.key ? ` (key ${result.key})` : ''}` }));
    const facts = el('dl', { class: 'facts' });
    const fact = (name, value) => facts.append(el('dt', { text: name }), el('dd', { text: value }));
    fact('Referrer manifest', result.referrer);
    if (result.predicateType) fact('Statement type', result.predicateType);
    if (result.logIndex !== undefined) fact('Log index', String(result.logIndex));
    fact('Result', result.message);
    section.append(facts);
    if (isKeyless(result)) {
      section.append(el('h4', { text: 'Keyless: the certificate checks' }));
      section.append(checklist(result, verdict.verified, KEYLESS_CHECKS));
    }
    container.append(section);
  }
  showAttestations(container, verdict);
}

// Attestation rules: each attestation examined, and the statements that met a rule, decoded.
// Only the verdict's `statements` are shown as statements: the core lists nothing unverified.
function showAttestations(container, verdict) {
  for (const [index, result] of (verdict.attestations || []).entries()) {
    const section = el('section', { class: 'layer', 'data-status': result.status, 'aria-label': `Attestation ${index}` });
    section.append(el('h3', { text: `Attestation for rule "${result.rule}": ${result.status === 'verified' ? '✓ verified' : `✗ ${result.status}`}${result.key ? ` (signed by ${result.key})` : ''}` }));
    const facts = el('dl', { class: 'facts' });
    const fact = (name, value) => facts.append(el('dt', { text: name }), el('dd', { text: value }));
    fact('Stored as', result.format === 'att' ? `layer ${result.source} of the .att manifest` : `Sigstore bundle referrer ${result.source}`);
    if (result.predicateType) fact('Statement type', result.predicateType);
    fact('Result', result.message);
    section.append(facts);
    container.append(section);
  }
  for (const statement of verdict.statements || []) {
    const section = el('section', { class: 'layer statement', 'data-status': 'verified', 'aria-label': `Verified statement for rule ${statement.rule}` });
    section.append(el('h3', { text: `✓ Verified statement: ${statement.predicateType}` }));
    const facts = el('dl', { class: 'facts' });
    const fact = (name, value) => facts.append(el('dt', { text: name }), el('dd', { text: value }));
    fact('Rule', statement.rule);
    fact('Signed by', `${statement.signer} (${statement.format === 'att' ? '.att layer' : 'Sigstore bundle'})`);
    fact('About', statement.subject ? `${statement.subject} @ ${verdict.digest}` : verdict.digest);
    section.append(facts);
    section.append(el('h4', { text: 'Predicate (verified: signature, subject, type and the rule\'s conditions)' }));
    section.append(el('pre', {
      class: 'predicate',
      tabindex: '0',
      text: statement.predicateOmitted
        ? 'The predicate is over 64 KiB, so the verdict leaves it out (its conditions were checked).'
        : JSON.stringify(statement.predicate, null, 2),
    }));
    container.append(section);
  }
}

// A result is keyless when an identity of the policy signed it, or a certificate check is
// what failed.
function isKeyless(result) {
  if (!result) return false;
  const identities = (currentPolicy().identities || []).map((i) => i.name || i.subject || i.subjectRegExp);
  return identities.includes(result.key) || KEYLESS_CHECKS.some((c) => c.status === result.status && c.status !== 'no_matching_signature' && c.status !== 'tlog_verification_failed');
}

// Lets people change the signed bytes and watch the verdict turn.
function tamperEditor(layer, text) {
  const id = `tamper-${layer.index}`;
  const area = el('textarea', { id, rows: '3', spellcheck: 'false', class: 'tamper' });
  area.value = text;
  const button = el('button', { type: 'button', class: 'small', text: 'Verify with this payload' });
  button.addEventListener('click', () => {
    const evidence = JSON.parse($('evidence').value);
    const bytes = new TextEncoder().encode(area.value);
    evidence.blobs = evidence.blobs || {};
    evidence.blobs[layer.digest] = btoa(String.fromCharCode(...bytes));
    $('evidence').value = JSON.stringify(evidence, null, 2);
    run();
  });
  return el('details', { class: 'tamper-box' },
    el('summary', { text: 'Edit this payload and re-verify' }),
    el('label', { for: id, text: 'Payload bytes (change one character to see the signature fail)' }), area, button);
}

function run() {
  const banner = $('banner');
  const evidenceText = $('evidence').value.trim();
  if (!evidenceText) {
    banner.dataset.state = 'error';
    banner.textContent = '⚠ Give the evidence first (paste JSON, or load an example).';
    return;
  }
  const policy = currentPolicy();
  showPolicy();
  const verdict = verify(JSON.stringify(policy), evidenceText);
  let summary = null;
  try { summary = inspectEvidence(evidenceText); } catch { /* the verdict says why */ }
  const explanation = CHECKS.find((c) => c.status === verdict.reason)
    || KEYLESS_CHECKS.find((c) => c.status === verdict.reason);
  banner.dataset.state = verdict.verified ? 'verified' : 'denied';
  banner.dataset.reason = verdict.reason;
  banner.replaceChildren(
    el('strong', { class: 'verdict', text: verdict.verified ? '✓ Verified' : `✗ Not verified: ${verdict.reason}` }),
    el('p', { text: verdict.message }),
  );
  if (explanation && !verdict.verified) banner.append(el('p', { class: 'explain', text: explanation.failure }));
  if (verdict.image) banner.append(el('p', { class: 'subject', text: `${verdict.image} @ ${verdict.digest}` }));
  showLayers(summary, verdict);
}

// ---- policy sets --------------------------------------------------------------------------
function decideSet() {
  const banner = $('set-banner');
  const evidenceText = $('evidence').value.trim();
  let evidence;
  try {
    evidence = JSON.parse(evidenceText);
  } catch {
    banner.dataset.state = 'error';
    banner.textContent = '⚠ Give the evidence first (load an example above).';
    return;
  }
  const image = $('set-image').value.trim();
  if (image) evidence.image = image;
  const verdict = decide($('set').value, evidence);
  const allowed = verdict.allowed ?? verdict.verified;
  banner.dataset.state = allowed ? 'verified' : 'denied';
  banner.dataset.reason = verdict.reason;
  banner.replaceChildren(
    el('strong', { class: 'verdict', text: allowed ? '✓ Allowed' : `✗ Denied: ${verdict.reason}` }),
    el('p', { text: verdict.message }),
  );
  for (const warning of verdict.warnings || []) banner.append(el('p', { class: 'explain', text: `Warning: ${warning}` }));
  $('set-rules').replaceChildren(...(verdict.rules || []).map((rule) => el('li', {
    class: rule.passed ? 'rule passed' : 'rule failed',
    'data-rule': rule.name,
    text: `Rule "${rule.name}" (${rule.mode}): ${rule.passed ? 'passed' : rule.reason} · ${rule.message}`,
  })));
}

async function loadSet() {
  const response = await fetch('examples/policy-set/set.json');
  if (!response.ok) throw new Error(`examples/policy-set/set.json: ${response.status}`);
  $('set').value = await response.text();
  if (!$('set-image').value) {
    try { $('set-image').value = JSON.parse($('evidence').value).image; } catch { /* none yet */ }
  }
}

// ---- wiring ------------------------------------------------------------------------------
async function loadExample(name) {
  const [policy, evidence] = await Promise.all(['policy', 'evidence'].map(async (part) => {
    const response = await fetch(`examples/${name}/${part}.json`);
    if (!response.ok) throw new Error(`examples/${name}/${part}.json: ${response.status}`);
    return response.json();
  }));
  loadPolicy(policy);
  $('evidence').value = JSON.stringify(evidence, null, 2);
  selectTab('tab-json');
  run();
}

function selectTab(id) {
  for (const tab of document.querySelectorAll('[role=tab]')) {
    const selected = tab.id === id;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(tab.getAttribute('aria-controls')).hidden = !selected;
  }
}

function wire() {
  for (const button of document.querySelectorAll('[data-example]')) {
    button.addEventListener('click', () => loadExample(button.dataset.example).catch((error) => {
      $('banner').dataset.state = 'error';
      $('banner').textContent = `⚠ ${error.message}`;
    }));
  }
  const tabs = [...document.querySelectorAll('[role=tab]')];
  for (const tab of tabs) {
    tab.addEventListener('click', () => selectTab(tab.id));
    tab.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
      const next = tabs[(tabs.indexOf(tab) + (event.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      selectTab(next.id);
      next.focus();
    });
  }
  acceptDrops($('evidence'), (text) => { $('evidence').value = text; });
  $('evidence-file').addEventListener('change', async (event) => {
    const file = event.target.files[0];
    if (file) $('evidence').value = await readFile(file);
  });
  $('policy-file').addEventListener('change', async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try {
      loadPolicy(JSON.parse(await readFile(file)));
    } catch (error) {
      $('banner').dataset.state = 'error';
      $('banner').textContent = `⚠ The policy file is not JSON: ${error.message}`;
    }
  });
  $('use-parts').addEventListener('click', () => {
    try {
      const payloads = $('part-payloads').value.split('\n').filter((line) => line.trim());
      const evidence = buildEvidence($('part-image').value, $('part-digest').value, $('part-manifest').value, payloads);
      $('evidence').value = JSON.stringify(JSON.parse(evidence), null, 2);
      selectTab('tab-json');
      run();
    } catch (error) {
      $('banner').dataset.state = 'error';
      $('banner').textContent = `⚠ ${error.message}`;
    }
  });
  $('add-key').addEventListener('click', () => addKey().querySelector('textarea').focus());
  for (const id of ['threshold', 'required', 'annotations', 'match-reference']) $(id).addEventListener('input', showPolicy);
  $('verify').addEventListener('click', run);
  $('decide').addEventListener('click', decideSet);
  $('load-set').addEventListener('click', () => loadSet().catch((error) => {
    $('set-banner').dataset.state = 'error';
    $('set-banner').textContent = `⚠ ${error.message}`;
  }));
  acceptDrops($('set'), (text) => { $('set').value = text; });
}

await init();
CHECKS.push(...layerChecks());
KEYLESS_CHECKS.push(...keylessChecks());
wire();
addKey();
showPolicy();
document.body.dataset.ready = 'true';
