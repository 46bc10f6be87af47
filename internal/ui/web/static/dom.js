// DOM helpers: h() builds elements (text is always set as text, never parsed as HTML), plus formatting.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(tag.startsWith('svg:') ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml',
    tag.replace(/^svg:/, ''));
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k === 'style') Object.assign(el.style, v);
    else if (k in el && !tag.startsWith('svg:') && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// mount replaces the children of el.
export function mount(el, ...children) { el.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false)); }

export const fmt = {
  num: (n) => (n == null ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 })),
  usd: (n) => {
    if (n == null || n === '') return '–';
    const v = Number(n);
    return '$' + (v === 0 ? '0' : v < 0.01 ? v.toPrecision(3) : v.toLocaleString('en-US', { maximumFractionDigits: 4 }));
  },
  usdShort: (n) => (n >= 1 ? '$' + Number(n).toFixed(n >= 100 ? 0 : 2) : n > 0 ? '$' + Number(Number(n).toPrecision(2)) : '$0'),
  ms: (n) => (n == null ? '–' : n < 10 ? n.toFixed(2) + ' ms' : n < 1000 ? Math.round(n) + ' ms' : (n / 1000).toFixed(2) + ' s'),
  pct: (n) => (n == null ? '–' : (n * 100).toFixed(n < 0.1 ? 2 : 1) + '%'),
  time: (t) => (t ? new Date(t).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }) : '–'),
  short: (t) => (t ? new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '–'),
};

// status renders an HTTP status as a coloured pill.
export function status(code) {
  const cls = code >= 500 || code === 0 ? 'bad' : code >= 400 ? 'warn' : 'ok';
  return h('span', { class: 'pill ' + cls }, code || 'no answer');
}

// empty is an empty state: what is missing and what to do next.
export function empty(title, ...next) {
  return h('div', { class: 'notice', role: 'status' }, h('strong', {}, title), ...next);
}

// errorBox shows a failed call's message.
export function errorBox(msg) { return h('p', { class: 'error', role: 'alert' }, msg); }

// table renders rows with columns [{label, value(row) -> node|text, num}]; onRow makes rows clickable. On a
// phone a table's rows become stacked cards, unless dense (kept as rows that scroll sideways).
export function table(columns, rows, { onRow, caption, dense } = {}) {
  return h('div', { class: 'scroll' }, h('table', { class: dense ? null : 'stack' },
    caption ? h('caption', { class: 'muted' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null, scope: 'col' }, c.label)))),
    h('tbody', {}, rows.map((r) => {
      const tr = h('tr', {}, columns.map((c) => h('td', { class: [c.num && 'num', c.wrap && 'wrap'].filter(Boolean).join(' ') || null, 'data-label': c.label }, c.value(r))));
      if (onRow) {
        tr.className = 'clickable';
        tr.tabIndex = 0;
        tr.addEventListener('click', () => onRow(r, tr));
        tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onRow(r, tr); } });
      }
      return tr;
    }))));
}

// meter is a bar of used against max, coloured as it nears the limit.
export function meter(used, max) {
  const f = max > 0 ? Math.min(1, used / max) : 0;
  const m = h('div', { class: 'meter' + (f >= 0.9 ? ' bad' : f >= 0.7 ? ' warn' : ''), role: 'meter',
    'aria-valuemin': '0', 'aria-valuemax': String(max), 'aria-valuenow': String(used) }, h('span'));
  m.firstChild.style.width = (f * 100).toFixed(1) + '%';
  return m;
}

// toast shows a short message.
export function toast(msg) {
  const t = h('div', { class: 'toast', role: 'status' }, msg);
  document.body.append(t);
  setTimeout(() => t.remove(), 2500);
}

// copy puts text on the clipboard.
export async function copy(text) {
  try { await navigator.clipboard.writeText(text); toast('Copied'); } catch { toast('Copy failed: select the text instead'); }
}
