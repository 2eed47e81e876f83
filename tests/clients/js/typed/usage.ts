// A small client program typed by what openapi-typescript generates from /openapi.json
// (tests/integration/test_typescript_types.py writes ./kioskledger.ts next to a copy of
// this file and runs `tsc --noEmit --strict`). It reads results as a till, a refund desk
// and a route planner would, so a result typed `unknown` (or wrongly) fails to compile.
import type { components, paths } from "./kioskledger";

type Json<R> = R extends { content: { "application/json": infer T } } ? T : never;
type Result<P extends keyof paths, M extends "get" | "post" = "post"> = paths[P][M] extends {
  responses: { 200: infer R };
}
  ? Json<R>
  : never;
type Body<P extends keyof paths> = paths[P]["post"] extends {
  requestBody?: { content: { "application/json": infer B } };
}
  ? B
  : never;
type ApiError = components["schemas"]["Error"];

// Every result a client can get from a function or a payment route is typed: a path here
// whose 200 answer is `unknown` makes this object miss a property, named in the error.
type Callable = Extract<keyof paths, `/rpc/${string}`> | "/atm/pay" | "/recharge/checkout";
type UnknownResult<P extends Callable> = unknown extends Result<P> ? P : never;
type UnknownResults = { [P in Callable]: UnknownResult<P> }[Callable];
export const everyResultIsTyped: Record<UnknownResults, "has an unknown result type"> = {};

export const order: Body<"/rpc/bar_order"> = {
  card_id: "DEMO0001",
  items: [{ product_id: "beer", quantity: 2 }],
  point_of_sale: "bar-1",
  request_id: "till-1-0001",
};

export function receipt(issued: Result<"/rpc/card_issue">, paid: Result<"/rpc/bar_order">): string {
  const code: string | undefined = issued.refund_code;
  const source: "issued" | "imported" = issued.refund_code_source;
  const left: number = paid.new_balance;
  return `${issued.card_id} (${source}${code ? `, code ${code}` : ""}): ${paid.total} ${paid.currency}, left ${left}`;
}

export function canServe(card: Result<"/rpc/card_balance", "get">, price: number): boolean {
  const status: "active" | "frozen" | "blocked" = card.status;
  return status === "active" && card.balance - card.debt >= price;
}

export function bestDay(sales: Result<"/rpc/machine_sales", "get">): { date: string; revenue: number } | null {
  let best: { date: string; revenue: number } | null = null;
  for (const day of sales.days) {
    const named = day.selections.filter((s) => s.product_name !== null).length;
    if (named >= 0 && (best === null || day.revenue > best.revenue)) {
      best = { date: day.date, revenue: day.revenue };
    }
  }
  return best;
}

export function vanLoad(pick: Result<"/rpc/pick_list", "get">): Map<string, number> {
  const load = new Map<string, number>();
  for (const p of pick.products) {
    load.set(p.product_name ?? p.product_code ?? "?", p.bring);
  }
  return load;
}

export function exported(file: Result<"/rpc/refund_export">): string {
  // Two shapes: a file, or nothing pending.
  return file.xml === null ? "nothing to pay" : `${file.count} refunds, ${file.total} ${file.currency}`;
}

export function explain(error: ApiError): string {
  const argument = error.details?.["argument"];
  return typeof argument === "string" ? `${error.code}: ${argument}` : `${error.code}: ${error.message}`;
}
