// loadtest/k6/orders.js - saga-load's scenario for k6 users: orders offered at a
// constant arrival rate (open model), with the same mix and the same load
// conventions (loadtest/README.md). k6 sees HTTP only: it measures the order API, not
// the sagas; saga-load also follows every order's outcome on order-events.
//
//   saga-load --write-tokens tokens.json --customers 100000     # mint the tokens once
//   TOKENS_FILE=$PWD/tokens.json RATE=200 DURATION=60s k6 run loadtest/k6/orders.js
//
// Environment (defaults in brackets):
//   TOKENS_FILE  {"<customer>": "<jwt>"} as saga-load --write-tokens writes it (required)
//   ORDER_URL    [http://127.0.0.1:8081]
//   RATE         orders per second [100]          DURATION  [30s]
//   VUS          pre-allocated VUs [64]           MAX_VUS   [4 x VUS]
//   PRODUCTS     skus load-p-0000001..N [1000000]
//   ITEMS        distinct skus per order [1]
//   MIX          [confirmed=90,out_of_stock=4,declined=3,cancel=3]
//   SEED         random seed (each VU adds its number) [none: random]
//   FOLLOW       share 0..1 of accepted orders followed to their end with
//                GET /api/orders/{id}?wait=30 (holds an order-service thread each) [0]
import http from 'k6/http';
import { check, randomSeed } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';

const ORDER_URL = (__ENV.ORDER_URL || 'http://127.0.0.1:8081').replace(/\/+$/, '');
const RATE = parseInt(__ENV.RATE || '100', 10);
const VUS = parseInt(__ENV.VUS || '64', 10);
const PRODUCTS = parseInt(__ENV.PRODUCTS || '1000000', 10);
const ITEMS = parseInt(__ENV.ITEMS || '1', 10);
const FOLLOW = parseFloat(__ENV.FOLLOW || '0');
const KINDS = ['confirmed', 'out_of_stock', 'declined', 'cancel'];

function parseMix(spec) {
    const mix = [];
    let total = 0;
    for (const part of spec.split(',')) {
        const [kind, weight] = part.split('=');
        if (!KINDS.includes(kind) || !/^\d+$/.test(weight || '')) {
            throw new Error(`MIX: '${part}' is not kind=weight (${KINDS.join(', ')})`);
        }
        total += parseInt(weight, 10);
        mix.push({ kind, upTo: total });
    }
    if (total === 0) throw new Error('MIX: the weights add up to 0');
    return { mix, total };
}
const MIX = parseMix(__ENV.MIX || 'confirmed=90,out_of_stock=4,declined=3,cancel=3');

// [customer, token] pairs, split by the conventions: load-c-* have money, load-poor-* none.
function tokenPairs(prefix) {
    if (!__ENV.TOKENS_FILE) throw new Error('TOKENS_FILE is not set (saga-load --write-tokens)');
    const all = JSON.parse(open(__ENV.TOKENS_FILE));
    return Object.keys(all)
        .filter((id) => id.startsWith(prefix))
        .map((id) => [id, all[id]]);
}
const rich = new SharedArray('rich customers', () => tokenPairs('load-c-'));
const poor = new SharedArray('poor customers', () => tokenPairs('load-poor-'));

if (__ENV.SEED) randomSeed(parseInt(__ENV.SEED, 10) + __VU);

export const options = {
    scenarios: {
        orders: {
            executor: 'constant-arrival-rate',
            rate: RATE,
            timeUnit: '1s',
            duration: __ENV.DURATION || '30s',
            preAllocatedVUs: VUS,
            maxVUs: parseInt(__ENV.MAX_VUS || String(4 * VUS), 10),
        },
    },
    thresholds: {
        'http_req_duration{name:create}': ['p(99)<1000'],
        orders_errors: ['count==0'],
    },
};

const accepted = new Counter('orders_accepted');
const refused = new Counter('orders_refused');
const soldOut = new Counter('orders_refused_sold_out');
const errors = new Counter('orders_errors');
const outcomes = new Counter('orders_outcome');
const sagaDuration = new Trend('saga_duration', true);

// made once, as k6 advises: a 409 is an answer the scenario expects, not a failure
const createExpected = http.expectedStatuses(202, 409);
const cancelExpected = http.expectedStatuses(200, 409);

const pick = (n) => Math.floor(Math.random() * n);
const pad = (n, width) => String(n).padStart(width, '0');

function pickKind() {
    const r = pick(MIX.total);
    return MIX.mix.find((m) => r < m.upTo).kind;
}

function orderFor(kind) {
    const [customerId, token] = kind === 'declined' ? poor[pick(poor.length)] : rich[pick(rich.length)];
    const skus = new Set();
    if (kind === 'out_of_stock') skus.add(`load-empty-${pad(1 + pick(10), 2)}`);
    while (skus.size < ITEMS) skus.add(`load-p-${pad(1 + pick(PRODUCTS), 7)}`);
    const items = [...skus].map((sku) => ({ sku, quantity: 1 }));
    return { token, body: JSON.stringify({ customerId, items }) };
}

export default function () {
    const kind = pickKind();
    const { token, body } = orderFor(kind);
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
    const started = Date.now();
    const res = http.post(`${ORDER_URL}/api/orders`, body, {
        headers,
        tags: { name: 'create', kind },
        responseCallback: createExpected,
    });
    if (res.status === 0) {
        errors.add(1, { kind, error: res.error });
        return;
    }
    if (res.status !== 202) {
        refused.add(1, { kind, status: String(res.status) });
        if (res.status === 409 && String(res.body).includes('out-of-stock')) soldOut.add(1, { kind });
        return;
    }
    accepted.add(1, { kind });
    const id = res.json('id');
    check(res, { 'a 202 carries the order id': () => typeof id === 'string' && id.length === 36 });
    if (kind === 'cancel') {
        http.post(`${ORDER_URL}/api/orders/${id}/cancel`, null, {
            headers,
            tags: { name: 'cancel', kind },
            responseCallback: cancelExpected,
        });
    }
    if (FOLLOW > 0 && Math.random() < FOLLOW) {
        const done = http.get(`${ORDER_URL}/api/orders/${id}?wait=30`, {
            headers,
            tags: { name: 'follow', kind },
            timeout: '35s',
        });
        const status = done.status === 200 ? done.json('status') : 'UNKNOWN';
        const outcome = status === 'CANCELLED' ? done.json('cancelReason') : status;
        outcomes.add(1, { kind, outcome });
        // from the POST's start to the terminal answer: an upper bound of the saga
        if (status === 'CONFIRMED' || status === 'CANCELLED') {
            sagaDuration.add(Date.now() - started, { kind, outcome });
        }
    }
}
