// One vending machine: its state from the latest read, slots, faults, and daily sales
// over the 30 days up to its last read (chart and table).
import * as api from '../api.js';
import { timeChart } from '../chart.js';
import { heading, start } from '../shell.js';
import { badge, card, fill, h, money, notice, num, since, table, tiles, time } from '../ui.js';

const page = start({ page: 'machine', title: 'Vending machine' });
const serial = new URLSearchParams(location.search).get('serial');
const celsius = (c) => (c === null || c === undefined ? '—' : `${c.toFixed(1)} °C`);
const isoDay = (d) => d.toISOString().slice(0, 10);

if (page && !serial) {
  page.main.append(notice('No machine named: open one from the Vending page.', 'error'));
} else if (page) {
  const { main } = page;
  const state = h('div');
  const slots = h('div');
  const faults = h('div');
  const sales = h('div');
  const run = heading(main, `Machine ${serial}`, () => load());
  main.append(h('p', {}, h('a', { href: 'vending.html', text: '← Vending fleet' })),
    card('State', 'state', state), card('Sales per day', 'sales', sales), card('Slots', 'slots', slots), card('Faults', 'faults', faults));

  // An open fault is closed with a note saying what was done (api.machine_error_resolve).
  const resolveForm = (e) => {
    const note = h('input', { type: 'text', name: 'note', required: true, maxlength: 2000, placeholder: 'what was done',
                              'aria-label': `note for fault ${e.code}` });
    const form = h('form', { class: 'inline', 'data-error-id': e.error_id }, note,
      h('button', { type: 'submit', class: 'small', text: 'Resolve' }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api.call('machine_error_resolve', { error_id: e.error_id, note: note.value, request_id: api.requestId() });
        run();
      } catch (err) {
        form.append(notice(`Not resolved: ${err.message}`, 'error'));
      }
    });
    return form;
  };

  const load = async () => {
    let m;
    await fill(state, async () => {
      m = await api.read('machine_details', { case_serial: serial });
      const temp = (kind) => m.temperatures.find((t) => t.reading === kind)?.celsius;
      return tiles([
        ['Location', m.location || '—', 'location'],
        ['Model', m.model, 'model'],
        ['Temperature', `${celsius(temp('current'))} (target ${celsius(temp('target'))})`, 'temperature'],
        ['Cash to collect', money(m.cash.cash_box.total, m.currency, m.decimals), 'cash_box'],
        ['In coin tubes', money(m.cash.tubes_value, m.currency, m.decimals), 'tubes'],
        ['Last read', `${time(m.last_read_at)} (${since(m.last_read_at)})`, 'last_read'],
        ['Reads', num(m.reads), 'reads'],
        ['Open faults', num(m.errors.filter((e) => !e.resolved_at).length), 'faults'],
      ], 'machine-tiles');
    });
    if (!m) return;
    const fmt = (v) => money(v, m.currency, m.decimals);
    await Promise.all([
      fill(slots, async () => table([
        { label: 'Slot', value: (s) => s.selection },
        { label: 'Product', value: (s) => s.product_name || s.product_code || '—' },
        { label: 'Price', value: (s) => fmt(s.price), num: true },
        { label: 'Vends', value: (s) => num(s.vends), num: true },
        { label: 'Revenue', value: (s) => fmt(s.revenue), num: true },
        { label: 'Capacity', value: (s) => num(s.capacity), num: true },
        { label: 'Par', value: (s) => num(s.par_level), num: true },
        { label: 'Estimated stock', value: (s) => num(s.estimated_stock), num: true },
      ], m.slots, { testid: 'slots-table', empty: 'No slot reported.' })),
      fill(faults, async () => table([
        { label: 'Code', value: (e) => e.code },
        { label: 'Source', value: (e) => e.source },
        { label: 'Detail', value: (e) => e.detail || '' },
        { label: 'First seen', value: (e) => time(e.first_seen_at) },
        { label: 'State', value: (e) => (e.resolved_at ? badge('resolved', 'ok') : badge('open', 'bad')) },
        { label: '', value: (e) => (e.resolved_at ? e.resolution_note || '' : resolveForm(e)) },
      ], m.errors, { testid: 'faults-table', empty: 'No fault reported.' })),
      fill(sales, async () => {
        const to = m.last_read_at ? new Date(m.last_read_at) : new Date();
        const from = new Date(to.getTime() - 29 * 86400_000);
        const s = await api.read('machine_sales', { case_serial: serial, from: isoDay(from), to: isoDay(to) });
        const chart = h('div', { class: 'chart', 'data-testid': 'machine-sales-chart' });
        requestAnimationFrame(() => timeChart(chart, {
          x: s.days.map((d) => Date.parse(d.date + 'T00:00:00Z') / 1000),
          series: [{ label: 'revenue', values: s.days.map((d) => d.revenue / 10 ** m.decimals) }],
          bars: true,
          yLabel: m.currency,
        }));
        const sold = s.days.filter((d) => d.vends > 0).reverse();
        return [chart, table([
          { label: 'Day', value: (d) => d.date },
          { label: 'Vends', value: (d) => num(d.vends), num: true },
          { label: 'Revenue', value: (d) => fmt(d.revenue), num: true },
          { label: 'Best seller', value: (d) => {
            const best = [...d.selections].sort((a, b) => b.revenue - a.revenue)[0];
            return best ? `${best.product_name || best.product_code || best.selection} (${best.vends})` : '';
          } },
        ], sold, { testid: 'machine-sales-table', empty: 'No sales in these 30 days.' })];
      }),
    ]);
  };
  run();
}
