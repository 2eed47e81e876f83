// Alerts across domains: the list (api.alerts), acknowledge and resolve, and new or changed
// alerts pushed live by GET /events (server-sent events, `event: alert`, the alert as
// data; EventSource resumes with Last-Event-ID after a drop, and a new stream starts after
// the last event this page has). The stream takes the token
// in its query string: EventSource cannot send an Authorization header.
import * as api from '../api.js';
import * as session from '../session.js';
import { heading, start } from '../shell.js';
import { badge, card, h, notice, table, time } from '../ui.js';

const page = start({ page: 'alerts', title: 'Alerts' });
const SEVERITY = { info: 'info', warning: 'warning', critical: 'critical' };
const DOMAINS = ['', 'atm', 'festival', 'checkout', 'dex', 'upkeep'];

if (page) {
  const { main } = page;
  const alerts = new Map();
  const list = h('div');
  const message = h('div');
  const live = h('span', { class: 'live', 'data-testid': 'live', text: 'connecting' });
  const status = h('select', { name: 'status', 'aria-label': 'status' },
    ['open', 'acknowledged', 'resolved'].map((s) => h('option', { value: s, text: s })));
  const domain = h('select', { name: 'domain', 'aria-label': 'domain' },
    DOMAINS.map((d) => h('option', { value: d, text: d || 'every domain' })));
  let source = null;
  // The last alert event this page has: a new stream resumes after it, so a change made
  // while the list loads, or while a refreshed token opens a new stream, still arrives.
  let cursor = null;

  const shown = (a) => a.status === status.value && (!domain.value || a.domain === domain.value);

  async function act(fn, alert, args = {}) {
    try {
      const changed = await api.call(fn, { alert_id: alert.id, request_id: api.requestId(), ...args });
      upsert(changed);
      message.replaceChildren();
    } catch (err) {
      message.replaceChildren(notice(`${fn.replace('alert_', '')} failed: ${err.message}`, 'error'));
    }
  }

  function resolveForm(a) {
    const note = h('input', { type: 'text', name: 'note', placeholder: 'what was done', 'aria-label': `note for alert ${a.id}` });
    const form = h('form', { class: 'inline' }, note, h('button', { type: 'submit', class: 'small', text: 'Resolve' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act('alert_resolve', a, { note: note.value || null });
    });
    return form;
  }

  function render() {
    const rows = [...alerts.values()].filter(shown)
      .sort((x, y) => (y.last_seen_at || y.raised_at).localeCompare(x.last_seen_at || x.raised_at));
    list.replaceChildren(table([
      { label: 'Severity', value: (a) => badge(a.severity, SEVERITY[a.severity]) },
      { label: 'Domain', value: (a) => a.domain },
      { label: 'What', value: (a) => h('span', {}, h('strong', { text: a.kind.replaceAll('_', ' ') }), ' ', a.subject || '') },
      { label: 'Message', value: (a) => a.message },
      { label: 'Raised', value: (a) => time(a.raised_at) },
      { label: 'Last seen', value: (a) => time(a.last_seen_at) },
      { label: 'Status', value: (a) => badge(a.status + (a.acknowledged_by && a.status === 'acknowledged' ? ` by ${a.acknowledged_by}` : '')) },
      { label: '', value: (a) => (a.status === 'resolved' ? '' : h('div', { class: 'toolbar' },
        a.status === 'open' ? h('button', { type: 'button', class: 'secondary small', 'data-ack': a.id,
                                            onclick: () => act('alert_acknowledge', a), text: 'Acknowledge' }) : null,
        resolveForm(a))) },
    ], rows, { testid: 'alerts-table', empty: `No ${status.value} alerts.` }));
    list.querySelectorAll('tbody tr').forEach((tr, i) => tr.setAttribute('data-alert-id', rows[i].id));
  }

  function upsert(a) {
    alerts.set(a.id, a);
    render();
  }

  async function load() {
    try {
      const answer = await api.read('alerts', { status: status.value, domain: domain.value, limit: 200 });
      alerts.clear();
      for (const a of answer.alerts) alerts.set(a.id, a);
      render();
    } catch (err) {
      list.replaceChildren(notice(err.code === 'NOT_FOUND' ? 'This server has no alerts API.' : `Could not load: ${err.message}`, 'error'));
    }
  }

  function connect() {
    if (source) source.close();
    const s = session.load();
    if (!s) return;
    const after = cursor === null || cursor === undefined ? '' : '&after=' + encodeURIComponent(cursor);
    source = new EventSource('/events?access_token=' + encodeURIComponent(s.access_token) + after);
    source.addEventListener('open', () => { live.className = 'live on'; live.textContent = 'live'; });
    source.addEventListener('error', () => { live.className = 'live off'; live.textContent = 'reconnecting'; });
    source.addEventListener('alert', (ev) => {
      if (ev.lastEventId) cursor = ev.lastEventId;
      upsert(JSON.parse(ev.data));
    });
  }

  const run = heading(main, 'Alerts', load);
  main.querySelector('h1').append(live);
  status.addEventListener('change', run);
  domain.addEventListener('change', run);
  main.append(card('Alerts', 'alerts', h('div', { class: 'toolbar' }, h('label', {}, 'Status', status), h('label', {}, 'Domain', domain)),
    message, list));
  // A refreshed token opens a new stream; what came meanwhile is in the reloaded list.
  window.addEventListener('kl-session', () => { connect(); run(); });
  // The cursor first, then the list: nothing changed in between is missed.
  api.read('alert_events', {})
    .then((answer) => { cursor = answer.last_event_id; }, () => { cursor = null; })
    .then(run)
    .then(connect);
}
