// Every console page: the session (or the login page), the header with the navigation
// this role may use, and the page's main element.
import * as session from './session.js';
import { h, notice } from './ui.js';

const PAGES = [
  { href: 'festival.html', label: 'Festival', roles: ['admin'] },
  { href: 'atm.html', label: 'ATM', roles: ['admin', 'operator'] },
  { href: 'checkout.html', label: 'Self-checkout', roles: ['admin', 'operator'] },
  { href: 'vending.html', label: 'Vending', roles: ['admin', 'operator'] },
  { href: 'alerts.html', label: 'Alerts', roles: ['admin', 'operator'] },
];

export function pagesFor(role) {
  return PAGES.filter((p) => p.roles.includes(role));
}

// {session, user, main} for a page the role may see; null when the page is not shown.
export function start({ page, title, roles = ['admin', 'operator'] }) {
  const s = session.requireSession();
  if (!s) return null;
  const user = session.user(s);
  const current = location.pathname.split('/').pop();
  const header = h('header', { class: 'top' },
    h('a', { class: 'brand', href: '/console/', text: 'kioskledger console' }),
    h('nav', { 'aria-label': 'Console pages' },
      pagesFor(user.role).map((p) => h('a', { href: p.href, 'aria-current': p.href === current ? 'page' : null, text: p.label }))),
    h('div', { class: 'who' },
      h('span', { 'data-testid': 'who', text: `${user.name} · ${user.role}${user.company_id ? ' · ' + user.company_id : ''}` }),
      h('button', { class: 'small', type: 'button', onclick: () => session.logout(), text: 'Log out' })));
  const main = h('main', { id: 'main', 'data-page': page });
  document.body.replaceChildren(header, main);
  document.title = `${title} · kioskledger`;
  if (!roles.includes(user.role)) {
    main.append(h('h1', { text: title }),
      notice(`This page is for ${roles.join(' and ')} accounts; you are signed in as ${user.role}.`, 'error'));
    return null;
  }
  return { session: s, user, main };
}

// The page heading with a refresh button; `load` runs now and every `everyMs`.
export function heading(main, title, load, everyMs = 0) {
  const stamp = h('span', { class: 'muted', 'data-testid': 'updated' });
  const run = async () => {
    await load();
    stamp.textContent = 'updated ' + new Date().toLocaleTimeString('en', { hour12: false });
  };
  main.append(h('h1', {}, title, h('button', { class: 'secondary small', type: 'button', onclick: run, text: 'Refresh' }), stamp));
  if (everyMs) setInterval(() => { if (!document.hidden) run(); }, everyMs);
  return run;
}
