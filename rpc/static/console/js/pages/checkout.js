// Self-checkout: the fleet online/offline, the backlog the edges report and its age, and
// the orders the central refused.
import * as api from '../api.js';
import { heading, start } from '../shell.js';
import { badge, card, duration, fill, h, money, num, since, table, tiles, time } from '../ui.js';

const page = start({ page: 'checkout', title: 'Self-checkout' });

function revenue(perCurrency) {
  const entries = Object.entries(perCurrency || {});
  return entries.length ? entries.map(([cur, v]) => money(v, cur)).join(' + ') : money(0);
}

if (page) {
  const { main } = page;
  const overview = h('div');
  const fleet = h('div');
  const refused = h('div');
  const run = heading(main, 'Self-checkout', () => load(), 15_000);
  main.append(
    card('Fleet now', 'overview', overview),
    card('Kiosks', 'fleet', fleet),
    card('Refused orders', 'refused', refused));

  const load = () => Promise.all([
    fill(overview, async () => {
      const o = await api.read('dashboard_overview');
      return tiles([
        ['Kiosks', num(o.kiosks), 'kiosks'],
        ['Online', num(o.online), 'online'],
        ['Offline', num(o.offline), 'offline'],
        ['Orders today', num(o.orders_today), 'orders_today'],
        ['Revenue today', revenue(o.revenue_today), 'revenue_today'],
        ['Orders waiting to sync', num(o.pending_orders), 'pending_orders'],
        ['Kiosks with a backlog', num(o.kiosks_with_backlog), 'kiosks_with_backlog'],
        ['Oldest unsynced', duration(o.oldest_unsynced_age_seconds), 'oldest_unsynced'],
        ['Refused orders', num(o.refused_orders), 'refused_orders'],
      ], 'overview-tiles');
    }),
    fill(fleet, async () => table([
      { label: 'Kiosk', value: (k) => h('span', {}, h('strong', { text: k.name }), ' ', h('span', { class: 'muted', text: k.kiosk_id })) },
      { label: 'State', value: (k) => badge(k.online ? 'online' : 'offline', k.online ? 'ok' : 'bad') },
      { label: 'Last seen', value: (k) => since(k.last_seen_at) },
      { label: 'Link', value: (k) => (k.link_up === null ? '—' : k.link_up ? 'up' : 'down') },
      { label: 'Backlog', value: (k) => num(k.pending_orders), num: true },
      { label: 'Oldest unsynced', value: (k) => duration(k.oldest_unsynced_age_seconds), num: true },
      { label: 'Orders today', value: (k) => num(k.orders_today), num: true },
      { label: 'Revenue today', value: (k) => revenue(k.revenue_today), num: true },
      { label: 'Last sync', value: (k) => (k.last_sync_at ? since(k.last_sync_at) : 'never') },
      { label: 'Refused', value: (k) => (k.refused_orders ? badge(String(k.refused_orders), 'bad') : '0'), num: true },
      { label: 'Version', value: (k) => k.app_version || '' },
    ], await api.read('dashboard_kiosks'), { testid: 'fleet-table', empty: 'No self-checkout kiosk registered.' })),
    fill(refused, async () => table([
      { label: 'Kiosk', value: (f) => f.kiosk_id },
      { label: 'Order key', value: (f) => f.idempotency_key || '—' },
      { label: 'Problem', value: (f) => badge(f.status === 'mismatch' ? 'key reused' : f.reason, 'bad') },
      { label: 'Message', value: (f) => f.message },
      { label: 'Times', value: (f) => num(f.times), num: true },
      { label: 'Last seen', value: (f) => time(f.last_seen_at) },
    ], await api.read('checkout_refused_orders'), { testid: 'refused-table', empty: 'No refused order.' })),
  ]);
  run();
}
