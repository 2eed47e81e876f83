// What the customer's page (rpc/static/miniapp/app.js) takes from MiniKit: the bundle
// exports only these, so esbuild leaves the rest (React provider, SIWE helpers...) out
// where it can.
export { MiniKit, VerificationLevel } from "@worldcoin/minikit-js";
