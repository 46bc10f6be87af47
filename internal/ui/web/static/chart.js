// A small hand-written SVG line chart: series of [time, value] points on one time axis.
import { h } from './dom.js';

const W = 440, H = 170, L = 66, R = 8, T = 10, B = 22;
const colours = ['var(--c1)', 'var(--c2)', 'var(--c3)', 'var(--c4)', 'var(--c5)', 'var(--c6)'];

// lineChart renders series [{name, points: [[Date|string, number]]}] with a y-axis formatted by format (keep its
// labels short: about 7 characters fit).
export function lineChart(title, series, format = String) {
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) return h('div', { class: 'chart card' }, h('h2', {}, title), h('p', { class: 'muted' }, 'No data in this range.'));
  const xs = pts.map((p) => +new Date(p[0]));
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const ymax = niceMax(Math.max(...pts.map((p) => p[1] || 0)));
  const x = (t) => L + ((+new Date(t) - x0) / (x1 - x0)) * (W - L - R);
  const y = (v) => T + (1 - (v || 0) / ymax) * (H - T - B);
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  for (const f of [0, 0.5, 1]) {
    svg.append(h('svg:line', { class: 'axis', x1: L, x2: W - R, y1: y(ymax * f), y2: y(ymax * f) }),
      h('svg:text', { x: L - 4, y: y(ymax * f) + 4, 'text-anchor': 'end' }, format(ymax * f)));
  }
  for (const t of x1 - x0 > 60e3 ? [x0, (x0 + x1) / 2, x1] : [x0]) {
    svg.append(h('svg:text', { x: x(t), y: H - 6, 'text-anchor': t === x0 ? 'start' : t === x1 ? 'end' : 'middle' }, tick(t, x1 - x0)));
  }
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => (j ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join(' ');
    const path = h('svg:path', { class: 'line', d });
    path.style.stroke = colours[i % colours.length];
    svg.append(path);
    if (s.points.length === 1) {
      const c = h('svg:circle', { cx: x(s.points[0][0]), cy: y(s.points[0][1]), r: 3 });
      c.style.fill = colours[i % colours.length];
      svg.append(c);
    }
  });
  const legend = series.length > 1 ? h('div', { class: 'legend' }, series.map((s, i) => {
    const sw = h('i');
    sw.style.background = colours[i % colours.length];
    return h('span', {}, sw, s.name);
  })) : null;
  return h('div', { class: 'chart card' }, h('h2', {}, title), svg, legend);
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

function tick(t, span) {
  const d = new Date(t);
  return span > 2 * 86400e3 ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
    : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
