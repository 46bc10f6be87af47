// Calls to the admin API under the page's path prefix, with the session's CSRF token on every call.
const body = document.body.dataset;
export const base = body.base || '';
export const auth = body.auth;

// url is the prefixed URL of a gateway path ("/api/keys").
export const url = (path) => base + path;

// origin is the gateway's public URL (for copy-paste examples).
export const origin = () => location.origin + base;

// api calls the admin API and resolves to {ok, status, data, error}; it never throws on HTTP errors.
export async function api(path, { method = 'GET', body: payload, signal } = {}) {
  const headers = { 'X-Weir-CSRF': body.csrf || '' };
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url(path), { method, headers, signal, credentials: 'same-origin',
      body: payload === undefined ? undefined : JSON.stringify(payload) });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return { ok: false, status: 0, error: 'the gateway did not answer: ' + e.message };
  }
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (res.status === 401 && auth === 'token') {
    location.reload(); // the session ended: show the login
  }
  const error = res.ok ? null : (data && data.error && data.error.message) || `${res.status} ${res.statusText}`;
  return { ok: res.ok, status: res.status, data, error };
}

// qs builds a query string from the non-empty fields of obj.
export function qs(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v !== '' && v != null && v !== false) p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}
