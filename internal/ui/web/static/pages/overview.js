// Overview: traffic, tokens, cost, errors and latency over a range, broken down by provider, model, key and
// team, with top spenders and budgets near their limit. One call to /api/stats/overview (answered from rollup
// tables) and one for the latest requests; gateways without the overview route fall back to /api/stats.
import { api, qs, origin } from '../api.js';
import { h, mount, fmt, table, empty, errorBox, meter, status } from '../dom.js';
import { lineChart } from '../chart.js';

const ranges = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };

// dims are the overview's filters: a breakdown's row narrows every figure to it.
const dims = ['provider', 'model', 'key', 'team'];

export async function render(main, params) {
  const range = ranges[params.get('range')] ? params.get('range') : '24h';
  const filter = Object.fromEntries(dims.map((d) => [d, params.get(d) || '']));
  let ov = await api('/api/stats/overview' + qs({ range, ...filter }));
  if (ov.status === 404) ov = await fallback(range);
  const head = header(range, filter);
  if (!ov.ok) { mount(main, head, errorBox(ov.error)); return; }
  const o = ov.data;
  if (!o.totals.requests) {
    mount(main, head, Object.values(filter).some(Boolean) ? empty('No requests match this filter in this range.') : await noRequests());
    return;
  }
  const logFilter = { provider: filter.provider, model: filter.model, key: filter.key, team: filter.team };
  const recent = await api('/api/logs' + qs({ ...logFilter, limit: 8, total: 'false', columns: 'time,status,provider,model,key_id,duration_ms,cost_usd' }));
  const by = (dim, title, rows, none) => breakdown(title, rows, none, (r) => link(range, filter, dim, r.name));
  mount(main, head, tiles(o.totals),
    h('div', { class: 'grid' }, charts(o.series)),
    o.by_provider ? h('div', { class: 'grid' },
      by('provider', 'By provider', o.by_provider, '(none)'), by('model', 'By model', o.by_model, '(none)'),
      by('key', 'By virtual key', o.by_key, '(no key)'), by('team', 'By team', o.by_team, '(no team)'),
      o.by_route?.length ? breakdown('By route', o.by_route) : null) : null,
    h('div', { class: 'grid' }, spenders(o.top_spenders), budgets(o.budgets)),
    latest(recent));
}

// link is the overview narrowed to one more dimension (requests without a key or team are "(none)").
function link(range, filter, dim, name) {
  return '#/overview' + qs({ range, ...filter, [dim]: name || '(none)' });
}

function header(range, filter) {
  const active = dims.filter((d) => filter[d]);
  return h('div', {},
    h('div', { class: 'row spread' }, h('h1', {}, 'Overview'),
      h('div', { class: 'row', role: 'group', 'aria-label': 'Time range' }, Object.keys(ranges).map((r) =>
        h('a', { class: 'button', href: '#/overview' + qs({ ...filter, range: r }), 'aria-current': r === range ? 'page' : null }, r)))),
    active.length ? h('div', { class: 'row' }, 'Only ', active.map((d) =>
      h('a', { class: 'button', href: '#/overview' + qs({ range, ...filter, [d]: '' }), 'aria-label': `Remove the ${d} filter` }, `${d}: ${filter[d]} ✕`))) : null);
}

function tiles(t) {
  const tile = (label, value) => h('div', { class: 'tile' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
  const tokens = t.tokens ?? (t.input_tokens || 0) + (t.output_tokens || 0);
  return h('div', { class: 'tiles' }, tile('Requests', fmt.num(t.requests)), tile('Tokens', fmt.num(tokens)),
    tile('Cost', fmt.usd(t.cost_usd)), tile('Error rate', fmt.pct(t.error_rate ?? (t.requests ? t.errors / t.requests : 0))),
    tile('Latency p50 / p99', t.latency_ms ? pair(t.latency_ms.p50, t.latency_ms.p99) : '–'),
    tile('Gateway overhead p50', t.overhead_ms ? fmt.ms(t.overhead_ms.p50) : '–'));
}

// pair is two durations as "1.2 / 3.4 ms", one unit when they share it.
function pair(a, b) {
  const x = fmt.ms(a), y = fmt.ms(b);
  return x.endsWith(' ms') && y.endsWith(' ms') ? x.slice(0, -3) + ' / ' + y : x + ' / ' + y;
}

function charts(series) {
  const pts = (f) => series.map((b) => [b.start, f(b)]);
  const out = [
    lineChart('Requests', [{ name: 'requests', points: pts((b) => b.requests) }, { name: 'errors', points: pts((b) => b.errors) }], fmt.num),
    lineChart('Tokens', [{ name: 'input', points: pts((b) => b.input_tokens) }, { name: 'output', points: pts((b) => b.output_tokens) }], fmt.num),
    lineChart('Cost', [{ name: 'cost', points: pts((b) => b.cost_usd ?? b.cost_nano_usd / 1e9) }], fmt.usdShort),
  ];
  const lat = series.filter((b) => b.latency_p50_ms != null);
  const lp = (f) => lat.map((b) => [b.start, f(b)]);
  const latency = [{ name: 'p50', points: lp((b) => b.latency_p50_ms) }, { name: 'p99', points: lp((b) => b.latency_p99_ms) }];
  if (lat.some((b) => b.overhead_p99_ms != null)) latency.push({ name: 'overhead p99', points: lp((b) => b.overhead_p99_ms) });
  out.push(lineChart('Latency', latency, fmt.ms));
  return out;
}

function breakdown(title, rows, none = '(none)', href) {
  if (!rows || !rows.length) return h('div', { class: 'card' }, h('h2', {}, title), h('p', { class: 'muted' }, 'Nothing in this range.'));
  const name = (r) => (r.name ? (r.label ? `${r.label} (${r.name})` : r.name) : none);
  const cols = [
    { label: 'Name', wrap: true, value: (r) => (href ? h('a', { href: href(r), title: 'Show only this' }, name(r)) : name(r)) },
    { label: 'Requests', num: true, value: (r) => fmt.num(r.requests) },
    { label: 'Errors', num: true, value: (r) => fmt.pct(r.error_rate ?? 0) },
    { label: 'Cost', num: true, value: (r) => fmt.usdShort(r.cost_usd) },
  ];
  if (rows.some((r) => r.latency_p50_ms != null)) cols.push({ label: 'p50', num: true, value: (r) => fmt.ms(r.latency_p50_ms) });
  return h('div', { class: 'card compact' }, h('h2', {}, title), table(cols, rows));
}

function spenders(rows) {
  if (!rows) return null;
  return h('div', { class: 'card' }, h('h2', {}, 'Top spenders'), rows.length ? table([
    { label: 'Who', value: (r) => h('a', { href: '#/keys?tab=' + (r.kind === 'team' ? 'teams' : 'keys') }, r.kind + ' ' + (r.label ? `${r.label} (${r.id})` : r.id)) },
    { label: 'Requests', num: true, value: (r) => fmt.num(r.requests) },
    { label: 'Cost', num: true, value: (r) => fmt.usd(r.cost_usd) },
  ], rows) : h('p', { class: 'muted' }, 'No spend by keys or teams in this range.'));
}

function budgets(rows) {
  if (!rows) return null;
  return h('div', { class: 'card' }, h('h2', {}, 'Budgets near their limit'), rows.length ? table([
    { label: 'Budget', value: (r) => r.subject + ' / ' + r.period },
    { label: 'Spent', value: (r) => h('div', {}, meter(Number(r.spent_usd), Number(r.limit_usd)), fmt.usd(r.spent_usd) + ' of ' + fmt.usd(r.limit_usd)) },
    { label: 'Resets', value: (r) => (r.resets_at ? fmt.time(r.resets_at) : 'never') },
  ], rows) : h('p', { class: 'muted' }, 'No budget is above 80% of its limit.'));
}

function latest(res) {
  if (!res.ok) return errorBox(res.error);
  return h('div', { class: 'card' }, h('div', { class: 'row spread' }, h('h2', {}, 'Latest requests'), h('a', { href: '#/logs' }, 'Open the request log →')),
    table([
      { label: 'Time', value: (r) => fmt.short(r.time) },
      { label: 'Status', value: (r) => status(r.status) },
      { label: 'Provider', value: (r) => r.provider || '–' },
      { label: 'Model', value: (r) => r.model || '–' },
      { label: 'Key', value: (r) => r.key_id || '–' },
      { label: 'Duration', num: true, value: (r) => fmt.ms(r.duration_ms) },
      { label: 'Cost', num: true, value: (r) => fmt.usd(r.cost_usd) },
    ], res.data.data, { onRow: (r) => { location.hash = '#/logs?open=' + encodeURIComponent(r.id); } }));
}

// noRequests is the empty state: a request to try, against a model this gateway serves.
async function noRequests() {
  const models = await api('/v1/models');
  const ids = models.ok ? models.data.data.map((m) => m.id) : [];
  const model = ids.find((m) => m.includes('echo')) || ids[0] || 'provider/model';
  return empty('No requests yet.', h('p', {}, 'Send one and this page fills in — try:'),
    h('pre', {}, `curl ${origin()}/v1/chat/completions \\\n  -H 'Content-Type: application/json' \\\n  -d '{"model":"${model}","messages":[{"role":"user","content":"hello"}]}'`),
    h('p', {}, 'Or use the ', h('a', { href: '#/playground' }, 'Playground'), '. Models served here: ', ids.length ? ids.join(', ') : 'none yet — add a provider.'));
}

// fallback builds the overview's shape from /api/stats, for gateways without /api/stats/overview.
async function fallback(range) {
  const res = await api('/api/stats' + qs({ from: new Date(Date.now() - ranges[range]).toISOString() }));
  if (!res.ok) return res;
  const t = res.data.totals;
  return { ok: true, data: { totals: { ...t, cost_usd: t.cost_nano_usd / 1e9 },
    series: res.data.data.map((b) => ({ ...b, cost_usd: b.cost_nano_usd / 1e9, latency_p50_ms: b.requests ? b.latency_p50_ms : null })) } };
}
