// One till's session through stock supabase-js against the RPC server: issue a card,
// recharge it, sell on it, get a decline, read over GET, replay a sale. Prints one JSON
// object of what the client saw; tests/integration/test_js_clients.py asserts on it.
// Env: KL_URL (the server, without /rest/v1), KL_ANON_KEY, KL_STAFF_TOKEN, KL_CARD, KL_PRODUCT.
import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const env = process.env
const supabase = createClient(env.KL_URL, env.KL_ANON_KEY, {
  auth: { persistSession: false, autoRefreshToken: false },
  // Node 20 has no WebSocket of its own; realtime-js wants one at creation (never used here).
  realtime: { transport: ws },
  global: { headers: { Authorization: 'Bearer ' + env.KL_STAFF_TOKEN } },
})
const card = env.KL_CARD
const product = env.KL_PRODUCT
const run = Date.now().toString(36)
const seen = ({ data, error, status }) => ({ data, error, status })

const out = {}
out.issue = seen(await supabase.rpc('card_issue', { card_id: card, request_id: `${run}-issue` }))
out.recharge = seen(await supabase.rpc('checkpoint_recharge', {
  card_id: card, amount: 1000, payment_method: 'cash', checkpoint_id: 'cp-js', request_id: `${run}-recharge`,
}))
const order = { card_id: card, items: [{ product_id: product, quantity: 2 }], point_of_sale: 'bar-js', request_id: `${run}-order` }
out.order = seen(await supabase.rpc('bar_order', order))
out.decline = seen(await supabase.rpc('bar_order', {
  ...order, items: [{ product_id: product, quantity: 100 }], request_id: `${run}-too-much`,
}))
out.balance = seen(await supabase.rpc('card_balance', { card_id: card }, { get: true }))
out.replay = seen(await supabase.rpc('bar_order', order))
console.log(JSON.stringify(out))
