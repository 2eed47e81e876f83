// Building the page: elements from data (text only, never HTML strings), tables,
// money and times. Numbers come from the API as they are; this only formats them.

const LOCALE = 'en';

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function money(minor, currency, decimals) {
  if (minor === null || minor === undefined) return '—';
  const fmt = new Intl.NumberFormat(LOCALE, { style: 'currency', currency: currency || 'EUR' });
  const digits = decimals ?? fmt.resolvedOptions().maximumFractionDigits;
  return new Intl.NumberFormat(LOCALE, {
    style: 'currency', currency: currency || 'EUR', minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(Number(minor) / 10 ** digits);
}

export function num(n) {
  return n === null || n === undefined ? '—' : new Intl.NumberFormat(LOCALE).format(n);
}

export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(LOCALE, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
}

export function hour(iso) {
  return new Date(iso).toLocaleTimeString(LOCALE, { hour: '2-digit', minute: '2-digit', hour12: false });
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function since(iso) {
  return iso ? duration((Date.now() - new Date(iso).getTime()) / 1000) + ' ago' : 'never';
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}`, text });
}

// columns: [{label, value: row => text | Node, num: bool}]
export function table(columns, rows, { empty = 'Nothing to show.', testid = null } = {}) {
  if (!rows || rows.length === 0) return h('p', { class: 'empty', 'data-testid': testid, text: empty });
  return h('div', { class: 'scroll' },
    h('table', { 'data-testid': testid },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null, scope: 'col', text: c.label })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.value(r))))))));
}

export function tiles(items, testid = null) {
  return h('div', { class: 'tiles', 'data-testid': testid },
    items.map(([label, value, key]) => h('div', { class: 'tile', 'data-tile': key || null },
      h('div', { class: 'label', text: label }), h('div', { class: 'value' }, value))));
}

export function card(title, testid, ...body) {
  return h('section', { class: 'card', 'data-testid': testid }, h('h2', { text: title }), ...body);
}

export function notice(text, kind = '') {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status', text });
}

// Fill a section from a loader; a failure shows in the section (and in the console, so a
// broken page is noticed), the rest of the page still loads.
export async function fill(container, loader) {
  try {
    const content = await loader();
    container.replaceChildren(...[content].flat().filter(Boolean));
  } catch (err) {
    console.error(err);
    container.replaceChildren(notice(`Could not load: ${err.message}`, 'error'));
  }
}

export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
