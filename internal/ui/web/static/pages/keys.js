// Virtual keys, teams and customers: list with spend and counters against each limit (and when they reset),
// create (a key's secret is shown once), edit, disable/enable, rotate, delete. Each tab makes at most three
// calls: its entities, /api/usage, and the parents its form offers.
import { api } from '../api.js';
import { redraw } from '../nav.js';
import { h, mount, fmt, table, empty, errorBox, meter, toast } from '../dom.js';
import { editEntity, showSecret } from './entityform.js';

const kinds = {
  keys: { title: 'Virtual keys', one: 'key', path: '/api/keys', subject: 'key', parents: '/api/teams' },
  teams: { title: 'Teams', one: 'team', path: '/api/teams', subject: 'team', parents: '/api/customers' },
  customers: { title: 'Customers', one: 'customer', path: '/api/customers', subject: 'customer' },
};

export async function render(main, params) {
  const tab = kinds[params.get('tab')] ? params.get('tab') : 'keys';
  const k = kinds[tab];
  const [list, usage, parents] = await Promise.all([api(k.path), api('/api/usage'),
    k.parents ? api(k.parents) : Promise.resolve({ ok: true, data: { data: [] } })]);
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Governance entities' }, Object.entries(kinds).map(([id, x]) =>
    h('a', { href: '#/keys?tab=' + id, 'aria-current': id === tab ? 'page' : null }, x.title)));
  const reload = redraw;
  const add = h('button', { class: 'primary', type: 'button', id: 'create-' + k.one,
    onclick: () => editEntity(k, null, parents.data?.data || [], reload) }, 'New ' + k.one);
  mount(main, h('div', { class: 'row spread' }, h('h1', {}, 'Keys & budgets'), add), tabs);
  if (!list.ok) { main.append(errorBox(list.error)); return; }
  const counters = new Map((usage.ok ? usage.data.data : []).map((u) => [u.subject, u.usage]));
  const rows = list.data.data;
  main.append(rows.length ? h('div', { class: 'card' }, entityTable(k, rows, counters, parents.data?.data || [], reload))
    : empty(`No ${k.title.toLowerCase()} yet.`, h('p', {}, `Create one with “New ${k.one}”`,
      k.one === 'key' ? ': give it a budget and limits, then use its secret as the OpenAI SDK’s api_key.' : '.')));
}

function entityTable(k, rows, counters, parents, reload) {
  const cols = [
    { label: 'Id', value: (r) => h('div', {}, h('strong', {}, r.id), r.name ? h('div', { class: 'muted' }, r.name) : null) },
  ];
  if (k.one === 'key') cols.push({ label: 'Secret', value: (r) => h('span', { class: 'mono' }, r.hint || '–') });
  if (k.one !== 'customer') cols.push({ label: 'Belongs to', value: (r) => r.team ? 'team ' + r.team : r.customer ? 'customer ' + r.customer : '–' });
  if (k.one === 'key') cols.push({ label: 'Models', wrap: true, value: (r) => (r.models?.length ? r.models.join(', ') : 'all') });
  if (k.one !== 'customer') cols.push({ label: 'MCP', wrap: true, value: (r) => (r.mcp ? [r.mcp.servers?.join(', ') || 'any server', r.mcp.tools?.join(', ')].filter(Boolean).join(': ') : k.one === 'key' ? 'team\u2019s' : 'none') });
  cols.push(
    { label: 'Spend and limits', wrap: true, value: (r) => limits(k.subject + ':' + r.id, counters.get(k.subject + ':' + r.id), r) },
    { label: 'State', value: (r) => h('span', { class: 'pill ' + (r.disabled ? 'bad' : 'ok') }, r.disabled ? 'disabled' : 'active') },
    { label: 'Actions', value: (r) => actions(k, r, parents, reload) },
  );
  return table(cols, rows);
}

// limits shows each counter against its limit, with its reset time; limits with nothing counted yet show the
// configured maximum only.
function limits(subject, usage, r) {
  if (usage && usage.length) {
    return h('div', {}, usage.map((u) => {
      const money = u.max_usd != null;
      const used = money ? Number(u.spent_usd) : u.used, max = money ? Number(u.max_usd) : u.max;
      return h('div', { class: 'limit' }, h('div', { class: 'row spread' },
        h('span', {}, u.limit + (u.subject === subject ? '' : ' (' + u.subject + ')')),
        h('span', { class: 'muted' }, (money ? fmt.usd(used) + ' / ' + fmt.usd(max) : fmt.num(used) + ' / ' + fmt.num(max)) +
          (u.resets_at ? ' · resets ' + fmt.time(u.resets_at) : ''))), meter(used, max));
    }));
  }
  const parts = [];
  if (r.budget) parts.push(`budget ${fmt.usd(r.budget.max_usd)}/${r.budget.reset || 'never'}`);
  for (const [m, v] of Object.entries(r.rate_limits || {})) if (v) parts.push(`${m} ${v}`);
  if (r.max_concurrent) parts.push(`${r.max_concurrent} at once`);
  return parts.length ? parts.join(' · ') + ' (nothing used yet)' : h('span', { class: 'muted' }, 'no limits');
}

function actions(k, r, parents, reload) {
  const act = async (label, method, suffix, confirmText) => {
    if (confirmText && !confirm(confirmText)) return;
    const res = await api(`${k.path}/${encodeURIComponent(r.id)}${suffix}`, { method });
    if (!res.ok) { toast(res.error); return; }
    if (res.data?.key) await showSecret(r.id, res.data.key);
    toast(`${label}: ${r.id}`);
    reload();
  };
  return h('div', { class: 'row actions' },
    h('button', { type: 'button', onclick: () => editEntity(k, r, parents, reload), 'aria-label': 'Edit ' + r.id }, 'Edit'),
    r.disabled ? h('button', { type: 'button', onclick: () => act('Enabled', 'POST', '/enable') }, 'Enable')
      : h('button', { type: 'button', onclick: () => act('Disabled', 'POST', '/disable') }, 'Disable'),
    k.one === 'key' ? h('button', { type: 'button', onclick: () => act('Rotated', 'POST', '/rotate', `Rotate ${r.id}? Its current secret stops working at once.`) }, 'Rotate') : null,
    h('button', { type: 'button', class: 'danger', onclick: () => act('Deleted', 'DELETE', '', `Delete ${k.one} ${r.id}?`) }, 'Delete'));
}
