// Playground: pick a virtual key and a model or alias, chat with streaming through /v1/chat/completions, see the
// request's log entry and cost, and copy the request as curl, Python or TypeScript.
import { api, url, origin } from '../api.js';
import { h, mount, fmt, status, errorBox, copy } from '../dom.js';
import { knownSecret } from './entityform.js';
import { snippets } from './snippets.js';

const history = [];

export async function render(main) {
  const [keys, models] = await Promise.all([api('/api/keys'), api('/v1/models')]);
  const keyList = keys.ok ? keys.data.data : [];
  const modelIds = models.ok ? models.data.data.map((m) => m.id) : [];
  const keySel = h('select', { name: 'key', id: 'pg-key' }, h('option', { value: '' }, 'no key'),
    keyList.map((k) => h('option', { value: k.id }, `${k.id} (${k.hint})`)));
  const secret = h('input', { type: 'password', id: 'pg-secret', autocomplete: 'off', placeholder: 'wk-… (shown when the key was made)' });
  keySel.addEventListener('change', () => { secret.value = knownSecret(keySel.value); });
  const model = h('input', { id: 'pg-model', list: 'pg-models', value: modelIds.find((m) => m.includes('echo')) || modelIds[0] || '' });
  const stream = h('input', { type: 'checkbox', id: 'pg-stream', checked: true });
  const prompt = h('textarea', { id: 'pg-prompt', rows: 3, placeholder: 'Say hello' });
  const chat = h('div', { class: 'chat', 'aria-live': 'polite' });
  const entry = h('div', { id: 'pg-entry' });
  const code = h('div');
  const redraw = () => mount(chat, history.map((m) => h('div', { class: 'msg ' + m.role }, m.content)));
  redraw();
  const form = h('form', { class: 'card' },
    h('div', { class: 'fields' },
      h('label', { for: 'pg-key' }, 'Virtual key', keySel), h('label', { for: 'pg-secret' }, 'Its secret', secret),
      h('label', { for: 'pg-model' }, 'Model or alias', model), h('datalist', { id: 'pg-models' }, modelIds.map((m) => h('option', { value: m }))),
      h('label', { class: 'check', for: 'pg-stream' }, stream, 'Stream')),
    chat, h('label', { for: 'pg-prompt' }, 'Message', prompt),
    h('div', { class: 'row' }, h('button', { type: 'submit', id: 'pg-send' }, 'Send'),
      h('button', { type: 'button', onclick: () => { history.length = 0; redraw(); mount(entry); } }, 'Clear chat')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!prompt.value.trim()) return;
    history.push({ role: 'user', content: prompt.value });
    prompt.value = '';
    const reply = { role: 'assistant', content: '' };
    history.push(reply);
    redraw();
    const req = { model: model.value.trim(), messages: history.slice(0, -1), stream: stream.checked };
    if (req.stream) req.stream_options = { include_usage: true };
    mount(code, snippetBox(req));
    const { err, id } = await send(req, secret.value.trim(), (text) => { reply.content = text; chat.lastElementChild.textContent = text; });
    if (err) { reply.content = '⚠ ' + err; redraw(); }
    mount(entry, id ? await logEntry(id) : h('p', { class: 'muted' }, 'This gateway keeps no request log (client.enable_logging is off).'));
  });
  mount(main, h('h1', {}, 'Playground'), keyList.length ? null : h('p', { class: 'muted' },
    'No virtual keys yet: requests go without one (allowed unless client.enforce_governance_header is on). ', h('a', { href: '#/keys' }, 'Create a key'), ' to try its limits.'),
  form, entry, code);
}

// send posts the chat and streams the answer's text into onText; it returns {err, id}: an error message or '',
// and the request's log-record id from the X-Weir-Request-Id header ('' when the gateway keeps no log).
async function send(req, secret, onText) {
  let id = '';
  const err = await exchange(req, secret, onText, (res) => { id = res.headers.get('X-Weir-Request-Id') || ''; });
  return { err, id };
}

async function exchange(req, secret, onText, onAnswer) {
  const headers = { 'Content-Type': 'application/json' };
  if (secret) headers.Authorization = 'Bearer ' + secret;
  let res;
  try {
    res = await fetch(url('/v1/chat/completions'), { method: 'POST', headers, body: JSON.stringify(req) });
  } catch (e) { return 'the gateway did not answer: ' + e.message; }
  onAnswer(res);
  if (!res.ok) {
    const data = await res.json().catch(() => null);
    return `${res.status}: ${data?.error?.message || res.statusText}`;
  }
  if (!req.stream) {
    const data = await res.json();
    onText(data.choices?.[0]?.message?.content ?? '');
    return '';
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '', text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line.startsWith('data:') || line === 'data: [DONE]') continue;
      const chunk = JSON.parse(line.slice(5));
      if (chunk.error) return chunk.error.message;
      text += chunk.choices?.[0]?.delta?.content || '';
      onText(text);
    }
  }
  return '';
}

// logEntry fetches the request's own log record by the id its answer carried. The record is written within
// about a second of the answer: at most two calls (404 until then), so a send makes no more than three.
async function logEntry(id) {
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 1100));
    const res = await api('/api/logs/' + encodeURIComponent(id));
    if (res.status === 404) continue;
    if (!res.ok) return errorBox(res.error);
    const r = res.data;
    return h('div', { class: 'card' }, h('h2', {}, 'Log entry'), h('dl', { class: 'kv' },
      [['Status', status(r.status)], ['Provider / model', `${r.provider || '–'}/${r.model || '–'}`], ['Tokens', `${r.input_tokens} in · ${r.output_tokens} out`],
        ['Cost', fmt.usd(r.cost_usd)], ['Duration', fmt.ms(r.duration_ms)], ['Id', h('a', { href: '#/logs?open=' + encodeURIComponent(r.id), id: 'pg-entry-id' }, r.id)]]
        .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
  }
  return h('p', { class: 'muted' }, 'The log entry has not been written yet: see the Request log.');
}

function snippetBox(req) {
  const s = snippets(origin() + '/v1', req);
  return h('div', { class: 'card' }, h('h2', {}, 'This request as code'),
    h('p', { class: 'muted' }, 'The key is read from WEIR_API_KEY; secrets are never put in the page.'),
    Object.entries(s).map(([lang, text]) => h('details', {}, h('summary', {}, lang),
      h('button', { type: 'button', onclick: () => copy(text) }, 'Copy as ' + lang), h('pre', {}, text))));
}
