// Festival: bar sales per hour (chart), top products, recharges per checkpoint, cards
// with debt or disputes, refunds with the SEPA export and its file.
import * as api from '../api.js';
import { timeChart } from '../chart.js';
import { heading, start } from '../shell.js';
import { badge, card, download, fill, h, money, notice, num, table, time } from '../ui.js';

const page = start({ page: 'festival', title: 'Festival', roles: ['admin'] });

function salesChart(data) {
  const sold = new Map(data.rows.map((r) => [`${r.hour}|${r.point_of_sale}`, r]));
  const hours = data.hours;
  const bars = data.totals.map((t) => t.point_of_sale);
  const chart = h('div', { class: 'chart', 'data-testid': 'sales-chart' });
  const totals = table([
    { label: 'Bar', value: (r) => r.point_of_sale },
    { label: 'Orders', value: (r) => num(r.orders), num: true },
    { label: 'Sales', value: (r) => money(r.sales, data.currency), num: true },
  ], data.totals, { testid: 'sales-totals', empty: 'No bar sales in the last 24 hours.' });
  const perHour = table([
    { label: 'Hour', value: (r) => time(r.hour) },
    { label: 'Bar', value: (r) => r.point_of_sale },
    { label: 'Orders', value: (r) => num(r.orders), num: true },
    { label: 'Sales', value: (r) => money(r.sales, data.currency), num: true },
  ], data.rows, { testid: 'sales-per-hour', empty: '' });
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency: data.currency }).resolvedOptions().maximumFractionDigits;
  if (data.rows.length) {
    // Drawn once the container is in the page (uPlot measures it).
    requestAnimationFrame(() => timeChart(chart, {
      x: hours.map((t) => Date.parse(t) / 1000),
      series: bars.map((bar) => ({
        label: bar,
        values: hours.map((t) => {
          const row = sold.get(`${t}|${bar}`);
          return row ? row.sales / 10 ** digits : 0;
        }),
      })),
      yLabel: data.currency,
    }));
  }
  return [data.rows.length ? chart : null, totals,
    data.rows.length ? h('details', {}, h('summary', { text: 'Per hour' }), perHour) : null];
}

async function exportRefunds(button, box, reload) {
  button.disabled = true;
  try {
    const done = await api.call('refund_export', { request_id: api.requestId() });
    if (!done.export_id) {
      box.replaceChildren(notice('No pending refunds to export.'));
      return;
    }
    const file = await api.read('refund_export_file', { export_id: done.export_id });
    download(file.filename, file.xml, 'application/xml');
    box.replaceChildren(notice(`Exported ${done.count} refunds, ${money(done.total, done.currency)}: ${file.filename}`, 'ok'));
    await reload();
  } catch (err) {
    box.replaceChildren(notice(`Export failed: ${err.message}`, 'error'));
  } finally {
    button.disabled = false;
  }
}

async function downloadExport(exportId, box) {
  try {
    const file = await api.read('refund_export_file', { export_id: exportId });
    download(file.filename, file.xml, 'application/xml');
  } catch (err) {
    box.replaceChildren(notice(`Download failed: ${err.message}`, 'error'));
  }
}

if (page) {
  const { main } = page;
  const sales = h('div');
  const top = h('div');
  const recharges = h('div');
  const attention = h('div');
  const refunds = h('div');
  const exportBox = h('div');
  let currency = 'EUR';
  const run = heading(main, 'Festival', () => load());
  main.append(
    card('Sales per bar per hour (last 24 hours)', 'sales', sales),
    h('div', { class: 'grid' },
      card('Top products', 'top-products', top),
      card('Recharges per checkpoint', 'recharges', recharges)),
    card('Cards with debt or disputes', 'cards-attention', attention),
    card('Refunds', 'refunds', exportBox, refunds));

  const loadRefunds = () => fill(refunds, async () => {
    const [list, exports] = await Promise.all([api.read('refunds_list', { limit: 200 }), api.read('refund_exports_list')]);
    const s = list.summary;
    const exportButton = h('button', { type: 'button', 'data-testid': 'refund-export', text: 'Export pending refunds (SEPA file)' });
    exportButton.addEventListener('click', () => exportRefunds(exportButton, exportBox, loadRefunds));
    if (!s.pending.count) exportButton.disabled = true;
    return [
      h('div', { class: 'toolbar' },
        badge(`${s.pending.count} pending · ${money(s.pending.amount, currency)}`, s.pending.count ? 'warn' : 'ok'),
        badge(`${s.exported.count} exported · ${money(s.exported.amount, currency)}`),
        exportButton),
      h('h3', { text: 'SEPA files' }),
      table([
        { label: 'Export', value: (e) => '#' + e.export_id },
        { label: 'Message id', value: (e) => e.message_id },
        { label: 'Created', value: (e) => time(e.created_at) },
        { label: 'Refunds', value: (e) => num(e.count), num: true },
        { label: 'Total', value: (e) => money(e.total, e.currency), num: true },
        { label: '', value: (e) => h('button', { class: 'secondary small', type: 'button', 'data-export-id': e.export_id,
                                                 onclick: () => downloadExport(e.export_id, exportBox), text: 'Download' }) },
      ], exports, { testid: 'refund-exports', empty: 'No SEPA file yet.' }),
      h('h3', { text: 'Refund requests' }),
      table([
        { label: 'Refund', value: (r) => '#' + r.refund_id },
        { label: 'Card', value: (r) => r.card_id },
        { label: 'Name', value: (r) => r.name },
        { label: 'IBAN', value: (r) => r.iban },
        { label: 'Amount', value: (r) => money(r.amount, r.currency), num: true },
        { label: 'Fee', value: (r) => money(r.fee, r.currency), num: true },
        { label: 'Status', value: (r) => badge(r.status + (r.export_id ? ` #${r.export_id}` : ''), r.status === 'pending' ? 'warn' : 'ok') },
        { label: 'Requested', value: (r) => time(r.created_at) },
      ], list.refunds, { testid: 'refund-list', empty: 'No refunds requested.' }),
    ];
  });

  const load = async () => {
    await fill(sales, async () => {
      const data = await api.read('festival_sales_per_hour');
      currency = data.currency;
      return salesChart(data);
    });
    await Promise.all([
    fill(top, async () => table([
      { label: 'Product', value: (p) => p.name },
      { label: 'Category', value: (p) => p.category },
      { label: 'Units', value: (p) => num(p.units), num: true },
      { label: 'Revenue', value: (p) => money(p.revenue, currency), num: true },
    ], await api.read('festival_top_products', { limit: 10 }), { testid: 'top-products-table', empty: 'Nothing sold yet.' })),
    fill(recharges, async () => table([
      { label: 'Checkpoint', value: (r) => r.checkpoint_id },
      { label: 'Method', value: (r) => r.method },
      { label: 'Recharges', value: (r) => num(r.recharges), num: true },
      { label: 'Amount', value: (r) => money(r.amount, currency), num: true },
    ], await api.read('festival_recharges'), { testid: 'recharges-table', empty: 'No recharges yet.' })),
    fill(attention, async () => table([
      { label: 'Card', value: (c) => c.card_id },
      { label: 'Status', value: (c) => badge(c.status, c.status === 'active' ? 'ok' : 'bad') },
      { label: 'Balance', value: (c) => money(c.balance, currency), num: true },
      { label: 'Debt', value: (c) => money(c.debt, currency), num: true },
      { label: 'Disputed', value: (c) => (c.disputed ? badge('disputed', 'bad') : 'no') },
    ], await api.read('festival_cards_attention'), { testid: 'cards-attention-table', empty: 'No card owes money or is disputed.' })),
    loadRefunds(),
    ]);
  };
  run();
}
