// The public API, as any client calls it: GET /rpc/<fn>?args for reads, POST /rpc/<fn>
// with a JSON body for changes, the bearer token of the session on both.
import * as session from './session.js';

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || 'HTTP_' + status;
    this.details = body.details || null;
  }
}

function headers() {
  const s = session.load();
  const h = { Accept: 'application/json' };
  if (s) h.Authorization = 'Bearer ' + s.access_token;
  return h;
}

// One request; a 401 (the access token ran out, say after the tablet slept) is retried once
// with a refreshed token, else it is back to the login page.
async function send(makeRequest) {
  let r = await makeRequest();
  if (r.status === 401 && session.load()?.refresh_token && await session.refresh()) {
    r = await makeRequest();
  }
  const body = await r.json().catch(() => ({}));
  if (r.ok) return body;
  if (r.status === 401) {
    session.clear();
    location.replace(session.loginUrl());
  }
  throw new ApiError(r.status, body);
}

export async function read(fn, args = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(args)) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  return send(() => fetch(`/rpc/${fn}${q.toString() ? '?' + q : ''}`, { headers: headers() }));
}

export async function call(fn, args = {}) {
  return send(() => fetch(`/rpc/${fn}`, {
    method: 'POST',
    headers: { ...headers(), 'Content-Type': 'application/json' },
    body: JSON.stringify(args),
  }));
}

// A fresh idempotency key (crypto.randomUUID needs a secure context; a tablet on the
// LAN over plain http is not one).
export function requestId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
