// The UI's entry: login, navigation and the hash router (#/page?query). Each page is a module under pages/
// whose render(main, params) draws it and may return a function that stops what it started (a live tail).
import { api, auth, url } from './api.js';
import { h, mount, errorBox } from './dom.js';
import { setRouter } from './nav.js';

// New entries (Cache, Guardrails, SSO/Users) get a module here and a link in index.html's nav.
const pages = {
  overview: () => import('./pages/overview.js'),
  logs: () => import('./pages/logs.js'),
  keys: () => import('./pages/keys.js'),
  providers: () => import('./pages/providers.js'),
  mcp: () => import('./pages/mcp.js'),
  cluster: () => import('./pages/cluster.js'),
  playground: () => import('./pages/playground.js'),
};

const main = document.getElementById('main');
let stop = null;

async function route() {
  const [name, query] = (location.hash.replace(/^#\/?/, '') || 'overview').split('?');
  const page = pages[name] ? name : 'overview';
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.getElementById('nav')?.classList.remove('open');
  if (stop) { stop(); stop = null; }
  document.body.dataset.ready = ''; // set when the page is drawn (tests and screen readers wait for it)
  try {
    const mod = await pages[page]();
    mount(main, h('p', { class: 'loading' }, 'Loading…'));
    stop = (await mod.render(main, new URLSearchParams(query || ''))) || null;
    document.title = (document.querySelector('main h1')?.textContent || 'Weir') + ' · Weir';
  } catch (e) {
    mount(main, errorBox('This page failed: ' + e.message));
  }
  document.body.dataset.ready = page;
}

function setupLogin() {
  const form = document.getElementById('login');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const res = await fetch(url('/ui/login'), { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: form.token.value }) });
    if (res.ok) { location.reload(); return; }
    const data = await res.json().catch(() => null);
    document.getElementById('login-error').textContent = data?.error?.message || 'Login failed';
  });
}

function setupNav() {
  const menu = document.querySelector('.menu');
  menu?.addEventListener('click', () => {
    const nav = document.getElementById('nav');
    menu.setAttribute('aria-expanded', String(nav.classList.toggle('open')));
  });
  document.getElementById('logout')?.addEventListener('click', async () => {
    await api('/ui/logout', { method: 'POST' });
    location.reload();
  });
  window.addEventListener('hashchange', route);
  setRouter(route);
}

if (document.body.dataset.loggedIn === 'true') {
  setupNav();
  route();
} else if (auth === 'token') {
  setupLogin();
}
