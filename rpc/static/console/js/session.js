// The signed-in operator, kept in this tab's sessionStorage (gone when the tab closes):
//   {access_token, refresh_token, expires_at (ms since epoch), account}
// written by the login page from POST /auth/login (account: id, email, display_name,
// role, company_id, ...). The access token is refreshed with POST /auth/refresh a minute
// before it expires; without a refresh token the page goes back to the login when it does.

const KEY = 'kioskledger.console.session';
const REFRESH_AHEAD_MS = 60_000;
let refreshTimer = null;

export function load() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return s && typeof s.access_token === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function save(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
  window.dispatchEvent(new CustomEvent('kl-session', { detail: session }));
}

export function clear() {
  sessionStorage.removeItem(KEY);
  clearTimeout(refreshTimer);
}

// The token's claims, for display only: the server verifies the token on every call.
export function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return {};
  }
}

// A login answer (or a token pasted on the login page) as the session we keep.
export function fromLogin(answer) {
  const c = claims(answer.access_token);
  const expiresAt = answer.expires_in ? Date.now() + answer.expires_in * 1000 : (c.exp ? c.exp * 1000 : null);
  return {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token || null,
    expires_at: expiresAt,
    account: answer.account || null,
  };
}

export function user(session) {
  const c = claims(session.access_token);
  const a = session.account || {};
  return {
    role: a.role || c.role || 'anon',
    company_id: a.company_id ?? c.company_id ?? null,
    name: a.display_name || a.email || c.email || c.sub || 'signed in',
  };
}

export function loginUrl() {
  const here = location.pathname.replace(/^\/console\//, '') + location.search;
  return '/console/login.html' + (here && here !== 'login.html' ? '?next=' + encodeURIComponent(here) : '');
}

// The session, or off to the login page.
export function requireSession() {
  const s = load();
  if (!s || (s.expires_at && s.expires_at <= Date.now() && !s.refresh_token)) {
    clear();
    location.replace(loginUrl());
    return null;
  }
  scheduleRefresh(s);
  return s;
}

async function postJson(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, data };
}

// One refresh at a time: refresh tokens are single use, so parallel callers share it.
let refreshing = null;

export function refresh() {
  refreshing ??= refreshNow().finally(() => { refreshing = null; });
  return refreshing;
}

async function refreshNow() {
  const s = load();
  if (!s || !s.refresh_token) return null;
  const r = await postJson('/auth/refresh', { refresh_token: s.refresh_token });
  if (!r.ok) {
    clear();
    location.replace(loginUrl());
    return null;
  }
  const next = fromLogin(r.data);
  save(next);
  scheduleRefresh(next);
  return next;
}

function scheduleRefresh(s) {
  clearTimeout(refreshTimer);
  if (!s.expires_at) return;
  const wait = s.expires_at - Date.now() - REFRESH_AHEAD_MS;
  if (s.refresh_token) {
    refreshTimer = setTimeout(refresh, Math.max(wait, 1000));
  } else {
    refreshTimer = setTimeout(() => { clear(); location.replace(loginUrl()); }, Math.max(s.expires_at - Date.now(), 1000));
  }
}

export async function logout() {
  const s = load();
  clear();
  if (s && s.refresh_token) {
    await postJson('/auth/logout', { refresh_token: s.refresh_token }).catch(() => null);
  }
  location.replace('/console/login.html');
}
