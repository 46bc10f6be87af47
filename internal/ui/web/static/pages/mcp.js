// MCP: the MCP servers the gateway fronts at /mcp, each with its state, transport, tools and last error
// (one call: GET /api/mcp/servers).
import { api } from '../api.js';
import { h, mount, fmt, table, empty, errorBox } from '../dom.js';

const stateClass = { up: 'ok', connecting: 'warn', down: 'bad', stopped: 'bad' };

export async function render(main) {
  const res = await api('/api/mcp/servers');
  const title = h('h1', {}, 'MCP servers');
  const servers = res.ok ? res.data.data || [] : [];
  if (res.status === 404 || (res.ok && !servers.length)) {
    mount(main, title, empty('No MCP servers are configured.', h('p', {}, 'List them under ', h('code', {}, 'mcp.servers'),
      ' in the config file (a name, a transport — ', h('code', {}, 'stdio'), ' with a command, or ', h('code', {}, 'streamable-http'),
      ' with a URL — and optional tool prices); the gateway then serves their tools to MCP clients at ', h('code', {}, '/mcp'),
      ' and to agent-mode requests, and this page shows each server\u2019s state and tools. See docs/mcp.md.'),
    h('pre', { class: 'config' }, ['mcp:', '  servers:', '    - name: fs', '      transport: stdio', '      command:', '        - npx', '        - -y',
      '        - "@modelcontextprotocol/server-filesystem"', '        - /data'].join('\n'))));
    return;
  }
  if (!res.ok) { mount(main, title, errorBox(res.error)); return; }
  const up = servers.filter((s) => s.state === 'up').length;
  const tile = (label, value) => h('div', { class: 'tile' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
  mount(main, title,
    h('div', { class: 'tiles' }, tile('Servers up', `${up} / ${servers.length}`), tile('Tools', fmt.num(servers.reduce((n, s) => n + (s.tools || 0), 0)))),
    h('div', { class: 'card' }, h('h2', {}, 'Servers'), table([
      { label: 'Name', value: (s) => h('strong', {}, s.name) },
      { label: 'State', value: (s) => h('span', { class: 'pill ' + (stateClass[s.state] || 'warn') }, s.state) },
      { label: 'Since', value: (s) => fmt.time(s.since) },
      { label: 'Transport', value: (s) => s.transport },
      { label: 'Tools', num: true, value: (s) => fmt.num(s.tools) },
      { label: 'Resources / prompts', num: true, value: (s) => `${fmt.num(s.resources)} / ${fmt.num(s.prompts)}` },
      { label: 'Restarts', num: true, value: (s) => fmt.num(s.restarts) },
      { label: 'Last error', wrap: true, value: (s) => (s.last_error ? h('span', { class: 'error' }, s.last_error) : '–') },
    ], servers)),
    servers.filter((s) => s.tool_names?.length).map((s) => h('details', { class: 'card tools', open: servers.length <= 3 },
      h('summary', {}, `${s.name}: ${s.tool_names.length} tool${s.tool_names.length === 1 ? '' : 's'}`),
      h('p', { class: 'muted' }, 'Clients call them as ', h('code', {}, `${s.name}__<tool>`), '; a key\u2019s mcp allow-list (Keys & budgets) narrows them.'),
      h('ul', { class: 'chips' }, s.tool_names.map((t) => h('li', {}, h('code', {}, t)))))));
}
