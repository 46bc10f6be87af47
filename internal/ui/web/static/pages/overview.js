// Overview: traffic, tokens, cost, errors and latency over a range, broken down by provider, model, key and
// team, with top spenders and budgets near their limit. One call to /api/stats/overview (answered from rollup
// tables) and one for the latest requests; gateways without the overview route fall back to /api/stats.
import { api, qs, origin } from '../api.js';
import { h, mount, fmt, table, empty, errorBox, meter, status } from '../dom.js';
import { lineChart } from '../chart.js';

const ranges = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };

export async function render(main, params) {
  const range = ranges[params.get('range')] ? params.get('range') : '24h';
  let ov = await api('/api/stats/overview' + qs({ range }));
  if (ov.status === 404) ov = await fallback(range);
  if (!ov.ok) { mount(main, header(range), errorBox(ov.error)); return; }
  const o = ov.data;
  if (!o.totals.requests) {
    mount(main, header(range), await noRequests());
    return;
  }
  const recent = await api('/api/logs' + qs({ limit: 8, total: 'false', columns: 'time,status,provider,model,key_id,duration_ms,cost_usd' }));
  mount(main, header(range), tiles(o.totals),
    h('div', { class: 'grid' }, charts(o.series)),
    o.by_provider ? h('div', { class: 'grid' },
      breakdown('By provider', o.by_provider), breakdown('By model', o.by_model),
      breakdown('By virtual key', o.by_key, '(no key)'), breakdown('By team', o.by_team, '(no team)')) : null,
    h('div', { class: 'grid' }, spenders(o.top_spenders), budgets(o.budgets)),
    latest(recent));
}

function header(range) {
  return h('div', { class: 'row spread' }, h('h1', {}, 'Overview'),
    h('div', { class: 'row', role: 'group', 'aria-label': 'Time range' }, Object.keys(ranges).map((r) =>
      h('a', { class: 'button', href: '#/overview?range=' + r, 'aria-current': r === range ? 'page' : null }, r === range ? h('strong', {}, r) : r))));
}

function tiles(t) {
  const tile = (label, value) => h('div', { class: 'tile' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
  const tokens = t.tokens ?? (t.input_tokens || 0) + (t.output_tokens || 0);
  return h('div', { class: 'tiles' }, tile('Requests', fmt.num(t.requests)), tile('Tokens', fmt.num(tokens)),
    tile('Cost', fmt.usd(t.cost_usd)), tile('Error rate', fmt.pct(t.error_rate ?? (t.requests ? t.errors / t.requests : 0))),
    tile('Latency p50 / p99', t.latency_ms ? fmt.ms(t.latency_ms.p50) + ' / ' + fmt.ms(t.latency_ms.p99) : '–'),
    tile('Gateway overhead p50', t.overhead_ms ? fmt.ms(t.overhead_ms.p50) : '–'));
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

function breakdown(title, rows, none = '–') {
  if (!rows || !rows.length) return h('div', { class: 'card' }, h('h2', {}, title), h('p', { class: 'muted' }, 'Nothing in this range.'));
  return h('div', { class: 'card' }, h('h2', {}, title), table([
    { label: 'Name', value: (r) => r.name || h('span', { class: 'muted' }, none) },
    { label: 'Requests', num: true, value: (r) => fmt.num(r.requests) },
    { label: 'Errors', num: true, value: (r) => fmt.pct(r.error_rate ?? 0) },
    { label: 'Tokens', num: true, value: (r) => fmt.num((r.input_tokens || 0) + (r.output_tokens || 0)) },
    { label: 'Cost', num: true, value: (r) => fmt.usd(r.cost_usd) },
    { label: 'Latency', num: true, value: (r) => fmt.ms(r.latency_p50_ms ?? r.latency_avg_ms) },
  ], rows));
}

function spenders(rows) {
  if (!rows) return null;
  return h('div', { class: 'card' }, h('h2', {}, 'Top spenders'), rows.length ? table([
    { label: 'Who', value: (r) => h('a', { href: '#/keys?tab=' + (r.kind === 'team' ? 'teams' : 'keys') }, r.subject) },
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
