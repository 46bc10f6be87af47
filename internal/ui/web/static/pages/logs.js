// Request log explorer: server-side filters (kept in the URL), chosen columns, one page of rows at a time with
// keyset "next page", a drill-down panel, and a live tail with the same filters (Server-Sent Events).
import { api, qs, url } from '../api.js';
import { h, mount, fmt, table, status, empty, errorBox } from '../dom.js';
import { openDrilldown } from './drilldown.js';
import { redraw } from '../nav.js';

const PAGE = 50;

// filters are the explorer's inputs: [param, label, type, options]; the first FIRST always show.
const FIRST = 6;
const filters = [
  ['from', 'From', 'datetime-local'], ['to', 'To', 'datetime-local'],
  ['status', 'Status', 'select', ['', 'ok', 'error', '2xx', '4xx', '5xx', '429']],
  ['provider', 'Provider'], ['model', 'Model'], ['key', 'Virtual key'],
  ['alias', 'Alias'], ['route', 'Route'], ['team', 'Team'], ['customer', 'Customer'],
  ['stream', 'Stream', 'select', ['', 'true', 'false']],
  ['min_cost_usd', 'Min cost $', 'number'], ['max_cost_usd', 'Max cost $', 'number'],
  ['min_latency_ms', 'Min latency ms', 'number'], ['max_latency_ms', 'Max latency ms', 'number'],
  ['min_tokens', 'Min tokens', 'number'], ['max_tokens', 'Max tokens', 'number'],
  ['error', 'Error text'],
];

// columns the explorer can show: [field, label, render, numeric].
export const columns = [
  ['time', 'Time', (r) => fmt.time(r.time)],
  ['status', 'Status', (r) => status(r.status)],
  ['route', 'Route', (r) => r.route || '–'],
  ['alias', 'Alias', (r) => r.alias || '–'],
  ['provider', 'Provider', (r) => r.provider || '–'],
  ['model', 'Model', (r) => r.model || '–'],
  ['key_id', 'Key', (r) => r.key_id || '–'],
  ['team_id', 'Team', (r) => r.team_id || '–'],
  ['customer_id', 'Customer', (r) => r.customer_id || '–'],
  ['input_tokens', 'In tok', (r) => fmt.num(r.input_tokens), true],
  ['output_tokens', 'Out tok', (r) => fmt.num(r.output_tokens), true],
  ['cost_usd', 'Cost', (r) => fmt.usd(r.cost_usd), true],
  ['ttfb_ms', 'TTFB', (r) => fmt.ms(r.ttfb_ms), true],
  ['duration_ms', 'Duration', (r) => fmt.ms(r.duration_ms), true],
  ['overhead_ms', 'Overhead', (r) => fmt.ms(r.overhead_ms), true],
  ['stream', 'Stream', (r) => (r.stream ? 'yes' : 'no')],
  ['caller_ip', 'Caller', (r) => r.caller_ip || '–'],
  ['trace_id', 'Trace', (r) => r.trace_id || '–'],
  ['error', 'Error', (r) => r.error || ''],
];
const defaultColumns = ['time', 'status', 'provider', 'model', 'key_id', 'input_tokens', 'output_tokens', 'cost_usd', 'duration_ms', 'error'];

function chosenColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem('weir.logColumns'));
    if (Array.isArray(saved) && saved.length) return saved.filter((c) => columns.some((k) => k[0] === c));
  } catch { /* fall through to the default */ }
  return defaultColumns;
}

// apiFilters turns the page's parameters into the API's (times in RFC 3339).
function apiFilters(params) {
  const f = {};
  for (const [name] of filters) {
    let v = params.get(name) || '';
    if (v && (name === 'from' || name === 'to')) v = new Date(v).toISOString();
    f[name] = v;
  }
  return f;
}

export async function render(main, params) {
  const cols = chosenColumns();
  const f = apiFilters(params);
  const res = await api('/api/logs' + qs({ ...f, limit: PAGE, total: 'false', cursor: params.get('cursor') || '', columns: cols.join(',') }));
  const body = h('div');
  const tail = liveTail(f, cols, body);
  mount(main, h('div', { class: 'row spread' }, h('h1', {}, 'Request log'), tail.toggle), filterForm(params), columnChooser(cols), body);
  if (!res.ok) { mount(body, errorBox(res.error)); return tail.stop; }
  const rows = res.data.data || [];
  const filtered = filters.some(([n]) => params.get(n));
  mount(body, rows.length ? h('div', { class: 'card' }, rowsTable(rows, cols)) : empty(filtered ? 'No request matches these filters.' : 'No requests logged yet.',
    h('p', {}, filtered ? 'Widen the filters, or clear them.' : 'Requests through the gateway appear here within a second — try the ', filtered ? null : h('a', { href: '#/playground' }, 'Playground'), filtered ? null : '.')),
  pager(params, res.data));
  tail.setTable(body.querySelector('tbody'));
  if (params.get('open')) openDrilldown(params.get('open'));
  return tail.stop;
}

function rowsTable(rows, cols) {
  const spec = cols.map((c) => columns.find((k) => k[0] === c)).map(([, label, value, num]) => ({ label, value, num, wrap: label === 'Error' }));
  return table(spec, rows, { dense: true, onRow: (r, tr) => openDrilldown(r.id, tr) });
}

function pager(params, data) {
  const p = new URLSearchParams(params);
  p.delete('open');
  const newest = new URLSearchParams(p);
  newest.delete('cursor');
  p.set('cursor', data.next_cursor || '');
  return h('div', { class: 'row' },
    params.get('cursor') ? h('a', { class: 'button', href: '#/logs?' + newest }, '⇤ Newest') : null,
    data.has_more ? h('a', { class: 'button', href: '#/logs?' + p, id: 'next-page' }, 'Next page →') : h('span', { class: 'muted' }, 'End of the log.'));
}

function filterForm(params) {
  const field = ([name, label, type = 'text', opts]) => h('label', {}, label,
    type === 'select' ? h('select', { name }, opts.map((o) => h('option', { value: o, selected: params.get(name) === o }, o || 'any')))
      : h('input', { name, type, value: params.get(name) || '', step: type === 'number' ? 'any' : null }));
  const more = filters.slice(FIRST);
  const form = h('form', { class: 'card', id: 'log-filters', 'aria-label': 'Filters' },
    h('div', { class: 'fields' }, filters.slice(0, FIRST).map(field)),
    h('details', { open: more.some(([n]) => params.get(n)) }, h('summary', {}, 'More filters'), h('div', { class: 'fields' }, more.map(field))),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Apply filters'), h('a', { class: 'button', href: '#/logs' }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
    location.hash = '#/logs?' + p;
  });
  return form;
}

function columnChooser(cols) {
  const boxes = columns.map(([field, label]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: field, checked: cols.includes(field) }), label));
  const d = h('details', { class: 'card' }, h('summary', {}, 'Columns'), h('div', { class: 'fields' }, boxes),
    h('button', { type: 'button', onclick: () => {
      const chosen = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.name);
      localStorage.setItem('weir.logColumns', JSON.stringify(chosen.length ? chosen : defaultColumns));
      redraw();
    } }, 'Show these columns'));
  return d;
}

// liveTail is the toggle that streams new rows into the table (newest first, never more than one page).
function liveTail(f, cols, body) {
  let es = null, tbody = null;
  const note = h('span', { class: 'muted', role: 'status' });
  const box = h('input', { type: 'checkbox', id: 'live-tail' });
  const stop = () => { if (es) { es.close(); es = null; } note.textContent = ''; };
  box.addEventListener('change', () => {
    if (!box.checked) { stop(); return; }
    es = new EventSource(url('/api/logs/tail' + qs({ ...f, from: '', to: '', columns: cols.join(',') })));
    note.textContent = 'connecting…';
    es.addEventListener('ready', () => { note.textContent = 'live'; });
    es.addEventListener('log', (e) => {
      const row = JSON.parse(e.data);
      if (!tbody) { mount(body, h('div', { class: 'card' }, rowsTable([row], cols))); tbody = body.querySelector('tbody'); return; }
      const tr = rowsTable([row], cols).querySelector('tbody tr');
      tbody.prepend(tr);
      while (tbody.rows.length > PAGE) tbody.lastElementChild.remove();
    });
    es.addEventListener('dropped', (e) => { note.textContent = `live (${JSON.parse(e.data).dropped} rows skipped: too many to show)`; });
    es.onerror = () => {
      if (es && es.readyState === EventSource.CLOSED) { stop(); box.checked = false; note.textContent = 'Live tail is not available on this gateway.'; }
    };
  });
  return { toggle: h('div', { class: 'row' }, h('label', { class: 'check', for: 'live-tail' }, box, 'Live tail'), note),
    stop, setTable: (t) => { tbody = t; } };
}
