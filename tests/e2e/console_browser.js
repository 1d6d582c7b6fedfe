/* The browser half of e2e.console (tests/e2e/test_console.py): Debian's chromium,
 * headless, driven by playwright-core, asserts what a person sees in saga-console.
 *
 *   node tests/e2e/console_browser.js SPEC.json
 *
 * SPEC (written by test_console.py): the console's url, an admin's and a customer's
 * token, the orders with the events and states each must show, the poison message,
 * a topic partition to browse, and the directory for screenshots. Exits 0 when every
 * check passed; prints one JSON line last ({"replayedFrom": "P/O"}). */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const WAIT = 30000;
let failures = 0;

function check(ok, what) {
  if (ok) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}`);
  }
  return ok;
}

function sameMultiset(a, b) {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(spec.artifacts, `${name}.png`), fullPage: true });
}

/* The timeline as the page shows it: each item's type, writer and the position of
 * the item it names as its cause. */
async function timeline(page) {
  return page.$$eval('#timeline li[data-index]', (lis) => lis.map((li) => {
    const cause = li.querySelector('.cause');
    const m = cause ? /caused by (\d+)\. (.*)$/.exec(cause.textContent) : null;
    return {
      index: Number(li.dataset.index),
      type: li.dataset.type,
      writer: li.dataset.writer,
      causeIndex: m ? Number(m[1]) - 1 : -1,
      causeType: m ? m[2] : null,
      text: li.textContent,
    };
  }));
}

async function cardText(page, id) {
  return (await page.textContent(`#${id}`)) || '';
}

const WRITERS = { Order: 'order', Inventory: 'inventory', Payment: 'payment', Notification: 'notification' };

async function checkOrder(page, o) {
  await page.goto(`${spec.url}/#/saga/${o.id}`);
  await page.waitForFunction((id) => document.getElementById('saga').dataset.order === id &&
    /settled/.test(document.getElementById('saga-status').textContent), o.id, { timeout: WAIT });
  const items = await timeline(page);
  const types = items.map((i) => i.type);
  check(sameMultiset(types, o.types), `${o.name}: the timeline holds ${o.types.join(', ')} (saw ${types.join(', ')})`);
  let causal = true;
  for (const it of items) {
    if (it.causeIndex >= 0) {
      causal = causal && it.causeIndex < it.index && items[it.causeIndex].type === it.causeType;
    } else {
      /* only the saga's roots have no cause: the order's creation, or a customer's
       * cancellation through the API */
      causal = causal && (it.type === 'OrderCreated' || it.type === 'OrderCancelled');
    }
    const writer = WRITERS[/^[A-Z][a-z]+/.exec(it.type)[0]];
    check(it.writer === writer, `${o.name}: ${it.type} is shown as written by ${writer}-service`);
  }
  check(causal, `${o.name}: every event comes after the event it names as its cause`);
  const seq = types.filter((t, i) => o.sequence.includes(t) && types.indexOf(t) === i);
  check(JSON.stringify(seq) === JSON.stringify(o.sequence), `${o.name}: in causal order ${o.sequence.join(' -> ')}`);

  const order = await cardText(page, 'state-order');
  check(order.includes(o.status), `${o.name}: order-service shows ${o.status}`);
  if (o.reason) check(order.includes(o.reason), `${o.name}: with reason ${o.reason}`);
  const inv = await cardText(page, 'state-inventory');
  check(inv.includes(`outcome: ${o.inventory}`), `${o.name}: inventory outcome ${o.inventory}`);
  check(o.reservation ? inv.includes(o.reservation) : inv.includes('no reservation'),
    `${o.name}: reservation ${o.reservation || 'none'}`);
  const pay = await cardText(page, 'state-payment');
  check(o.payment ? pay.includes(o.payment) : pay.includes('no payment'), `${o.name}: payment ${o.payment || 'none'}`);
  const sent = await page.$$eval('#state-notification td.status', (tds) => tds.map((t) => t.textContent));
  check(JSON.stringify(sent) === JSON.stringify(o.notifications),
    `${o.name}: notifications ${o.notifications.join(', ')} (saw ${sent.join(', ')})`);
  await shot(page, `saga-${o.name}`);
}

async function main() {
  fs.mkdirSync(spec.artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'saga-console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
  });
  let replayedFrom = null;
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => check(false, `no script error on the page (${e.message})`));

    /* signing in: a customer's token is not enough */
    await page.goto(spec.url + '/');
    await page.waitForSelector('#login:not([hidden])', { timeout: WAIT });
    await page.fill('#token', spec.customerToken);
    await page.click('#login-form button');
    await page.waitForFunction(() => document.getElementById('error').textContent.includes('403'),
      null, { timeout: WAIT });
    check(true, 'a customer\'s token gets 403 from the API');
    await page.click('#signout');
    await page.fill('#token', spec.token);
    await page.click('#login-form button');
    await page.waitForSelector('#main:not([hidden])', { timeout: WAIT });
    check((await page.textContent('#who')).includes('console-admin'), 'signed in as the admin');
    check(await page.evaluate(() => sessionStorage.getItem('saga-console-token') !== null),
      'the token is kept in sessionStorage');

    /* at a glance: figures and charts from the services' /metrics */
    await page.goto(spec.url + '/#/glance');
    await page.waitForFunction(() => {
      const c = document.querySelectorAll('#glance-charts canvas').length;
      return c === 5 && /updated/.test(document.getElementById('glance-when').textContent);
    }, null, { timeout: WAIT });
    await page.waitForTimeout(4500); /* a few polls: rates need two */
    const glance = await page.textContent('#glance-cards');
    check(/in flight\s*0/.test(glance), `nothing in flight once drained (${glance.slice(0, 120)})`);
    check(!/no \/metrics from/.test(await page.textContent('#glance-when')), 'every service\'s /metrics read');
    check((await page.textContent('#glance-cancelled')).includes('CUSTOMER_REQUEST 1'),
      'one cancellation by the customer counted');
    await shot(page, 'glance');

    for (const o of spec.orders) await checkOrder(page, o);

    /* the poison's own timeline before its replay: the event and its dead letters */
    await page.goto(`${spec.url}/#/saga/${spec.poison.id}`);
    await page.waitForFunction(([id, n]) => document.getElementById('saga').dataset.order === id &&
      document.querySelectorAll('#timeline li[data-type="dead-letter"]').length >= n,
      [spec.poison.id, spec.poison.count], { timeout: WAIT });
    let before = await timeline(page);
    check(before.filter((i) => i.type === 'OrderCreated').length === 1 &&
      before.filter((i) => i.type === 'dead-letter').length === spec.poison.count,
      `the poison's timeline: the event and ${spec.poison.count} dead letters (saw ${before.length} items)`);
    check((await cardText(page, 'state-order')).includes('does not know this order'),
      'order-service does not know the poison\'s order');

    /* dead letters: the poison, with its reason, and a replay */
    await page.goto(spec.url + '/#/dlq');
    await page.waitForSelector('#dlq-table tbody tr[data-position]', { timeout: WAIT });
    const rows = await page.$$eval('#dlq-table tbody tr[data-position]', (trs) => trs.map((tr) => ({
      position: tr.dataset.position, text: tr.textContent,
      reason: tr.querySelector('td.reason').textContent,
    })));
    const poisonRows = rows.filter((r) => r.text.includes(spec.poison.id));
    check(poisonRows.length === spec.poison.count,
      `the poison message is listed once per consumer (${poisonRows.length} of ${spec.poison.count})`);
    check(poisonRows.every((r) => r.reason === spec.poison.reason), `each with its reason ${spec.poison.reason}`);
    await shot(page, 'dead-letters');
    if (poisonRows.length) {
      const row = page.locator(`#dlq-table tr[data-position="${poisonRows[0].position}"]`);
      await row.locator('button', { hasText: 'Show' }).click();
      await page.waitForSelector('#dlq-detail:not([hidden]) .msg', { timeout: WAIT });
      const detail = await page.textContent('#dlq-detail');
      check(detail.includes('kafka_dlt-exception-fqcn') && detail.includes('urn:saga:schema:OrderCreated:9'),
        'the dead letter shows its headers and the original message');
      await row.locator('button.replay').click();
      await row.locator('.replay-result', { hasText: 'replayed to' }).waitFor({ timeout: WAIT });
      const result = await row.locator('.replay-result').textContent();
      check(new RegExp(`replayed to order-events \\[${spec.poison.partition}\\] @ \\d+`).test(result),
        `replay puts the message back on its partition (${result})`);
      replayedFrom = poisonRows[0].position.replace(':', '/');
      await shot(page, 'dead-letters-replayed');

      /* the poison's timeline again: the replay and its dead letters are added to what
       * the console read before */
      await page.goto(`${spec.url}/#/saga/${spec.poison.id}`);
      await page.waitForFunction(([id, n]) => document.getElementById('saga').dataset.order === id &&
        document.querySelectorAll('#timeline li[data-type="dead-letter"]').length >= n,
        [spec.poison.id, 2 * spec.poison.count], { timeout: WAIT });
      const items = await timeline(page);
      check(items.filter((i) => i.type === 'OrderCreated').length === 2,
        'the poison\'s timeline shows it and its replay');
      check(items.filter((i) => i.type === 'dead-letter').every((i) => i.causeType === 'OrderCreated'),
        'each dead letter follows the event it holds');
      await shot(page, 'saga-poison');
    }

    /* topics: partitions, groups and a partition's messages with their headers */
    await page.goto(spec.url + '/#/topics');
    await page.waitForSelector('#topics-table tbody tr[data-topic="saga-dlq"]', { timeout: WAIT });
    await page.waitForSelector('#groups-table tbody tr[data-group="inventory-service"]', { timeout: WAIT });
    check(await page.locator('#topics-table tbody tr[data-topic="order-events"]').count() > 0,
      'the topic view lists order-events with its partitions');
    await page.click(`#topics-table tr[data-topic="${spec.topic.name}"][data-partition="${spec.topic.partition}"] a`);
    await page.waitForSelector('#messages .msg', { timeout: WAIT });
    await page.fill('#browse-key', spec.topic.key);
    await page.selectOption('#browse-order', 'oldest');
    await page.click('#browse-form button[type=submit]');
    await page.waitForFunction((k) => {
      const summary = document.getElementById('browse-summary').textContent;
      const ms = [...document.querySelectorAll('#messages .msg')];
      return summary.includes('oldest first') && summary.includes(`to find key ${k}`) &&
        ms.length > 0 && ms.every((m) => m.dataset.key === k);
    }, spec.topic.key, { timeout: WAIT });
    const msgs = await page.$$eval('#messages .msg', (ms) => ms.map((m) => m.textContent));
    check(msgs.length === 2 && msgs[0].includes('OrderCreated') && msgs[1].includes('OrderConfirmed'),
      `the key filter shows the order's OrderCreated then OrderConfirmed (saw ${msgs.length})`);
    check(msgs.every((t) => t.includes('content-type') && t.includes('application/cloudevents+json')
      && t.includes('traceparent') && t.includes('correlationid')), 'each message shows its headers');
    check(msgs.every((t) => t.includes('"specversion": "1.0"')), 'and its CloudEvent, pretty-printed');
    await shot(page, 'topic');
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  console.log(JSON.stringify({ replayedFrom }));
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL ${e.stack || e}`);
  console.log(JSON.stringify({ replayedFrom: null }));
  process.exit(1);
});
