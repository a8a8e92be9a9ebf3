// qr-edge dashboard (docs/dashboard.md): the admin API of this origin, driven
// from one page. The token lives in sessionStorage and leaves the page only in
// the Authorization header of fetch() calls to /_api/v1/ (never a URL, cookie
// or log). QR images are fetched with that header and shown from blob: URLs.
"use strict";

const API = "/_api/v1";
const TOKEN_KEY = "qr-edge-admin-token";
const DOMAIN_KEY = "qr-edge-domain";
const $ = (id) => document.getElementById(id);

const state = { domain: "", cursor: null, prefix: "", editing: null, etag: null, preview: null };

// ---------- API ----------

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

async function api(method, path, { body, type = "application/json", headers = {} } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const init = { method, headers: { ...headers, Authorization: `Bearer ${token}` }, cache: "no-store" };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["Content-Type"] = type;
  }
  const response = await fetch(API + path, init);
  if (response.status === 401) {
    signOut("The token was not accepted (401): sign in again with the admin token.");
    throw new ApiError(401, { detail: "wrong token" });
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch (_) { /* not a problem document */ }
    throw new ApiError(response.status, problem);
  }
  return response;
}

const enc = encodeURIComponent;
const linkPath = (slug) => `/links/${enc(state.domain)}/${enc(slug)}`;

function say(text) { $("status").textContent = text; }

// ---------- sign in / out ----------

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  $("signin-error").textContent = "";
  if (!token) { $("signin-error").textContent = "Type the admin token."; return; }
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await start();
    $("token").value = "";
  } catch (e) {
    if (e.status !== 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      $("signin-error").textContent = `Could not reach the admin API: ${e.message}`;
    }
  }
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of ["links", "editor", "import", "settings", "tabs", "domain-form"]) $(id).hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  if (message) $("token").focus();
}

// Any host's settings answer with the deployment's `domains` (the defaults
// document): this checks the token and offers the domains to pick from.
async function start() {
  const host = location.hostname || "localhost";
  let domains = [];
  try {
    const report = await (await api("GET", `/settings/${enc(host)}`)).json();
    domains = Array.isArray(report.settings && report.settings.domains) ? report.settings.domains : [];
  } catch (e) {
    if (e.status === 401) throw e;
    // Another refusal (a host name the API does not take) still proves the token.
    if (!(e instanceof ApiError)) throw e;
  }
  const list = $("domains");
  list.replaceChildren(...domains.map((d) => new Option(d, d)));
  const saved = sessionStorage.getItem(DOMAIN_KEY);
  state.domain = saved || domains[0] || "";
  $("domain").value = state.domain;
  $("signin").hidden = true;
  $("tabs").hidden = false;
  $("domain-form").hidden = false;
  showTab("links");
}

// ---------- tabs and domain ----------

function showTab(name) {
  for (const tab of ["links", "import", "settings"]) $(tab).hidden = tab !== name;
  $("editor").hidden = true;
  for (const button of document.querySelectorAll("#tabs [data-tab]")) {
    if (button.dataset.tab === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  for (const el of document.querySelectorAll(".domain-name")) el.textContent = state.domain || "(no domain)";
  if (name === "links") loadLinks(null);
  if (name === "settings") loadSettings();
}

function pickDomain(event) {
  event.preventDefault();
  state.domain = $("domain").value.trim().toLowerCase();
  sessionStorage.setItem(DOMAIN_KEY, state.domain);
  showTab("links");
}

// ---------- links list ----------

async function loadLinks(cursor) {
  $("links-message").textContent = "";
  const tbody = $("links-table").tBodies[0];
  if (!state.domain) { $("links-message").textContent = "Pick or type a short domain above."; tbody.replaceChildren(); return; }
  const query = new URLSearchParams({ limit: "20" });
  if (state.prefix) query.set("prefix", state.prefix);
  if (cursor) query.set("cursor", cursor);
  try {
    const page = await (await api("GET", `/links/${enc(state.domain)}?${query}`)).json();
    state.cursor = page.cursor;
    $("next-page").disabled = !page.cursor;
    tbody.replaceChildren(...page.items.map(linkRow));
    if (!page.items.length) $("links-message").textContent = state.prefix ? `No link starts with “${state.prefix}”.` : "No links yet.";
  } catch (e) {
    if (e.status !== 401) $("links-message").textContent = `Could not list links: ${e.message}`;
  }
}

function cell(content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = content;
  return td;
}

function button(label, action, extra) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (extra) b.setAttribute("aria-label", extra);
  b.addEventListener("click", action);
  return b;
}

function linkRow(item) {
  const tr = document.createElement("tr");
  tr.dataset.slug = item.slug;
  const badge = document.createElement("span");
  badge.className = `badge ${item.status}`;
  badge.textContent = item.status;
  if (item.error) badge.title = item.error;
  const actions = document.createElement("span");
  actions.className = "actions";
  actions.append(
    button("Edit", () => openEditor(item.slug), `Edit ${item.slug}`),
    button(item.status === "disabled" ? "Enable" : "Disable", () => toggle(item.slug), `${item.status === "disabled" ? "Enable" : "Disable"} ${item.slug}`),
    button("Delete", () => remove(item.slug), `Delete ${item.slug}`),
  );
  tr.append(cell(item.slug), cell(item.url || ""), cell(badge), cell(actions));
  return tr;
}

async function toggle(slug) {
  try {
    const response = await api("GET", linkPath(slug));
    const record = await response.json();
    record.status = record.status === "disabled" ? "active" : "disabled";
    await api("PUT", linkPath(slug), { body: record, headers: { "If-Match": response.headers.get("ETag") } });
    say(`${slug} is now ${record.status}.`);
    loadLinks(null);
  } catch (e) {
    if (e.status !== 401) $("links-message").textContent = `Could not change ${slug}: ${e.message}`;
  }
}

async function remove(slug) {
  if (!window.confirm(`Delete ${state.domain}/${slug}? Printed codes for it will answer 404.`)) return;
  try {
    await api("DELETE", linkPath(slug));
    say(`${slug} deleted.`);
    loadLinks(null);
  } catch (e) {
    if (e.status !== 401) $("links-message").textContent = `Could not delete ${slug}: ${e.message}`;
  }
}

// ---------- editor ----------

const RULE_FIELDS = [
  ["country", "Countries", "DE, AT"], ["continent", "Continents", "EU"], ["region", "Regions", "US-CA"],
  ["os", "OS", "ios, android"], ["device", "Devices", "mobile"], ["language", "Languages", "fr"],
  ["after", "After", "RFC 3339"], ["before", "Before", "RFC 3339"], ["query", "Query", "src=print"],
];
let rowIds = 0;

function input(field, labelText, value, placeholder, type = "text") {
  const id = `x${++rowIds}`;
  const wrap = document.createElement("div");
  wrap.className = "field";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = labelText;
  const el = document.createElement("input");
  el.id = id;
  el.type = type;
  el.dataset.field = field;
  el.spellcheck = false;
  if (placeholder) el.placeholder = placeholder;
  el.value = value == null ? "" : String(value);
  const error = document.createElement("span");
  error.className = "error";
  error.dataset.errorFor = field;
  wrap.append(label, el, error);
  return wrap;
}

function addRule(rule) {
  const when = (rule && rule.when) || {};
  const box = document.createElement("div");
  box.className = "row rule";
  for (const [name, label, hint] of RULE_FIELDS) {
    let value = when[name];
    if (Array.isArray(value)) value = value.join(", ");
    else if (name === "query" && value) value = new URLSearchParams(value).toString();
    box.append(input(`when.${name}`, label, value, hint));
  }
  box.append(input("url", "Destination URL", rule && rule.url, "https://", "url"));
  box.append(button("Remove rule", () => { box.remove(); renumber(); }));
  $("rules").append(box);
  renumber();
}

function addSplit(entry) {
  const box = document.createElement("div");
  box.className = "row split";
  box.append(input("url", "Destination URL", entry && entry.url, "https://", "url"));
  box.append(input("weight", "Weight", entry ? entry.weight : 1, "", "number"));
  box.append(button("Remove entry", () => { box.remove(); renumber(); }));
  $("split").append(box);
  renumber();
}

// Each rule and split input carries its record path (rules[0].when.country), so
// a problem document's `field` finds its input.
function renumber() {
  for (const [list, name] of [["rules", "rules"], ["split", "split"]]) {
    [...$(list).children].forEach((box, i) => {
      for (const el of box.querySelectorAll("[data-field]")) {
        el.dataset.path = `${name}[${i}].${el.dataset.field}`;
      }
      for (const el of box.querySelectorAll("[data-error-for]")) {
        el.dataset.path = `${name}[${i}].${el.dataset.errorFor}`;
      }
    });
  }
}

function clearErrors(form) {
  for (const el of form.querySelectorAll(".error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

// Shows a problem next to the input whose path is the longest prefix of the
// problem's `field` (rules[0].when.country[1] → the rule's country input).
function showProblem(form, general, error) {
  const field = error.problem && error.problem.field;
  const message = error.message;
  if (field) {
    let best = null;
    for (const el of form.querySelectorAll("[data-field]")) {
      const path = el.dataset.path || el.dataset.field;
      const fits = field === path || field.startsWith(`${path}.`) || field.startsWith(`${path}[`);
      if (fits && (!best || path.length > (best.dataset.path || best.dataset.field).length)) best = el;
    }
    if (best) {
      best.setAttribute("aria-invalid", "true");
      const slot = best.parentElement.querySelector(".error");
      if (slot) { slot.textContent = message; best.focus(); return; }
    }
  }
  general.textContent = field ? `${field}: ${message}` : message;
}

function fillForm(slug, record) {
  const form = $("link-form");
  clearErrors(form);
  $("f-slug").value = slug || "";
  $("f-slug").readOnly = !!slug;
  $("f-url").value = record.url || "";
  $("f-status").value = record.status || "active";
  $("f-code").value = String(record.code || 302);
  const fq = record.forward_query;
  $("f-forward").value = Array.isArray(fq) ? fq.join(", ") : fq === undefined ? "true" : String(fq);
  $("f-from").value = record.valid_from || "";
  $("f-until").value = record.valid_until || "";
  $("f-expired").value = record.expired_url || "";
  $("f-pieces").value = record.pieces ? record.pieces.max_length : "";
  $("f-tags").value = (record.tags || []).join(", ");
  $("f-note").value = record.note || "";
  $("rules").replaceChildren();
  $("split").replaceChildren();
  (record.rules || []).forEach(addRule);
  (record.split || []).forEach(addSplit);
}

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

function readForm() {
  const record = { url: $("f-url").value.trim(), status: $("f-status").value, code: Number($("f-code").value) };
  const fq = $("f-forward").value.trim();
  record.forward_query = fq === "" || fq === "true" ? true : fq === "false" ? false : list(fq);
  for (const [id, name] of [["f-from", "valid_from"], ["f-until", "valid_until"], ["f-expired", "expired_url"]]) {
    const v = $(id).value.trim();
    if (v) record[name] = v;
  }
  if ($("f-pieces").value !== "") record.pieces = { max_length: Number($("f-pieces").value) };
  const tags = list($("f-tags").value);
  if (tags.length) record.tags = tags;
  if ($("f-note").value) record.note = $("f-note").value;
  const rules = [...$("rules").children].map((box) => {
    const when = {};
    let url = "";
    for (const el of box.querySelectorAll("input")) {
      const v = el.value.trim();
      if (el.dataset.field === "url") { url = v; continue; }
      const name = el.dataset.field.slice(5);
      if (!v) continue;
      if (name === "after" || name === "before") when[name] = v;
      else if (name === "query") when.query = Object.fromEntries(new URLSearchParams(v));
      else when[name] = list(v);
    }
    return { when, url };
  });
  if (rules.length) record.rules = rules;
  const split = [...$("split").children].map((box) => ({
    url: box.querySelector('[data-field="url"]').value.trim(),
    weight: Number(box.querySelector('[data-field="weight"]').value),
  }));
  if (split.length) record.split = split;
  return record;
}

async function openEditor(slug) {
  state.editing = slug;
  state.etag = null;
  $("editor-title").textContent = slug ? `Edit ${state.domain}/${slug}` : `New link on ${state.domain}`;
  for (const tab of ["links", "import", "settings"]) $(tab).hidden = true;
  $("editor").hidden = false;
  $("form-error").textContent = "";
  if (!slug) {
    fillForm("", { url: "", forward_query: true });
    $("link-tools").hidden = true;
    $("f-slug").focus();
    return;
  }
  try {
    const response = await api("GET", linkPath(slug));
    state.etag = response.headers.get("ETag");
    fillForm(slug, await response.json());
    showTools(slug);
  } catch (e) {
    if (e.status !== 401) $("form-error").textContent = `Could not read ${slug}: ${e.message}`;
  }
}

async function save(event) {
  event.preventDefault();
  const form = $("link-form");
  clearErrors(form);
  const record = readForm();
  const slug = state.editing || $("f-slug").value.trim().toLowerCase();
  try {
    let saved = slug;
    if (slug) {
      const headers = state.editing ? (state.etag ? { "If-Match": state.etag } : {}) : { "If-None-Match": "*" };
      const response = await api("PUT", linkPath(slug), { body: record, headers });
      state.etag = response.headers.get("ETag");
    } else {
      const response = await api("POST", `/links/${enc(state.domain)}`, { body: record });
      state.etag = response.headers.get("ETag");
      saved = (await response.json()).slug;
    }
    state.editing = saved;
    $("f-slug").value = saved;
    $("f-slug").readOnly = true;
    $("editor-title").textContent = `Edit ${state.domain}/${saved}`;
    say(`Saved ${state.domain}/${saved}.`);
    showTools(saved);
  } catch (e) {
    if (e.status === 412) { $("form-error").textContent = state.editing ? "Someone changed this link since you opened it: reload it before saving." : "That slug is taken: choose another."; return; }
    if (e.status !== 401) showProblem(form, $("form-error"), e);
  }
}

// ---------- QR designer ----------

function showTools(slug) {
  $("link-tools").hidden = false;
  const url = `https://${state.domain}/${slug}`;
  $("short-url").textContent = url;
  $("short-url").href = url;
  $("try-result").textContent = "";
  refreshPreview();
}

function imageQuery() {
  const q = new URLSearchParams({
    ecc: $("q-ecc").value,
    margin: $("q-margin").value,
    fg: $("q-fg").value.slice(1),
    bg: $("q-bg").value.slice(1),
  });
  return q;
}

async function fetchImage(format) {
  const q = imageQuery();
  if (format === "png") q.set("size", $("q-size").value);
  const response = await api("GET", `/qr/${enc(state.domain)}/${enc(state.editing)}.${format}?${q}`);
  return response.blob();
}

let previewTimer = null;
function refreshPreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    $("qr-error").textContent = "";
    try {
      const blob = await fetchImage("svg");
      if (state.preview) URL.revokeObjectURL(state.preview);
      state.preview = URL.createObjectURL(blob);
      $("qr-preview").src = state.preview;
    } catch (e) {
      if (e.status !== 401) $("qr-error").textContent = `Preview failed: ${e.message}`;
    }
  }, 150);
}

async function download(format) {
  $("qr-error").textContent = "";
  try {
    const blob = await fetchImage(format);
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `${state.editing}.${format}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    if (e.status !== 401) $("qr-error").textContent = `Download failed: ${e.message}`;
  }
}

// ---------- try it ----------

async function tryIt(event) {
  event.preventDefault();
  const form = $("try-form");
  clearErrors(form);
  $("try-error").textContent = "";
  const facts = {};
  for (const el of form.querySelectorAll("[data-field]")) {
    const v = el.value.trim();
    if (v) facts[el.dataset.field] = v;
  }
  try {
    const answer = await (await api("POST", `/try/${enc(state.domain)}/${enc(state.editing)}`, { body: facts })).json();
    const decided = answer.rule.startsWith("rule:") ? `rule ${Number(answer.rule.slice(5)) + 1}`
      : answer.rule.startsWith("split:") ? `split entry ${Number(answer.rule.slice(6)) + 1}`
      : answer.rule === "default" ? "the default destination" : answer.rule;
    $("try-result").textContent = `${answer.status} ${answer.outcome}${answer.location ? ` → ${answer.location}` : ""} (decided by ${decided})`;
  } catch (e) {
    if (e.status !== 401) showProblem(form, $("try-error"), e);
  }
}

// ---------- import ----------

async function runImport(event) {
  event.preventDefault();
  $("import-error").textContent = "";
  const file = $("import-file").files[0];
  const text = file ? await file.text() : $("import-text").value;
  if (!text.trim()) { $("import-error").textContent = "Choose a file or type lines."; return; }
  const tbody = $("import-results").tBodies[0];
  tbody.replaceChildren();
  try {
    const response = await api("POST", "/import", { body: text, type: "application/x-ndjson" });
    const lines = (await response.text()).split("\n").filter((l) => l.trim());
    let failed = 0;
    for (const line of lines) {
      const r = JSON.parse(line);
      if (r.status >= 300) failed += 1;
      const tr = document.createElement("tr");
      tr.className = r.status >= 300 ? "failed" : "ok";
      tr.append(cell(String(r.line)), cell(r.domain || ""), cell(r.slug || ""), cell(String(r.status)),
        cell(r.error ? (r.field ? `${r.field}: ${r.error}` : r.error) : ""));
      tbody.append(tr);
    }
    $("import-results").hidden = false;
    say(`Imported ${lines.length - failed} of ${lines.length} lines.`);
  } catch (e) {
    if (e.status !== 401) $("import-error").textContent = `Import refused: ${e.message}`;
  }
}

// ---------- settings ----------

async function loadSettings() {
  $("settings-error").textContent = "";
  if (!state.domain) { $("settings-error").textContent = "Pick or type a short domain above."; return; }
  try {
    const report = await (await api("GET", `/settings/${enc(state.domain)}`)).json();
    $("settings-summary").textContent = `${report.served ? "Served" : "Not served (setting domains)"}; ${report.writes_allowed ? "admin writes taken" : "admin writes refused until destination_hosts is set"}.`;
    const problems = report.problems.map((p) => {
      const li = document.createElement("li");
      li.textContent = `${p.document}: ${p.field}: ${p.problem}`;
      return li;
    });
    if (!problems.length) { const li = document.createElement("li"); li.textContent = "None."; problems.push(li); }
    $("settings-problems").replaceChildren(...problems);
    $("settings-json").textContent = JSON.stringify(report.settings, null, 2);
  } catch (e) {
    if (e.status !== 401) $("settings-error").textContent = `Could not read the settings: ${e.message}`;
  }
}

// ---------- wiring ----------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut(""));
  $("domain-form").addEventListener("submit", pickDomain);
  for (const b of document.querySelectorAll("#tabs [data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); state.prefix = $("prefix").value.trim().toLowerCase(); loadLinks(null); });
  $("first-page").addEventListener("click", () => loadLinks(null));
  $("next-page").addEventListener("click", () => loadLinks(state.cursor));
  $("new-link").addEventListener("click", () => openEditor(null));
  $("add-rule").addEventListener("click", () => addRule(null));
  $("add-split").addEventListener("click", () => addSplit(null));
  $("link-form").addEventListener("submit", save);
  $("cancel").addEventListener("click", () => showTab("links"));
  $("qr-form").addEventListener("input", refreshPreview);
  $("download-svg").addEventListener("click", () => download("svg"));
  $("download-png").addEventListener("click", () => download("png"));
  $("try-form").addEventListener("submit", tryIt);
  $("import-form").addEventListener("submit", runImport);
  if (sessionStorage.getItem(TOKEN_KEY)) start().catch(() => {});
  else $("token").focus();
});
