// The create/edit dialog of a key, team or customer, and the one-time display of a new key's secret.
import { api } from '../api.js';
import { h, copy } from '../dom.js';

const windows = ['rpm', 'tpm', 'rph', 'tph', 'rpd', 'tpd'];
const resets = ['1d', '1h', '1m', '1w', '1M', 'never'];

// editEntity opens the form for r (null: create); on success it calls done.
export function editEntity(k, r, parents, done) {
  const creating = !r;
  r = r || {};
  const input = (name, label, value, attrs = {}) => h('label', {}, label, h('input', { name, value: value ?? '', ...attrs }));
  const parentField = k.one === 'key' ? 'team' : k.one === 'team' ? 'customer' : null;
  const form = h('form', { method: 'dialog' },
    h('h2', {}, (creating ? 'New ' : 'Edit ') + k.one),
    h('div', { class: 'fields' },
      input('id', 'Id', r.id, { required: true, readonly: !creating, pattern: '[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}' }),
      input('name', 'Name', r.name),
      parentField ? h('label', {}, parentField === 'team' ? 'Team' : 'Customer', h('select', { name: parentField },
        h('option', { value: '' }, 'none'), parents.map((p) => h('option', { value: p.id, selected: r[parentField] === p.id }, p.id)))) : null,
      k.one === 'key' ? input('customer', 'Customer (keys without a team)', r.team ? '' : r.customer) : null,
      k.one === 'key' ? input('models', 'Models (comma-separated; empty: all)', (r.models || []).join(', ')) : null,
      k.one === 'key' ? input('providers', 'Providers (comma-separated; empty: all)', (r.providers || []).join(', ')) : null,
      k.one === 'key' ? input('max_concurrent', 'Max in flight', r.max_concurrent || '', { type: 'number', min: 0 }) : null,
      k.one === 'key' ? input('expires_at', 'Expires (RFC 3339)', r.expires_at || '', { placeholder: '2027-01-01T00:00:00Z' }) : null),
    k.one !== 'customer' ? h('fieldset', {}, h('legend', {}, 'MCP allow-list'),
      h('p', { class: 'muted' }, 'Both empty: none of its own (a key inherits its team\u2019s; with neither it may use no MCP tools). Tools: * for all of the servers\u2019.'),
      h('div', { class: 'fields' },
        input('mcp_servers', 'Servers (comma-separated; empty: any)', (r.mcp?.servers || []).join(', ')),
        input('mcp_tools', 'Tools (globs such as github__get_*; empty: all of those servers)', (r.mcp?.tools || []).join(', ')))) : null,
    h('fieldset', {}, h('legend', {}, 'Budget (US dollars per period)'), h('div', { class: 'fields' },
      input('max_usd', 'Max USD (empty: none)', r.budget?.max_usd ?? '', { type: 'number', min: 0, step: 'any' }),
      h('label', {}, 'Resets every', h('select', { name: 'reset' }, resets.map((x) => h('option', { value: x, selected: (r.budget?.reset || '1d') === x }, x)))))),
    h('fieldset', {}, h('legend', {}, 'Rate limits (0 or empty: none)'), h('div', { class: 'fields' },
      windows.map((w) => input(w, w, r.rate_limits?.[w] || '', { type: 'number', min: 0 })))),
    h('p', { class: 'error', role: 'alert' }),
    h('div', { class: 'row' }, h('button', { type: 'submit', value: 'save' }, creating ? 'Create' : 'Save'),
      h('button', { type: 'button', onclick: () => dlg.close() }, 'Cancel')));
  const dlg = h('dialog', { 'aria-label': (creating ? 'New ' : 'Edit ') + k.one }, form);
  dlg.addEventListener('close', () => dlg.remove());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = payload(k, new FormData(form), creating);
    const res = creating ? await api(k.path, { method: 'POST', body })
      : await api(`${k.path}/${encodeURIComponent(r.id)}`, { method: 'PATCH', body });
    if (!res.ok) { form.querySelector('.error').textContent = res.error; return; }
    dlg.close();
    if (res.data?.key) await showSecret(res.data.id, res.data.key);
    done();
  });
  document.body.append(dlg);
  dlg.showModal();
}

// payload is the JSON the API takes; on an edit, cleared fields are null (PATCH clears them).
function payload(k, fd, creating) {
  const v = (n) => (fd.get(n) ?? '').toString().trim();
  const list = (n) => v(n).split(',').map((s) => s.trim()).filter(Boolean);
  const orNull = (x) => (x === '' || x == null || (Array.isArray(x) && !x.length) ? (creating ? undefined : null) : x);
  const limits = {};
  for (const w of windows) if (Number(v(w)) > 0) limits[w] = Number(v(w));
  const b = { name: orNull(v('name')),
    budget: orNull(v('max_usd') === '' ? '' : { max_usd: v('max_usd'), reset: v('reset') === 'never' ? undefined : v('reset') }),
    rate_limits: orNull(Object.keys(limits).length ? limits : '') };
  if (creating) b.id = v('id');
  if (k.one === 'team') b.customer = orNull(v('customer'));
  if (k.one !== 'customer') {
    const servers = list('mcp_servers'), tools = list('mcp_tools');
    b.mcp = orNull(servers.length || tools.length ? { servers: servers.length ? servers : undefined, tools: tools.length ? tools : undefined } : '');
  }
  if (k.one === 'key') {
    Object.assign(b, { team: orNull(v('team')), customer: orNull(v('team') ? '' : v('customer')), models: orNull(list('models')),
      providers: orNull(list('providers')), max_concurrent: orNull(Number(v('max_concurrent')) || ''), expires_at: orNull(v('expires_at')) });
  }
  return JSON.parse(JSON.stringify(b)); // drops undefined
}

// showSecret shows a new secret once; it is not kept anywhere but the Playground's memory for this tab.
export function showSecret(id, secret) {
  rememberSecret(id, secret);
  return new Promise((resolve) => {
    const dlg = h('dialog', { 'aria-label': 'New secret' },
      h('h2', {}, `Secret of ${id}`),
      h('p', {}, 'Copy it now: it is shown only this once (Weir stores only its hash).'),
      h('pre', { class: 'secret', id: 'new-secret' }, secret),
      h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => copy(secret) }, 'Copy'),
        h('button', { type: 'button', class: 'primary', onclick: () => dlg.close() }, 'Done')));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// Secrets made in this tab, so the Playground can use them without pasting; gone when the tab closes.
const secrets = new Map();
export function rememberSecret(id, secret) { secrets.set(id, secret); }
export function knownSecret(id) { return secrets.get(id) || ''; }
