// Providers and models: every provider with its keys (last 4 characters only), health and worker pool; add,
// edit and remove stored providers live; aliases with their targets; the price table. Three calls:
// /api/providers, /api/models and /api/pricing.
import { api } from '../api.js';
import { redraw } from '../nav.js';
import { h, mount, fmt, table, empty, errorBox, toast } from '../dom.js';
import { editProvider } from './providerform.js';

export async function render(main) {
  const [prov, models, prices] = await Promise.all([api('/api/providers'), api('/api/models'), api('/api/pricing')]);
  const reload = redraw;
  mount(main, h('div', { class: 'row spread' }, h('h1', {}, 'Providers & models'),
    h('button', { type: 'button', class: 'primary', id: 'add-provider', onclick: () => editProvider(null, reload) }, 'Add provider')),
  providersCard(prov, reload), aliasesCard(models, prices), pricesCard(prices));
}

function providersCard(res, reload) {
  if (!res.ok) return h('div', { class: 'card' }, h('h2', {}, 'Providers'), errorBox(res.error));
  const rows = res.data.data;
  const configured = rows.some((p) => p.source === 'config');
  return h('div', { class: 'card' }, h('h2', {}, 'Providers'),
    configured ? null : h('p', { class: 'muted' }, 'This gateway lists only providers stored through the admin API here; the ones in its config file are served too (see the models below).'),
    rows.length ? table([
      { label: 'Name', value: (p) => h('div', {}, h('strong', {}, p.name), h('div', { class: 'muted' }, p.type + ' · ' + (p.source === 'config' ? 'config file' : 'stored'))) },
      { label: 'Status', value: (p) => h('div', {}, h('span', { class: 'pill ' + (!p.status || p.status === 'active' ? 'ok' : 'bad') }, p.status || 'stored'),
        p.error ? h('div', { class: 'error' }, p.error) : null) },
      { label: 'Keys', value: (p) => (p.keys || []).map((k) => h('div', { class: 'mono' }, `${k.id}: ${k.masked || (k.has_value ? 'set' : 'none')}` + (k.weight ? ` ×${k.weight}` : ''))) },
      { label: 'Health', wrap: true, value: health },
      { label: 'Pool', value: (p) => (p.pool ? `${p.pool.in_flight} in flight · ${p.pool.queued} queued · ${p.pool.dropped_total} dropped` : '–') },
      { label: 'Requests', num: true, value: (p) => (p.usage ? `${fmt.num(p.usage.requests)} (${fmt.num(p.usage.errors)} errors)` : '–') },
      { label: 'Actions', value: (p) => (p.source === 'config' ? h('span', { class: 'muted' }, 'edit the config file')
        : h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => editProvider(p, reload) }, 'Edit'),
          h('button', { type: 'button', class: 'danger', onclick: () => remove(p, reload) }, 'Remove'))) },
    ], rows) : empty('No stored providers.', h('p', {}, 'Add one with “Add provider”: it serves traffic at once, no restart needed.')));
}

function health(p) {
  const hl = p.health;
  if (!hl) return '–';
  const cls = hl.state === 'closed' ? 'ok' : hl.state === 'open' ? 'bad' : 'warn';
  return h('div', {}, h('span', { class: 'pill ' + cls }, 'breaker ' + hl.state),
    hl.recent ? h('div', { class: 'muted' }, hl.recent.requests ? `${hl.recent.requests} recent · ${hl.recent.errors} errors · p50 ${fmt.ms(hl.recent.latency_p50_ms)}` : 'no recent requests') : null,
    hl.last_error ? h('div', { class: 'error' }, `${fmt.short(hl.last_error.at)} ${hl.last_error.status}: ${hl.last_error.message}`) : null);
}

async function remove(p, reload) {
  if (!confirm(`Remove provider ${p.name}? It gets no new request from now on.`)) return;
  const res = await api('/api/providers/' + encodeURIComponent(p.name), { method: 'DELETE' });
  toast(res.ok ? 'Removed ' + p.name : res.error);
  reload();
}

function aliasesCard(res, prices) {
  if (!res.ok) {
    const served = prices.ok ? prices.data.data.map((m) => m.model) : [];
    return h('div', { class: 'card' }, h('h2', {}, 'Models'), served.length ? h('p', {}, served.join(', ')) : h('p', { class: 'muted' }, 'See GET /v1/models.'));
  }
  const aliases = res.data.aliases || [];
  return h('div', { class: 'grid' },
    h('div', { class: 'card' }, h('h2', {}, 'Aliases'), aliases.length ? table([
      { label: 'Alias', value: (a) => h('strong', {}, a.name) },
      { label: 'Strategy', value: (a) => a.strategy },
      { label: 'Targets', wrap: true, value: (a) => a.targets.map((t) => h('div', {}, `${t.provider}/${t.model}` + (t.weight ? ` ×${t.weight}` : '') + ' ',
        h('span', { class: 'pill ' + (t.state === 'closed' ? 'ok' : t.state === 'open' ? 'bad' : 'warn') }, t.state))) },
      { label: 'Fallbacks', wrap: true, value: (a) => (a.fallbacks || []).join(' → ') || '–' },
    ], aliases) : h('p', { class: 'muted' }, 'No aliases. Define them under models: in the config file.')),
    h('div', { class: 'card' }, h('h2', {}, 'Models served'), table([
      { label: 'Model', value: (m) => m.id }, { label: 'Provider', value: (m) => m.provider },
      { label: 'Source', value: (m) => (m.source === 'config' ? 'config file' : 'stored') },
    ], res.data.models || [])));
}

function pricesCard(res) {
  if (!res.ok) return h('div', { class: 'card' }, h('h2', {}, 'Prices'), errorBox(res.error));
  return h('div', { class: 'card' }, h('h2', {}, 'Prices of the models served'),
    h('p', { class: 'muted' }, `${res.data.entries} models in the price table (built-in prices merged with governance.price_file).`),
    table([
      { label: 'Model', value: (m) => m.model },
      { label: 'Mode', value: (m) => m.mode || '–' },
      { label: 'Input $/1M', num: true, value: (m) => fmt.usd(m.input_usd_per_million_tokens) },
      { label: 'Output $/1M', num: true, value: (m) => fmt.usd(m.output_usd_per_million_tokens) },
      { label: 'Context', num: true, value: (m) => fmt.num(m.max_input_tokens) },
    ], res.data.data));
}
