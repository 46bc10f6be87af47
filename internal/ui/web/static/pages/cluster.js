// Cluster: this node's view of the members, their state and gossip health, and the shared counters.
import { api } from '../api.js';
import { h, mount, fmt, table, empty, errorBox } from '../dom.js';

export async function render(main) {
  const res = await api('/api/cluster');
  const title = h('h1', {}, 'Cluster');
  if (res.status === 404) {
    mount(main, title, empty('Cluster mode is off.', h('p', {}, 'This gateway runs alone. To share rate limits and budgets across replicas, set ',
      h('code', {}, 'cluster.enabled: true'), ' and the peers to join (see docs/cluster.md); this page then shows each member and its gossip health.')));
    return;
  }
  if (!res.ok) { mount(main, title, errorBox(res.error)); return; }
  const c = res.data;
  const tile = (label, value) => h('div', { class: 'tile' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
  mount(main, title,
    h('div', { class: 'tiles' }, tile('This node', c.self ?? '–'), tile('Members alive', `${c.alive ?? '–'} / ${(c.members || []).length}`),
      tile('Counters in sync', fmt.num(c.entries)), tile('Propagation delay (last / max)', `${fmt.ms(c.propagation_delay_last_ms)} / ${fmt.ms(c.propagation_delay_max_ms)}`),
      tile('Gossip out / in', `${fmt.num(c.gossip_bytes_out)} B / ${fmt.num(c.gossip_bytes_in)} B`)),
    h('div', { class: 'card' }, h('h2', {}, 'Members'), table([
      { label: 'Name', value: (m) => h('strong', {}, m.name + (m.self ? ' (this node)' : '')) },
      { label: 'Address', value: (m) => m.addr || '–' },
      { label: 'State', value: (m) => h('span', { class: 'pill ' + (m.state === 'alive' ? 'ok' : 'bad') }, m.state) },
      { label: 'Since', value: (m) => fmt.time(m.since) },
      { label: 'Last counter state', value: (m) => fmt.time(m.last_state) },
    ], c.members || [])),
    h('details', { class: 'card' }, h('summary', {}, 'Everything /api/cluster answered'), h('pre', {}, JSON.stringify(c, null, 2))));
}
