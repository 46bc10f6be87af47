// The drill-down panel of one request: attempts and fallbacks, the provider key (last 4 characters), tokens,
// cost, timings, trace id, and the content when content logging is on.
import { api } from '../api.js';
import { h, mount, fmt, status, table, errorBox } from '../dom.js';

let panel = null;

// Escape closes the panel wherever the focus is.
document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && panel && !document.querySelector('dialog[open]')) close(); });

export async function openDrilldown(id, row) {
  close();
  document.querySelectorAll('tr.selected').forEach((tr) => tr.classList.remove('selected'));
  row?.classList.add('selected');
  const heading = h('h2', { tabindex: '-1' }, 'Request');
  panel = h('aside', { class: 'panel', role: 'dialog', 'aria-label': 'Request details', id: 'drilldown' },
    h('div', { class: 'row spread' }, heading, h('button', { type: 'button', onclick: close }, 'Close')), h('p', { class: 'loading' }, 'Loading…'));
  panel.returnFocus = row;
  document.body.append(panel);
  heading.focus();
  const res = await api('/api/logs/' + encodeURIComponent(id));
  if (!panel) return;
  mount(panel, panel.firstChild, res.ok ? details(res.data) : errorBox(res.error));
}

function close() {
  if (!panel) return;
  const back = panel.returnFocus;
  panel.remove();
  panel = null;
  back?.focus();
}

function details(r) {
  const t = r.timings || { ttfb_ms: r.ttfb_ms, total_ms: r.duration_ms, overhead_ms: r.overhead_ms };
  const dl = (pairs) => h('dl', {}, pairs.filter(([, v]) => v != null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  return [
    dl([['Id', h('span', { class: 'mono' }, r.id)], ['Time', fmt.time(r.time)], ['Status', status(r.status)], ['Error', r.error],
      ['Route', r.route], ['Alias', r.alias], ['Provider', r.provider], ['Model', r.model],
      ['Provider key', r.provider_key], ['Virtual key', r.key_id], ['Team', r.team_id], ['Customer', r.customer_id],
      ['Stream', r.stream ? 'yes' : 'no'], ['Caller', r.caller_ip], ['Trace id', r.trace_id && h('span', { class: 'mono' }, r.trace_id)]]),
    h('h2', {}, 'Tokens, cost and timings'),
    dl([['Input tokens', fmt.num(r.input_tokens)], ['Output tokens', fmt.num(r.output_tokens)], ['Cost', fmt.usd(r.cost_usd)],
      ['Time to first byte', fmt.ms(t.ttfb_ms)], ['Total', fmt.ms(t.total_ms)], ['Gateway overhead', t.overhead_ms == null ? null : fmt.ms(t.overhead_ms)],
      ['Upstream', t.upstream_ms == null ? null : fmt.ms(t.upstream_ms)]]),
    h('h2', {}, 'Attempts'),
    r.attempts && r.attempts.length ? table([
      { label: '#', value: (a) => String(r.attempts.indexOf(a) + 1) },
      { label: 'Provider / model', value: (a) => a.provider + '/' + a.model + (a.fallback ? ' (fallback)' : a.retry ? ' (retry)' : '') },
      { label: 'Key', value: (a) => a.provider_key || '–' },
      { label: 'Status', value: (a) => status(a.status) },
      { label: 'Latency', num: true, value: (a) => fmt.ms(a.latency_ms) },
      { label: 'Error', wrap: true, value: (a) => a.error || '' },
    ], r.attempts) : h('p', { class: 'muted' }, 'No upstream attempt (answered by the gateway).'),
    h('h2', {}, 'Content'),
    r.request || r.response ? [h('h3', {}, 'Request'), h('pre', {}, r.request || ''), h('h3', {}, 'Response'), h('pre', {}, r.response || '')]
      : h('p', { class: 'muted' }, 'Content is not logged. Turn on client.log_content to keep request and response bodies.'),
    r.headers ? [h('h2', {}, 'Headers'), dl(Object.entries(r.headers))] : null,
  ];
}
