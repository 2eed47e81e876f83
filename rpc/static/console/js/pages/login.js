// Sign in: POST /auth/login {email, password} -> the session (see session.js); or a bearer
// token pasted for a server without accounts, checked with /rpc/whoami before it is kept.
import * as session from '../session.js';
import { notice } from '../ui.js';
import { pagesFor } from '../shell.js';

const message = document.getElementById('login-message');

function next(s) {
  const wanted = new URLSearchParams(location.search).get('next');
  const pages = pagesFor(session.user(s).role);
  const safe = wanted && /^[a-z]+\.html(\?[^#]*)?$/.test(wanted) ? wanted : null;
  location.replace('/console/' + (safe || (pages[0] ? pages[0].href : '')));
}

function say(text, kind = 'error') {
  message.replaceChildren(notice(text, kind));
}

document.getElementById('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const button = document.getElementById('login-submit');
  button.disabled = true;
  try {
    const r = await fetch('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: document.getElementById('email').value, password: document.getElementById('password').value }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.ok) {
      const s = session.fromLogin(body);
      session.save(s);
      next(s);
      return;
    }
    if (body.code === 'INVALID_LOGIN') say('Wrong email or password.');
    else if (body.code === 'ACCOUNT_LOCKED') say(lockedFor(body.details));
    else if (r.status === 404) say('This server has no accounts yet: sign in with a token below.');
    else say(body.message || `Sign-in failed (HTTP ${r.status}).`);
  } catch (err) {
    say(`The server cannot be reached: ${err.message}`);
  } finally {
    button.disabled = false;
  }
});

document.getElementById('token-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const token = document.getElementById('token').value.trim();
  const r = await fetch('/rpc/whoami', { headers: { Authorization: 'Bearer ' + token } }).catch(() => null);
  if (!r || !r.ok) {
    say('The server does not accept this token.');
    return;
  }
  const who = await r.json();
  const s = session.fromLogin({ access_token: token });
  s.account = { role: who.role, company_id: who.claims.company_id ?? null, display_name: who.claims.email || who.claims.sub || null };
  session.save(s);
  next(s);
});

const existing = session.load();
if (existing && new URLSearchParams(location.search).get('next') === null && (!existing.expires_at || existing.expires_at > Date.now())) {
  say(`Signed in as ${session.user(existing).name}.`, 'ok');
}

// The lockout in words a person can act on: minutes to wait, not a database timestamp.
function lockedFor(details) {
  const seconds = Number(details && details.retry_after_seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) return 'Too many failed sign-ins: this account is locked for a while.';
  const minutes = Math.ceil(seconds / 60);
  return `Too many failed sign-ins: this account is locked. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
}
