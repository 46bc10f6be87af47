// The add/edit dialog of a stored provider. Key values are write-only: an edit that leaves a value empty keeps
// the stored secret.
import { api } from '../api.js';
import { h } from '../dom.js';

const types = ['openai', 'azure', 'anthropic', 'bedrock', 'gemini', 'vertex', 'cohere', 'groq', 'mistral', 'openrouter',
  'together', 'deepseek', 'xai', 'ollama', 'mock'];

export function editProvider(p, done) {
  const creating = !p;
  p = p || { config: {}, keys: [{ id: 'main', weight: 1 }] };
  const keyRows = h('div');
  const addKey = (k = {}) => keyRows.append(h('div', { class: 'fields key-row' },
    h('label', {}, 'Key id', h('input', { name: 'key_id', value: k.id || '' })),
    h('label', {}, k.masked || k.has_value ? `Value (stored ${k.masked || ''}; empty keeps it)` : 'Value',
      h('input', { name: 'key_value', type: 'password', autocomplete: 'off' })),
    h('label', {}, 'Weight', h('input', { name: 'key_weight', type: 'number', min: 0, value: k.weight || 1 }))));
  (p.keys || []).forEach(addKey);
  const cfg = { ...(p.config || {}) };
  const form = h('form', {},
    h('h2', {}, creating ? 'Add provider' : 'Edit ' + p.name),
    h('div', { class: 'fields' },
      h('label', {}, 'Name', h('input', { name: 'name', value: p.name || '', required: true, readonly: !creating, pattern: '[^/\\s]+' })),
      h('label', {}, 'Type', h('input', { name: 'type', value: p.type || '', required: true, list: 'provider-types' })),
      h('datalist', { id: 'provider-types' }, types.map((t) => h('option', { value: t }))),
      h('label', {}, 'Base URL', h('input', { name: 'base_url', value: cfg.base_url || '', placeholder: 'https://api.openai.com/v1' })),
      h('label', {}, 'Models (comma-separated)', h('input', { name: 'models', value: (cfg.models || []).join(', ') }))),
    h('fieldset', {}, h('legend', {}, 'API keys (stored encrypted)'), keyRows,
      h('button', { type: 'button', onclick: () => addKey() }, 'Add key')),
    h('p', { class: 'error', role: 'alert' }),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, creating ? 'Add' : 'Save'),
      h('button', { type: 'button', onclick: () => dlg.close() }, 'Cancel')));
  const dlg = h('dialog', { 'aria-label': creating ? 'Add provider' : 'Edit provider' }, form);
  dlg.addEventListener('close', () => dlg.remove());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const config = { ...cfg, base_url: fd.get('base_url').trim() || undefined,
      models: fd.get('models').split(',').map((s) => s.trim()).filter(Boolean) };
    if (!config.models.length) delete config.models;
    const ids = fd.getAll('key_id'), values = fd.getAll('key_value'), weights = fd.getAll('key_weight');
    const keys = ids.map((id, i) => ({ id: id.trim(), value: values[i] || undefined, weight: Number(weights[i]) || undefined }))
      .filter((k) => k.id);
    const body = JSON.parse(JSON.stringify({ name: fd.get('name').trim(), type: fd.get('type').trim(), config, keys }));
    const res = creating ? await api('/api/providers', { method: 'POST', body })
      : await api('/api/providers/' + encodeURIComponent(p.name), { method: 'PUT', body });
    if (!res.ok) { form.querySelector('.error').textContent = res.error; return; }
    dlg.close();
    done();
  });
  document.body.append(dlg);
  dlg.showModal();
}
