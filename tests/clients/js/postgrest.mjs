// One till through stock postgrest-js on its own (no supabase-js, no apikey): sell on a
// card, get a decline, read the balance over GET, replay the sale. Prints one JSON object of
// what the client saw; tests/integration/test_js_clients.py asserts on it.
// Env: KL_URL (the server, without /rest/v1), KL_STAFF_TOKEN, KL_CARD (issued, recharged), KL_PRODUCT.
import { PostgrestClient } from '@supabase/postgrest-js'

const env = process.env
const postgrest = new PostgrestClient(env.KL_URL + '/rest/v1', {
  headers: { Authorization: 'Bearer ' + env.KL_STAFF_TOKEN },
})
const card = env.KL_CARD
const product = env.KL_PRODUCT
const run = Date.now().toString(36)
const seen = ({ data, error, status }) => ({ data, error, status })

const out = {}
const order = { card_id: card, items: [{ product_id: product, quantity: 1 }], point_of_sale: 'bar-pg', request_id: `${run}-order` }
out.order = seen(await postgrest.rpc('bar_order', order))
out.decline = seen(await postgrest.rpc('bar_order', {
  ...order, items: [{ product_id: product, quantity: 100 }], request_id: `${run}-too-much`,
}))
out.balance = seen(await postgrest.rpc('card_balance', { card_id: card }, { get: true }))
out.replay = seen(await postgrest.rpc('bar_order', order))
console.log(JSON.stringify(out))
