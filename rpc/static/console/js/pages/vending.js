// Vending: the fleet (temperature, cash to collect, faults, last read) and the pick list.
import * as api from '../api.js';
import { heading, start } from '../shell.js';
import { badge, card, fill, h, money, num, since, table } from '../ui.js';

const page = start({ page: 'vending', title: 'Vending' });

function celsius(c) {
  return c === null || c === undefined ? '—' : `${c.toFixed(1)} °C`;
}

if (page) {
  const { main } = page;
  const fleet = h('div');
  const picks = h('div');
  const run = heading(main, 'Vending', () => load(), 60_000);
  main.append(card('Fleet', 'fleet', fleet), card('Pick list', 'pick-list', picks));

  const load = () => Promise.all([
    fill(fleet, async () => {
      const s = await api.read('machines_summary');
      return table([
        { label: 'Machine', value: (m) => h('a', { href: `machine.html?serial=${encodeURIComponent(m.case_serial)}`, text: m.case_serial }) },
        { label: 'Location', value: (m) => m.location || '—' },
        { label: 'Temperature', value: (m) => `${celsius(m.temperature.current_c)} (target ${celsius(m.temperature.target_c)})` },
        { label: 'Cash to collect', value: (m) => money(m.cash.cash_box.total, m.currency, m.decimals), num: true },
        { label: 'In tubes', value: (m) => money(m.cash.tubes_value, m.currency, m.decimals), num: true },
        { label: 'Faults', value: (m) => (m.unresolved_errors
          ? h('span', {}, badge(String(m.unresolved_errors), 'bad'), ' ', m.errors.map((e) => e.code).join(', '))
          : badge('none', 'ok')) },
        { label: 'Last read', value: (m) => h('span', {}, since(m.last_read_at), ' ',
          m.has_recent_data ? badge('recent', 'ok') : badge('stale', 'warn')) },
        { label: 'Reads', value: (m) => num(m.reads), num: true },
      ], s.machines, { testid: 'fleet-table', empty: 'No vending machine registered.' });
    }),
    fill(picks, async () => {
      const p = await api.read('pick_list');
      const slots = p.locations.flatMap((l) => l.machines.flatMap((m) => m.slots.map((s) => ({ ...s, location: l.name, case_serial: m.case_serial }))));
      return [
        h('h3', { text: 'Van load' }),
        table([
          { label: 'Product', value: (x) => x.product_name || x.product_code || '—' },
          { label: 'Bring', value: (x) => num(x.bring), num: true },
        ], p.products, { testid: 'van-load', empty: 'Nothing to bring: every slot is above its par level.' }),
        h('h3', { text: 'Per machine' }),
        table([
          { label: 'Location', value: (x) => x.location },
          { label: 'Machine', value: (x) => x.case_serial },
          { label: 'Slot', value: (x) => x.selection },
          { label: 'Product', value: (x) => x.product_name || x.product_code || '—' },
          { label: 'Estimate', value: (x) => num(x.estimate), num: true },
          { label: 'Par', value: (x) => num(x.par_level), num: true },
          { label: 'Capacity', value: (x) => num(x.capacity), num: true },
          { label: 'Bring', value: (x) => num(x.bring), num: true },
        ], slots, { testid: 'pick-slots', empty: '' }),
        p.not_estimated.length ? h('p', { class: 'muted', text: `${p.not_estimated.length} slots have a par level but no recorded refill.` }) : null,
      ];
    }),
  ]);
  run();
}
