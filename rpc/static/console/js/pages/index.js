// /console/: the first page this account may use.
import * as session from '../session.js';
import { pagesFor } from '../shell.js';
import { h, notice } from '../ui.js';

const s = session.requireSession();
if (s) {
  const pages = pagesFor(session.user(s).role);
  if (pages.length) {
    location.replace('/console/' + pages[0].href);
  } else {
    document.body.replaceChildren(h('main', { class: 'login' },
      notice('The console is for operator and admin accounts.', 'error'),
      h('button', { type: 'button', onclick: () => session.logout(), text: 'Log out' })));
  }
}
