// The Strata console: runs GraphQL against /v1/graphql and lists the
// tracked tables from export_metadata. Plain DOM, no framework; text goes
// in through textContent only, so nothing from a response becomes markup.
'use strict';

(function () {
  const store = {
    secret: 'strata-console:admin-secret',
    query: 'strata-console:query',
    variables: 'strata-console:variables',
  };
  const ops = ['insert', 'select', 'update', 'delete'];
  const $ = (id) => document.getElementById(id);
  const secret = $('admin-secret');
  const query = $('query');
  const variables = $('variables');
  const runButton = $('run');
  const result = $('result');
  const status = $('status');
  const tables = $('tables');

  // el builds an element; string children become text nodes.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c);
    return e;
  }

  function load(key, input) {
    const v = localStorage.getItem(key);
    if (v !== null) input.value = v;
    input.addEventListener('input', () => localStorage.setItem(key, input.value));
  }

  async function post(path, body) {
    const headers = { 'Content-Type': 'application/json' };
    if (secret.value !== '') headers['x-hasura-admin-secret'] = secret.value;
    const resp = await fetch(path, {
      method: 'POST', headers, body: JSON.stringify(body), cache: 'no-store', credentials: 'same-origin',
    });
    const text = await resp.text();
    let json;
    try { json = JSON.parse(text); } catch (_) { json = undefined; }
    return { status: resp.status, text, json };
  }

  // errorText is a Hasura error response in one line.
  function errorText(r) {
    if (r.json && typeof r.json.error === 'string') return `${r.json.code || 'error'}: ${r.json.error}`;
    return `HTTP ${r.status}`;
  }

  async function run() {
    let vars;
    const v = variables.value.trim();
    if (v !== '') {
      try { vars = JSON.parse(v); } catch (e) { vars = e; }
      if (vars === null || typeof vars !== 'object' || Array.isArray(vars) || vars instanceof Error) {
        status.textContent = '';
        result.textContent = 'Variables must be a JSON object' + (vars instanceof Error ? ': ' + vars.message : '.');
        return;
      }
    }
    runButton.disabled = true;
    status.textContent = 'running…';
    try {
      const r = await post('/v1/graphql', vars === undefined ? { query: query.value } : { query: query.value, variables: vars });
      result.textContent = r.json !== undefined ? JSON.stringify(r.json, null, 2) : r.text;
      status.textContent = `HTTP ${r.status}`;
    } catch (e) {
      result.textContent = 'The request failed: ' + e.message;
      status.textContent = '';
    } finally {
      runButton.disabled = false;
    }
  }

  function tableName(t) {
    if (typeof t === 'string') return t;
    if (Array.isArray(t)) return t.join('.');
    if (t && typeof t === 'object') return t.schema ? `${t.schema}.${t.name}` : String(t.name);
    return String(t);
  }

  // target says where a relationship points: "→ table (columns)", or for
  // an object relationship on a foreign key of its own table, "on columns"
  // (the metadata does not name the table the key references).
  function target(rel) {
    const u = rel.using || {};
    if (u.manual_configuration) return '→ ' + tableName(u.manual_configuration.remote_table);
    const fk = u.foreign_key_constraint_on;
    if (fk && typeof fk === 'object' && !Array.isArray(fk) && fk.table) {
      return `→ ${tableName(fk.table)} (${[].concat(fk.columns || fk.column).join(', ')})`;
    }
    if (fk !== undefined) return 'on ' + [].concat(fk).join(', ');
    return '';
  }

  function relationships(t) {
    const items = [];
    for (const [kind, list] of [['object', t.object_relationships], ['array', t.array_relationships], ['remote', t.remote_relationships]]) {
      for (const rel of list || []) {
        const to = kind === 'remote' ? '' : target(rel);
        items.push(el('li', {}, el('code', {}, rel.name), ` ${kind}` + (to ? ` ${to}` : '')));
      }
    }
    return items.length ? el('ul', {}, ...items) : el('p', { class: 'muted' }, 'none');
  }

  // permissions is a role × operation grid.
  function permissions(t) {
    const roles = new Map();
    for (const op of ops) {
      for (const p of t[op + '_permissions'] || []) {
        if (!roles.has(p.role)) roles.set(p.role, new Set());
        roles.get(p.role).add(op);
      }
    }
    if (roles.size === 0) return el('p', { class: 'muted' }, 'admin only');
    const head = el('tr', {}, el('th', {}, 'role'), ...ops.map((op) => el('th', {}, op)));
    const rows = [...roles.keys()].sort().map((role) => el('tr', { 'data-role': role },
      el('td', {}, role),
      ...ops.map((op) => roles.get(role).has(op) ? el('td', { class: 'yes', title: op }, '✓') : el('td', { class: 'muted' }, '–'))));
    return el('table', { class: 'perms' }, el('thead', {}, head), el('tbody', {}, ...rows));
  }

  function renderTables(metadata) {
    const sources = metadata.sources || [];
    const out = [];
    for (const src of sources) {
      if (sources.length > 1) out.push(el('h3', { class: 'source' }, `source ${src.name}`));
      const list = (src.tables || []).slice().sort((a, b) => tableName(a.table).localeCompare(tableName(b.table)));
      if (list.length === 0) out.push(el('p', { class: 'muted' }, 'No tracked tables.'));
      for (const t of list) {
        const name = tableName(t.table);
        out.push(el('details', { 'data-table': name },
          el('summary', {}, name),
          el('h3', {}, 'Relationships'), relationships(t),
          el('h3', {}, 'Permissions'), permissions(t)));
      }
    }
    if (sources.length === 0) out.push(el('p', { class: 'muted' }, 'No sources.'));
    tables.replaceChildren(...out);
  }

  // loads counts the metadata requests: only the latest one's answer is
  // shown, whatever order they come back in.
  let loads = 0;

  async function loadTables() {
    const n = ++loads;
    tables.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      const r = await post('/v1/metadata', { type: 'export_metadata', version: 1, args: {} });
      if (n !== loads) return;
      if (r.status !== 200 || !r.json) {
        tables.replaceChildren(el('p', { class: 'error' }, errorText(r)));
        return;
      }
      renderTables(r.json);
    } catch (e) {
      if (n === loads) tables.replaceChildren(el('p', { class: 'error' }, 'The request failed: ' + e.message));
    }
  }

  load(store.secret, secret);
  load(store.query, query);
  load(store.variables, variables);
  // A new secret (on Enter or leaving the field) may see other metadata.
  secret.addEventListener('change', loadTables);
  $('refresh').addEventListener('click', loadTables);
  runButton.addEventListener('click', run);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });
  loadTables();
}());
