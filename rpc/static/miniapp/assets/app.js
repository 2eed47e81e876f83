// The ATM customer's page, a World App mini app: shows the transaction, asks World App for
// a World ID proof (signal = the transaction id) and a payment (reference = the
// transaction's payment_reference, the total in the token's base units), hands both to
// POST /atm/pay, then follows the dispense until the kiosk has paid the quarters.
// It only calls the public API; what is paid and dispensed is decided by the server.
import { MiniKit, VerificationLevel } from "./vendor/minikit.js";

const API = (document.querySelector('meta[name="kioskledger-api"]')?.content || "").replace(/\/+$/, "");
const TX_ID = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
// World App shows its own sheets for verify and pay; a command it never answers (an old
// app, a lost message) must not leave the customer staring at a spinner.
const COMMAND_TIMEOUT_MS = 120_000;
const POLL_MS = 1_000;
const CONFIRM_RETRY_MS = 2_000;
const CONFIRM_ATTEMPTS = 30; // ~1 minute for the payment to be mined and found

const $ = (id) => document.getElementById(id);
let tx = null; // the last transaction status read
let config = null; // /miniapp/config.json
let busy = false; // verify/pay/confirm in progress: the countdown does not interrupt it
let countdownTimer = null;

// --- the API ------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || "HTTP_" + status;
    this.details = body?.details || null;
  }
}

async function request(path, options = {}) {
  const response = await fetch(API + path, { ...options, headers: { Accept: "application/json", ...options.headers } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

const readStatus = () => request("/rpc/atm_transaction_status?id=" + encodeURIComponent(TX_ID));

function payAtm(body) {
  return request("/atm/pay", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// --- rendering ----------------------------------------------------------------------

function money(cents, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
  } catch {
    return (cents / 100).toFixed(2) + " " + currency;
  }
}

function show(state, title, message, { note = null, action = null, link = null } = {}) {
  document.body.dataset.state = state;
  $("title").textContent = title;
  $("message").textContent = message;
  $("note").hidden = !note;
  $("note").textContent = note || "";
  const button = $("action");
  button.hidden = !action;
  button.disabled = false;
  if (action) {
    button.textContent = action.label;
    button.onclick = action.run;
  }
  $("open-link").hidden = !link;
  if (link) $("open-link").href = link;
  if (!["dispensing", "already-paid", "completed"].includes(state)) $("progress-box").hidden = true;
}

function showSummary(t) {
  $("summary").hidden = false;
  $("quarters").textContent = String(t.quarters);
  $("amount").textContent = money(t.amount, t.currency);
  $("fee").textContent = money(t.fee, t.currency);
  $("total").textContent = money(t.total, t.currency);
}

function showProgress(t) {
  const d = t.dispense;
  const paid = d ? d.coins_paid : 0;
  $("progress-box").hidden = false;
  $("progress").max = t.quarters;
  $("progress").value = paid;
  $("progress-text").textContent = `${paid} of ${t.quarters} quarters dispensed`;
}

function refundNote(details) {
  const r = details?.refund;
  return r ? `Your payment of ${money(r.amount, r.currency)} is recorded and will be refunded.` : null;
}

// --- expiry countdown ---------------------------------------------------------------

function startCountdown() {
  const ends = Date.parse(tx.expires_at);
  const tick = () => {
    const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    $("remaining").textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    $("remaining").dateTime = `PT${left}S`;
    if (left === 0 && !busy) {
      stopCountdown();
      showExpired();
    }
  };
  $("countdown").hidden = false;
  tick();
  countdownTimer = setInterval(tick, 1000);
}

function stopCountdown() {
  clearInterval(countdownTimer);
  countdownTimer = null;
  $("countdown").hidden = true;
}

function showExpired(details = null) {
  stopCountdown();
  show("expired", "This purchase has expired", "Nothing was charged for it. Start a new purchase on the kiosk.", {
    note: refundNote(details),
  });
}

// --- states from the transaction ------------------------------------------------------

function fromStatus() {
  if (tx.status === "pending" && !tx.expired) return startPayable();
  stopCountdown();
  if (tx.status === "expired" || tx.expired) return showExpired();
  if (tx.status === "failed") return showFailed();
  // paid or completed before this visit: someone (maybe this phone, earlier) paid it.
  show("already-paid", "Already paid", alreadyPaidText(tx));
  showProgress(tx);
  if (tx.status === "paid") followDispense("already-paid");
}

function alreadyPaidText(t) {
  return t.status === "completed"
    ? `This purchase is paid and all ${t.quarters} quarters were dispensed.`
    : "This purchase is paid. The kiosk is dispensing your quarters.";
}

function showFailed() {
  show("failed", "The kiosk needs help", "Not every quarter could be dispensed. Please ask the staff: your payment is recorded.");
}

function startPayable() {
  startCountdown();
  if (!window.WorldApp) {
    const link = config.app_id ? MiniKit.getMiniAppUrl(config.app_id, location.pathname) : null;
    return show("open-in-world-app", "Open this in World App", "Scan the kiosk's code with World App to pay with World ID.", {
      link,
    });
  }
  if (!config.recipient || !config.app_id) {
    return show("unavailable", "Payments are not set up", "This kiosk cannot take payments yet. Please ask the staff.");
  }
  const installed = MiniKit.install(config.app_id);
  if (!installed.success && installed.errorCode !== "already_installed") {
    return show("unavailable", "Please update World App", installed.errorMessage || "World App cannot run this page.");
  }
  showReady();
}

function showReady(message = "Confirm with World ID, then pay in World App.", note = null) {
  show("ready", `Pay ${money(tx.total, tx.currency)}`, message, { note, action: { label: "Verify and pay", run: payFlow } });
}

// --- verify -> pay -> /atm/pay --------------------------------------------------------

class NoAnswer extends Error {}

function withTimeout(promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswer("World App did not answer.")), COMMAND_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function newRequestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// The total (cents) in the token's smallest units, exactly: 550 cents of a 6-decimal token
// is 5500000.
function baseUnits(cents, decimals) {
  return ((BigInt(cents) * 10n ** BigInt(decimals)) / 100n).toString();
}

const DECLINED = {
  verification_rejected: "You cancelled the World ID check.",
  user_rejected: "You cancelled the payment in World App.",
  payment_rejected: "You cancelled the payment in World App.",
  insufficient_balance: "Your wallet does not hold enough for this purchase.",
  transaction_failed: "The payment did not go through.",
  user_blocked: "World App does not allow payments from your region.",
};

function declined(title, message, note = null, retry = retryFromStatus) {
  busy = false;
  show("declined", title, message, { note, action: { label: "Try again", run: retry } });
}

async function retryFromStatus() {
  $("action").disabled = true;
  try {
    tx = await readStatus();
  } catch (err) {
    return unavailable(err);
  }
  stopCountdown();
  fromStatus();
}

async function payFlow() {
  busy = true;
  $("action").disabled = true;
  show("verifying", "Confirm with World ID", "Approve the World ID check in World App.");
  let proof;
  try {
    const { finalPayload } = await withTimeout(
      MiniKit.commandsAsync.verify({
        action: config.action,
        signal: TX_ID,
        verification_level: VerificationLevel.Orb,
        // Compression is for on-chain verifiers and would call a public RPC node; the
        // server verifies with the World ID API, which takes the proof as it is.
        skip_proof_compression: true,
      }),
    );
    if (finalPayload.status !== "success") {
      return declined("Not verified", DECLINED[finalPayload.error_code] || "World ID could not confirm you.");
    }
    proof = finalPayload;
  } catch (err) {
    // MiniKit refuses a second verify while one is unanswered: start over from a fresh page.
    const retry = err instanceof NoAnswer ? () => location.reload() : retryFromStatus;
    return declined("Not verified", err.message, null, retry);
  }

  show("paying", "Confirm the payment", `Approve paying ${money(tx.total, tx.currency)} in World App.`);
  // MiniKit 1.x never settles pay when World App does not answer: the page stops waiting
  // after a while, but a late "paid" still counts - the money has left the wallet.
  const paying = MiniKit.commandsAsync.pay({
    reference: tx.payment_reference,
    to: config.recipient,
    tokens: [{ symbol: config.token.symbol, token_amount: baseUnits(tx.total, config.token.decimals) }],
    description: `${tx.quarters} quarters from ATM ${tx.kiosk_id}`,
  });
  let payment;
  try {
    const { finalPayload } = await withTimeout(paying);
    if (finalPayload.status !== "success") {
      return declined("Payment declined", DECLINED[finalPayload.error_code] || "The payment did not go through.");
    }
    payment = finalPayload;
  } catch (err) {
    if (err instanceof NoAnswer) {
      paying.then(({ finalPayload }) => {
        if (finalPayload.status === "success" && !busy) {
          busy = true;
          confirm(proof, finalPayload);
        }
      });
      return declined("No answer from World App", err.message, "If you approved the payment, this page picks it up.");
    }
    return declined("Payment declined", err.message);
  }
  await confirm(proof, payment);
}

// Hand the proof and the payment to the server. A payment not yet mined is asked again
// with a new key (the server remembers each key's answer); a lost answer is retried
// with the same key, so it can never pay twice.
async function confirm(proof, payment) {
  show("confirming", "Checking your payment…", "This takes a few seconds.");
  const body = {
    transaction_id: TX_ID,
    world_id: {
      proof: proof.proof,
      merkle_root: proof.merkle_root,
      nullifier_hash: proof.nullifier_hash,
      verification_level: proof.verification_level,
    },
    payment: { transaction_id: payment.transaction_id },
    request_id: newRequestId(),
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await payAtm(body);
      busy = false;
      stopCountdown();
      show("dispensing", "Paid — take your quarters", "The kiosk is dispensing your quarters.");
      return followDispense("dispensing");
    } catch (err) {
      const again = attempt < CONFIRM_ATTEMPTS;
      if (!(err instanceof ApiError) || err.status >= 500) {
        if (again) {
          await sleep(CONFIRM_RETRY_MS);
          continue;
        }
        return declined("We could not confirm your payment", "Please ask the staff: your payment is recorded by World App.");
      }
      if (err.code === "PAYMENT_NOT_CONFIRMED" && err.details?.payment_status !== "mined" && again) {
        body.request_id = newRequestId();
        await sleep(CONFIRM_RETRY_MS);
        continue;
      }
      return afterDecline(err);
    }
  }
}

async function afterDecline(err) {
  busy = false;
  stopCountdown();
  switch (err.code) {
    case "EXPIRED":
      return showExpired(err.details);
    case "ALREADY_PAID":
      show("already-paid", "Already paid", "This purchase was already paid.", { note: refundNote(err.details) });
      return;
    case "PAYMENT_ALREADY_USED":
      // This payment is booked already (an earlier answer that got lost): follow it.
      return retryFromStatus();
    case "WORLD_ID_INVALID":
      return declined("Not verified", "World ID could not confirm you for this purchase.");
    case "PERSON_LIMIT_REACHED":
      return declined("Daily limit reached", "You have reached today's limit for this ATM.", refundNote(err.details));
    default:
      return declined("Payment declined", err.message, refundNote(err.details));
  }
}

// --- dispense progress --------------------------------------------------------------

async function followDispense(state) {
  for (;;) {
    try {
      tx = await readStatus();
    } catch {
      await sleep(POLL_MS); // a blip while the coins drop: keep following
      continue;
    }
    showProgress(tx);
    if (tx.status === "completed") {
      if (state === "already-paid") return show("already-paid", "Already paid", alreadyPaidText(tx));
      return show("completed", "Done — enjoy your quarters", `All ${tx.quarters} quarters were dispensed.`);
    }
    if (tx.status === "failed" || ["failed", "needs_reconciliation"].includes(tx.dispense?.status)) {
      return showFailed();
    }
    await sleep(POLL_MS);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function unavailable(err) {
  busy = false;
  show("unavailable", "Something went wrong", "The ATM service cannot be reached right now.", {
    note: err?.message || null,
    action: { label: "Try again", run: () => location.reload() },
  });
}

// --- start --------------------------------------------------------------------------

async function start() {
  try {
    [config, tx] = await Promise.all([request("/miniapp/config.json"), readStatus()]);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
      return show("not-found", "Purchase not found", "This link does not belong to a purchase. Scan the kiosk's code again.");
    }
    return unavailable(err);
  }
  showSummary(tx);
  fromStatus();
}

start();
