// ATM: kiosk health, the live dispense queue, jobs needing reconciliation (with the
// reconcile form: api.dispense_reconcile), refunds due and today's transactions.
import * as api from '../api.js';
import { heading, start } from '../shell.js';
import { badge, card, fill, h, money, notice, num, since, table, time } from '../ui.js';

const page = start({ page: 'atm', title: 'ATM' });
const HEALTH = { healthy: 'ok', backlogged: 'warn', offline: 'bad', attention: 'bad' };
const JOB = { pending: 'info', claimed: 'info', dispensing: 'info', retry_wait: 'warn', needs_reconciliation: 'bad',
              completed: 'ok', failed: 'bad' };

function reconcileForm(job, onDone) {
  const coins = h('input', { type: 'number', name: 'coins_paid', min: job.coins_paid, max: job.quarters, step: 1,
                             value: job.coins_paid, required: true, 'aria-label': `coins paid for job ${job.job_id}` });
  const note = h('input', { type: 'text', name: 'note', required: true, maxlength: 500, placeholder: 'how the count was established',
                            'aria-label': `note for job ${job.job_id}` });
  const result = h('div');
  const form = h('form', { class: 'inline', 'data-job-id': job.job_id },
    h('label', {}, `Coins paid (of ${job.quarters})`, coins),
    h('label', {}, 'Note', note),
    h('button', { type: 'submit', text: 'Reconcile' }), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const done = await api.call('dispense_reconcile', { job_id: job.job_id, coins_paid: Number(coins.value), note: note.value });
      onDone(`Job ${done.job_id} is now ${done.status.replaceAll('_', ' ')} (${done.coins_paid} of ${done.quarters} coins paid).`);
    } catch (err) {
      result.replaceChildren(notice(`Not reconciled: ${err.message}`, 'error'));
      button.disabled = false;
    }
  });
  return form;
}

const jobColumns = [
  { label: 'Job', value: (j) => '#' + j.job_id },
  { label: 'Kiosk', value: (j) => j.kiosk_id },
  { label: 'Status', value: (j) => badge(j.status.replaceAll('_', ' '), JOB[j.status]) },
  { label: 'Coins', value: (j) => `${j.coins_paid} / ${j.quarters}`, num: true },
  { label: 'Amount', value: (j) => money(j.amount, j.currency), num: true },
  { label: 'Attempts', value: (j) => `${j.attempts} / ${j.max_attempts}`, num: true },
  { label: 'Waiting', value: (j) => since(j.created_at) },
  { label: 'Last error', value: (j) => j.last_error || '' },
];

function busy(section) {
  return section.contains(document.activeElement) || [...section.querySelectorAll('input[name="note"]')].some((i) => i.value);
}

if (page) {
  const { main, user } = page;
  const health = h('div');
  const queue = h('div');
  const recon = h('div');
  const reconMessage = h('div', { 'data-testid': 'reconcile-message' });
  const reconciled = (message) => {
    reconMessage.replaceChildren(notice(message, 'ok'));
    recon.replaceChildren();
    run();
  };
  const refunds = h('div');
  const txs = h('div');
  const run = heading(main, 'ATM', () => load(), 15_000);
  main.append(
    card('Kiosk health', 'kiosk-health', health),
    card('Live queue', 'queue', queue),
    card('Jobs needing reconciliation', 'reconciliation', reconMessage, recon),
    card('Refunds due', 'refunds-due', refunds),
    card("Today's transactions (UTC)", 'transactions', txs));

  const load = () => Promise.all([
    fill(health, async () => table([
      { label: 'Kiosk', value: (k) => h('span', {}, h('strong', { text: k.name }), ' ', h('span', { class: 'muted', text: k.kiosk_id })) },
      { label: 'Location', value: (k) => k.location || '' },
      { label: 'Status', value: (k) => badge(k.status, HEALTH[k.status]) },
      { label: 'Last seen', value: (k) => since(k.last_seen_at) },
      { label: 'Pending', value: (k) => num(k.pending), num: true },
      { label: 'Dispensing', value: (k) => num(k.dispensing), num: true },
      { label: 'To reconcile', value: (k) => num(k.needs_reconciliation), num: true },
      { label: 'Failed', value: (k) => num(k.failed), num: true },
      { label: 'Open alerts', value: (k) => num(k.open_alerts), num: true },
    ], await api.read('atm_kiosks'), { testid: 'kiosk-health-table', empty: 'No ATM kiosk registered.' })),
    fill(queue, async () => table(jobColumns, await api.read('atm_jobs'), { testid: 'queue-table', empty: 'The queue is empty.' })),
    // A refresh never wipes a reconcile form someone is filling in.
    busy(recon) ? null : fill(recon, async () => {
      const jobs = await api.read('atm_jobs', { status: 'needs_reconciliation' });
      if (!jobs.length) return h('p', { class: 'empty', 'data-testid': 'reconciliation-list', text: 'No job needs reconciliation.' });
      return h('div', { 'data-testid': 'reconciliation-list' }, jobs.map((j) => h('div', { class: 'card', 'data-job-id': j.job_id },
        h('p', {}, h('strong', { text: `Job #${j.job_id}` }), ` at ${j.kiosk_id}: ${j.quarters} quarters (${money(j.amount, j.currency)}), `,
          `${j.coins_paid} known paid. ${j.last_error || ''}`),
        user.role === 'admin' ? reconcileForm(j, reconciled)
          : notice('An admin reconciles jobs (or the kiosk itself, from its hopper count).'))));
    }),
    fill(refunds, async () => table([
      { label: 'Refund', value: (r) => '#' + r.refund_id },
      { label: 'Kiosk', value: (r) => r.kiosk_id },
      { label: 'Reason', value: (r) => r.reason.replaceAll('_', ' ') },
      { label: 'Amount', value: (r) => money(r.amount, r.currency), num: true },
      { label: 'World App payment', value: (r) => r.world_payment_id },
      { label: 'Since', value: (r) => time(r.created_at) },
    ], await api.read('atm_refunds_due'), { testid: 'refunds-due-table', empty: 'No payment to pay back.' })),
    fill(txs, async () => {
      const day = await api.read('atm_transactions');
      const s = day.summary;
      return [
        h('div', { class: 'toolbar', 'data-testid': 'transactions-summary' },
          badge(`${s.transactions} transactions`), badge(`${s.paid} paid`, 'info'), badge(`${s.completed} completed`, 'ok'),
          badge(`sold ${money(s.amount, s.currency)}`), badge(`fees ${money(s.fees, s.currency)}`)),
        table([
          { label: 'Created', value: (t) => time(t.created_at) },
          { label: 'Kiosk', value: (t) => t.kiosk_id },
          { label: 'Amount', value: (t) => money(t.amount, t.currency), num: true },
          { label: 'Fee', value: (t) => money(t.fee, t.currency), num: true },
          { label: 'Status', value: (t) => badge(t.status, { completed: 'ok', paid: 'info', pending: '', failed: 'bad', expired: 'warn' }[t.status]) },
          { label: 'Dispense', value: (t) => (t.dispense ? `${t.dispense.status.replaceAll('_', ' ')} ${t.dispense.coins_paid}/${t.dispense.quarters}` : '—') },
        ], day.transactions, { testid: 'transactions-table', empty: 'No transaction today.' }),
      ];
    }),
  ]);
  run();
}
