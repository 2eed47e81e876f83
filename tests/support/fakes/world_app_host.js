// A fake World App host for the mini app tests, injected before the page loads. It speaks
// the bridge's protocol as MiniKit 1.x sees it: window.WorldApp (launch facts and
// supported_commands), page -> host through window.webkit.messageHandlers.minikit
// .postMessage(object), host -> page through window.MiniKit.trigger(event, payload).
// It never defines window.MiniKit (the page's MiniKit.install() does).
//
// Like World App, it makes the answers itself: the proof is made for the signal and
// action the page sent (the World fake accepts it only for those), and a payment is
// "submitted to the chain" - handed to the World fake's payment lookup, with the
// reference, token, amount and recipient the page asked for - before the page hears of it.
(() => {
  const options = __HOST_OPTIONS__;
  const messages = [];
  // answerPay(): a "silent" host answers the last pay command late, as the test says when.
  window.__worldAppHost = { messages, answerPay: () => pay(messages.findLast((m) => m.command === "pay"), "success") };

  // Every command MiniKit 1.11 knows, at the versions it sends: no "update World App"
  // warnings, and a command missing here would stay unavailable to the page.
  const versions = {
    verify: [1], pay: [1], "wallet-auth": [1, 2], "send-transaction": [1], "sign-message": [1],
    "sign-typed-data": [1], "share-contacts": [1], "request-permission": [1], "get-permissions": [1],
    "send-haptic-feedback": [1], share: [1], chat: [1], attestation: [1], "close-miniapp": [1],
  };
  window.WorldApp = {
    world_app_version: 2_800_000,
    device_os: "ios",
    is_optional_analytics: false,
    preferred_currency: "USD",
    safe_area_insets: { top: 0, right: 0, bottom: 0, left: 0 },
    location: "deep-link",
    supported_commands: Object.entries(versions).map(([name, supported_versions]) => ({ name, supported_versions })),
  };

  const reply = (event, payload) =>
    setTimeout(() => window.MiniKit.trigger(event, payload), options.reply_delay_ms);

  async function sha256hex(text) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const randomHex = (bytes) =>
    Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

  async function verify(message) {
    if (options.verify === "silent") return;
    if (options.verify !== "success") {
      return reply("miniapp-verify-action", { status: "error", error_code: options.verify, version: 1 });
    }
    const { signal, action, verification_level } = message.payload;
    // tests/support/fakes/world_fake.py: fake_proof(nullifier_hash, signal_hash, action).
    const proof = "0x" + (await sha256hex(`${options.nullifier_hash}|${signal}|${action}`));
    reply("miniapp-verify-action", {
      status: "success",
      version: 1,
      proof,
      merkle_root: options.merkle_root,
      nullifier_hash: options.nullifier_hash,
      verification_level: Array.isArray(verification_level) ? verification_level[0] : verification_level,
    });
  }

  async function pay(message, outcome = options.pay) {
    if (outcome === "silent") return;
    if (outcome !== "success") {
      return reply("miniapp-payment", { status: "error", error_code: outcome, version: 1 });
    }
    const p = message.payload;
    const transaction_id = "0x" + randomHex(32);
    const [token] = p.tokens;
    await window.__worldChainSubmit({
      transaction_id,
      reference: p.reference,
      to: p.to,
      from: options.wallet,
      token: token.symbol,
      token_amount: token.token_amount,
    });
    reply("miniapp-payment", {
      status: "success",
      version: 1,
      transaction_status: "submitted",
      transaction_id,
      reference: p.reference,
      from: options.wallet,
      chain: "worldchain",
      timestamp: new Date().toISOString(),
    });
  }

  window.webkit = {
    messageHandlers: {
      minikit: {
        postMessage(message) {
          messages.push(JSON.parse(JSON.stringify(message)));
          if (message.command === "verify") verify(message);
          else if (message.command === "pay") pay(message);
        },
      },
    },
  };
})();
