/* saga console: the page's script. Plain JavaScript, no framework, no build step.
 * Every value from the server reaches the page through textContent, never as HTML. */
'use strict';

const TOKEN_KEY = 'saga-console-token';
const SERVICES = ['order', 'payment', 'inventory', 'notification'];
const REASONS = ['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMEOUT', 'CUSTOMER_REQUEST'];
const COLORS = { order: '#2f6fdb', payment: '#c7861b', inventory: '#2e9e5b',
                 notification: '#8a4fc4', OUT_OF_STOCK: '#2e9e5b', PAYMENT_DECLINED: '#c7861b',
                 TIMEOUT: '#7a8699', CUSTOMER_REQUEST: '#8a4fc4', completed: '#2f6fdb',
                 inFlight: '#c7861b' };
const GLANCE_POLL_MS = 2000;
const GLANCE_POINTS = 150;       /* 5 minutes at one point per 2 s */
const SAGA_POLL_MS = 1500;       /* while the saga runs */
const SAGA_SETTLED_POLL_MS = 10000;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'style') e.style.cssText = v; /* CSSOM: allowed by the page's CSP */
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function iso(ms) {
  return typeof ms === 'number' && ms >= 0 ? new Date(ms).toISOString() : '-';
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

class AuthError extends Error {}

/* GET or POST the console's API with the bearer token; returns the JSON answer. */
async function api(path, method) {
  const resp = await fetch(path, {
    method: method || 'GET',
    headers: { Authorization: 'Bearer ' + token() },
    cache: 'no-store',
  });
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  if (resp.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw new AuthError('the token was refused: ' + ((body && body.detail) || 'unauthorized'));
  }
  if (!resp.ok) {
    const why = body && (body.detail || body.title) ? (body.detail || body.title) : resp.statusText;
    throw new Error(`${method || 'GET'} ${path}: ${resp.status} ${why}`);
  }
  return body;
}

function showError(e) {
  if (e instanceof AuthError) {
    showLogin(e.message);
    return;
  }
  $('error').textContent = e ? String(e.message || e) : '';
}

/* ---- sign in ---- */

function showLogin(message) {
  stopTimers();
  $('login').hidden = false;
  $('main').hidden = true;
  $('tabs').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = '';
  $('login-error').textContent = message || '';
}

function subjectOf(t) {
  try {
    const part = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part));
    return claims.sub || '';
  } catch (e) {
    return '';
  }
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const t = $('token').value.trim();
  if (!t) return;
  sessionStorage.setItem(TOKEN_KEY, t);
  $('token').value = '';
  start();
});

$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin('');
});

/* ---- views and timers ---- */

const timers = {};
function stopTimers() {
  for (const k of Object.keys(timers)) {
    clearTimeout(timers[k]);
    delete timers[k];
  }
}

/* Runs fn now and then every ms (fn may return another delay), only while the view
 * is shown and the tab is visible. */
function every(name, ms, fn) {
  clearTimeout(timers[name]);
  const tick = async () => {
    let next = ms;
    if (!document.hidden) {
      try {
        const r = await fn();
        if (typeof r === 'number') next = r;
        if (r === false) return;
      } catch (e) {
        showError(e);
        if (e instanceof AuthError) return;
      }
    }
    timers[name] = setTimeout(tick, next);
  };
  tick();
}

function route() {
  if (!token()) {
    showLogin('');
    return;
  }
  stopTimers();
  $('error').textContent = '';
  const parts = (location.hash || '#/glance').slice(2).split('/').map(decodeURIComponent);
  const view = ['glance', 'topics', 'saga', 'dlq'].includes(parts[0]) ? parts[0] : 'glance';
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + view;
  for (const a of document.querySelectorAll('#tabs a')) {
    a.classList.toggle('active', a.dataset.view === view);
  }
  if (view === 'glance') showGlance();
  else if (view === 'topics') showTopics(parts[1], parts[2]);
  else if (view === 'saga') showSaga(parts[1]);
  else showDlq();
}

function start() {
  $('login').hidden = true;
  $('main').hidden = false;
  $('tabs').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = 'signed in as ' + (subjectOf(token()) || '?');
  route();
}

window.addEventListener('hashchange', route);

function orderLink(id) {
  if (!id) return document.createTextNode('-');
  return el('a', { class: 'order-link', href: '#/saga/' + encodeURIComponent(id), text: id });
}

/* ---- topics ---- */

async function loadTopics() {
  const data = await api('/api/topics');
  const tb = $('topics-table').tBodies[0];
  tb.replaceChildren();
  for (const t of data.topics) {
    t.partitions.forEach((p, i) => {
      const tr = el('tr', { 'data-topic': t.name, 'data-partition': p.partition });
      if (i === 0) {
        tr.append(el('td', { rowspan: t.partitions.length },
          el('b', { text: t.name }), el('br'), el('small', { text: `${t.messages} messages` })));
      }
      tr.append(el('td', { class: 'num', text: p.partition }),
        el('td', { class: 'num', text: p.low }),
        el('td', { class: 'num', text: p.high > p.low ? p.high - 1 : '-' }),
        el('td', { class: 'num', text: p.high - p.low }),
        el('td', {}, el('a', { href: `#/topics/${encodeURIComponent(t.name)}/${p.partition}`,
                               text: 'view messages' })));
      tb.append(tr);
    });
    if (!t.partitions.length) {
      tb.append(el('tr', {}, el('td', {}, el('b', { text: t.name })),
        el('td', { colspan: 5, text: t.exists ? 'no partitions' : 'not created yet' })));
    }
  }
  const gb = $('groups-table').tBodies[0];
  gb.replaceChildren();
  for (const g of data.groups) {
    if (g.error || !g.topics.length) {
      gb.append(el('tr', {}, el('td', { text: g.group }),
        el('td', { colspan: 5, text: g.error || 'no committed offsets' })));
      continue;
    }
    for (const t of g.topics) {
      for (const p of t.partitions) {
        gb.append(el('tr', { 'data-group': g.group },
          el('td', { text: g.group }), el('td', { text: t.topic }),
          el('td', { class: 'num', text: p.partition }), el('td', { class: 'num', text: p.committed }),
          el('td', { class: 'num', text: p.high }),
          el('td', { class: 'num' + (p.lag > 100 ? ' lag-high' : ''), text: p.lag })));
      }
    }
  }
}

let browsing = null; /* {topic, partition, next} */

function headersTable(headers) {
  const t = el('table', { class: 'headers' });
  for (const h of headers || []) {
    t.append(el('tr', {}, el('td', {}, el('code', { text: h.name })), el('td', { text: h.value })));
  }
  return t;
}

function payloadView(m) {
  let text;
  if (m.event !== undefined) text = JSON.stringify(m.event, null, 2);
  else text = m.value;
  const note = m.truncated ? ` (first ${m.value.length} characters of ${m.valueBytes} bytes)` :
    m.binary ? ' (not UTF-8: invalid bytes shown as \uFFFD)' : '';
  return [el('pre', { class: 'payload', text }), note ? el('small', { text: note }) : null];
}

function messageCard(m) {
  const type = m.event && m.event.type ? m.event.type : (m.eventType || '');
  return el('div', { class: 'msg', 'data-offset': m.offset, 'data-key': m.key || '' },
    el('div', { class: 'meta' },
      el('span', { text: `${m.topic} [${m.partition}] @ ${m.offset}` }),
      el('span', { text: iso(m.timestamp) }),
      el('span', {}, 'key ', m.key ? orderLink(m.key) : '-'),
      type ? el('b', { text: type }) : null),
    headersTable(m.headers), ...payloadView(m));
}

async function browse(fromNext) {
  const b = browsing;
  const q = new URLSearchParams();
  const off = fromNext ? b.next : $('browse-offset').value;
  if (off !== '' && off !== undefined && off !== null && off >= 0) q.set('offset', off);
  q.set('order', $('browse-order').value);
  q.set('limit', $('browse-limit').value || '20');
  const key = $('browse-key').value.trim();
  if (key) q.set('key', key);
  const data = await api(`/api/topics/${encodeURIComponent(b.topic)}/partitions/${b.partition}/messages?${q}`);
  b.next = data.next;
  $('browse-next').hidden = data.next < 0;
  $('browse-summary').textContent =
    `${data.messages.length} message(s), ${data.order} first; offsets ${data.low}..${data.high - 1} ` +
    `on the partition; ${data.scanned} read` + (key ? ` to find key ${key}` : '');
  $('messages').replaceChildren(...data.messages.map(messageCard));
}

function showTopics(topic, partition) {
  every('topics', 5000, loadTopics);
  if (topic !== undefined && partition !== undefined) {
    browsing = { topic, partition: Number(partition), next: -1 };
    $('browse').hidden = false;
    $('browse-title').textContent = `${topic}, partition ${partition}`;
    browse(false).catch(showError);
  } else {
    $('browse').hidden = true;
  }
}

$('browse-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  browse(false).catch(showError);
});
$('browse-next').addEventListener('click', () => browse(true).catch(showError));

/* ---- an order's saga ---- */

function kv(o, keys) {
  const t = el('table');
  for (const [label, k] of keys) {
    const v = o ? o[k] : null;
    t.append(el('tr', {}, el('td', { text: label }), el('td', { class: k === 'status' ? 'status' : null,
      text: v === null || v === undefined ? '-' : v })));
  }
  return t;
}

function stateCards(s) {
  const err = (svc) => s.errors && s.errors[svc] ?
    el('p', { class: 'error', text: `${svc} database: ${s.errors[svc]}` }) : null;
  const cards = [];
  cards.push(el('div', { class: 'card', id: 'state-order' }, el('h4', { text: 'order-service' }),
    err('order'), s.order ? kv(s.order, [['status', 'status'], ['cancel reason', 'cancelReason'],
      ['customer', 'customerId'], ['amount', 'amount'], ['currency', 'currency'],
      ['deadline', 'deadline'], ['updated', 'updatedAt']]) :
      el('p', { text: 'order-service does not know this order' })));
  const inv = s.inventory || {};
  const res = el('table');
  for (const r of inv.reservations || []) {
    res.append(el('tr', {}, el('td', { text: r.sku }), el('td', { text: '× ' + r.quantity }),
      el('td', { class: 'status', text: r.status })));
  }
  cards.push(el('div', { class: 'card', id: 'state-inventory' }, el('h4', { text: 'inventory-service' }),
    err('inventory'), el('p', {}, 'outcome: ', el('span', { class: 'status',
      text: inv.outcome ? inv.outcome.outcome : '-' })),
    (inv.reservations || []).length ? res : el('p', { text: 'no reservation' })));
  const pay = s.payment || {};
  cards.push(el('div', { class: 'card', id: 'state-payment' }, el('h4', { text: 'payment-service' }),
    err('payment'), pay.payment ? kv(pay.payment, [['status', 'status'], ['amount', 'amount'],
      ['decline reason', 'declineReason'], ['updated', 'updatedAt']]) :
      el('p', { text: 'no payment' }),
    pay.cancellation ? el('p', { text: 'cancellation recorded: ' + pay.cancellation.reason }) : null));
  const nt = el('table');
  for (const n of s.notifications || []) {
    nt.append(el('tr', {}, el('td', { text: n.trigger }), el('td', { text: n.channel }),
      el('td', { class: 'status', text: n.status }), el('td', { text: `${n.attempts} attempt(s)` }),
      el('td', { text: n.lastError || '' })));
  }
  cards.push(el('div', { class: 'card', id: 'state-notification' },
    el('h4', { text: 'notification-service' }), err('notification'),
    (s.notifications || []).length ? nt : el('p', { text: 'no notification' })));
  return cards;
}

function timelineItem(m, i, all) {
  const dead = m.kind === 'dead-letter';
  const type = dead ? `dead letter: ${m.reason || '?'}` : (m.event && m.event.type) || '(not an event)';
  const li = el('li', { class: (dead ? 'dead-letter ' : '') + 'svc-' + m.writer,
                        style: `margin-left: ${Math.min(m.depth, 8) * 1.2}em`,
                        'data-type': dead ? 'dead-letter' : (m.event && m.event.type) || '',
                        'data-writer': m.writer, 'data-index': i },
    el('span', { class: 'writer', text: m.writer }),
    el('span', { class: 'step', text: `${i + 1}. ${type}` }),
    el('span', { class: 'where', text: `${m.topic} [${m.partition}] @ ${m.offset}, ${iso(m.sortTime)}` }),
    m.causeIndex >= 0 ? el('span', { class: 'cause',
      text: `caused by ${m.causeIndex + 1}. ${causeName(all[m.causeIndex])}` }) : null);
  if (dead) {
    li.append(el('div', { class: 'reason', text: `${m.service}-service gave up on ` +
      `${(m.original && m.original.topic) || '?'} [${m.original ? m.original.partition : '?'}] @ ` +
      `${m.original ? m.original.offset : '?'}: ${m.message || ''}` }));
  }
  const details = el('details', {}, el('summary', { text: 'headers and event' }),
    headersTable(m.headers), ...payloadView(m));
  li.append(details);
  return li;
}

function causeName(m) {
  if (!m) return '';
  return m.kind === 'dead-letter' ? 'dead letter' : (m.event && m.event.type) || '';
}

let sagaShown = null; /* the order id the saga view is for */

async function loadSaga(id) {
  const data = await api('/api/orders/' + encodeURIComponent(id) + '/saga');
  if (sagaShown !== id) return false; /* another order was asked for meanwhile */
  $('saga').hidden = false;
  $('saga').dataset.order = id;
  $('timeline').replaceChildren(...data.events.map((m, i) => timelineItem(m, i, data.events)));
  if (!data.events.length) $('timeline').append(el('li', { text: 'no event about this order on the topics' }));
  $('state').replaceChildren(...stateCards(data.state));
  const status = data.state.order ? data.state.order.status : 'unknown to order-service';
  $('saga-status').textContent = `${data.events.length} message(s); order ${status}` +
    (data.settled ? ', settled' : ', in progress') +
    (data.partial ? ' (partial: the topics hold more than one read covers)' : '') +
    `; read ${new Date().toLocaleTimeString()}`;
  return data.settled ? SAGA_SETTLED_POLL_MS : SAGA_POLL_MS;
}

function showSaga(id) {
  $('saga-id').value = id || '';
  sagaShown = id || null;
  $('saga-status').textContent = id ? 'reading...' : '';
  $('saga').dataset.order = '';
  $('timeline').replaceChildren();
  $('state').replaceChildren();
  if (!id) {
    $('saga').hidden = true;
    return;
  }
  every('saga', SAGA_POLL_MS, async () => {
    const next = await loadSaga(id);
    return $('saga-live').checked ? next : false;
  });
}

$('saga-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = $('saga-id').value.trim();
  if (id) location.hash = '#/saga/' + encodeURIComponent(id);
});
$('saga-live').addEventListener('change', () => { if ($('saga-live').checked) route(); });

/* ---- dead letters ---- */

async function loadDlq() {
  const data = await api('/api/dlq?limit=100');
  $('dlq-summary').textContent = `(${data.total} on ${data.topic}; the newest ${data.entries.length} shown)`;
  const tb = $('dlq-table').tBodies[0];
  tb.replaceChildren();
  for (const e of data.entries) {
    const pos = `${e.partition}:${e.offset}`;
    const result = el('span', { class: 'replay-result' });
    const replay = el('button', { type: 'button', class: 'replay', onclick: async () => {
      replay.disabled = true;
      result.textContent = 'replaying...';
      try {
        const r = await api(`/api/dlq/${e.partition}/${e.offset}/replay`, 'POST');
        result.textContent = `replayed to ${r.to.topic} [${r.to.partition}] @ ${r.to.offset}`;
      } catch (err) {
        result.textContent = String(err.message || err);
        replay.disabled = false;
      }
    } }, 'Replay');
    const show = el('button', { type: 'button', onclick: () => {
      const d = $('dlq-detail');
      d.hidden = false;
      d.replaceChildren(el('h3', { text: `Dead letter ${pos}` }), messageCard(e));
      d.scrollIntoView();
    } }, 'Show');
    const o = e.original || {};
    tb.append(el('tr', { 'data-position': pos },
      el('td', { text: iso(e.timestamp) }), el('td', { text: pos }),
      el('td', { text: e.service || '-' }), el('td', { class: 'reason', text: e.reason || '-' }),
      el('td', { text: e.message || '' }),
      el('td', { text: `${o.topic || '-'} [${o.partition ?? '-'}] @ ${o.offset ?? '-'}` }),
      el('td', { text: e.eventType || '(not an event)' }),
      el('td', {}, orderLink(e.orderId || e.key)), el('td', { class: 'num', text: e.attempts ?? '-' }),
      el('td', {}, show, ' ', replay, ' ', result)));
  }
  if (!data.entries.length) tb.append(el('tr', {}, el('td', { colspan: 10, text: 'no dead letters' })));
}

function showDlq() {
  $('dlq-detail').hidden = true;
  loadDlq().catch(showError);
}

/* ---- at a glance ---- */

const series = {}; /* name -> [{t, v}] */
let lastGlance = null;

function push(name, t, v) {
  const s = series[name] || (series[name] = []);
  s.push({ t, v });
  while (s.length > GLANCE_POINTS) s.shift();
}

/* The per-second rate of a counter between two polls; null across a restart. */
function rate(prev, cur, dt) {
  if (prev === undefined || cur === undefined || dt <= 0 || cur < prev) return null;
  return (cur - prev) / dt;
}

function chart(title, names, unit) {
  const canvas = el('canvas', { width: 440, height: 120 });
  const legend = el('div', { class: 'legend' });
  const box = el('div', { class: 'card chart', 'data-chart': title }, el('h4', { text: title }), canvas, legend);
  const ctx = canvas.getContext('2d');
  let max = 0;
  for (const n of names) for (const p of series[n] || []) if (p.v !== null && p.v > max) max = p.v;
  max = max > 0 ? max * 1.1 : 1;
  const W = canvas.width, H = canvas.height, now = Date.now(), span = GLANCE_POINTS * GLANCE_POLL_MS;
  ctx.strokeStyle = '#dde1e7';
  ctx.strokeRect(0.5, 0.5, W - 1, H - 1);
  ctx.fillStyle = '#667';
  ctx.font = '11px sans-serif';
  ctx.fillText(`${max.toFixed(max < 10 ? 1 : 0)} ${unit}`, 4, 12);
  for (const n of names) {
    const pts = series[n] || [];
    ctx.strokeStyle = COLORS[n.split(':').pop()] || '#333';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let pen = false;
    for (const p of pts) {
      if (p.v === null) { pen = false; continue; }
      const x = W - ((now - p.t) / span) * W, y = H - 2 - (p.v / max) * (H - 16);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    }
    ctx.stroke();
    const last = pts.length ? pts[pts.length - 1].v : null;
    legend.append(el('span', {}, el('i', { style: `background:${ctx.strokeStyle}` }),
      `${n.split(':').pop()} ${last === null ? '-' : Number(last.toFixed(1))}`));
  }
  return box;
}

function bigCard(label, value, id) {
  return el('div', { class: 'card', id }, el('div', { text: label }),
    el('div', { class: 'big', text: value === null || value === undefined ? '-' : value }));
}

async function loadGlance() {
  const g = await api('/api/glance');
  const t = g.time, prev = lastGlance, dt = prev ? (t - prev.time) / 1000 : 0;
  const completed = prev ? rate(prev.completed, g.completed, dt) : null;
  push('completed', t, completed);
  push('inFlight', t, g.inFlight ?? null);
  for (const r of REASONS) {
    push('cancelled:' + r, t, prev && prev.cancelled && g.cancelled ?
      rate(prev.cancelled[r], g.cancelled[r], dt) : null);
  }
  for (const s of SERVICES) {
    const x = g.services[s] || {};
    push('lag:' + s, t, x.up ? x.lag : null);
    push('backlog:' + s, t, x.up ? x.outboxBacklog : null);
  }
  lastGlance = g;
  const down = SERVICES.filter((s) => !(g.services[s] || {}).up);
  $('glance-when').textContent = `updated ${new Date(t).toLocaleTimeString()}` +
    (down.length ? `; no /metrics from ${down.join(', ')}` : '');
  const cancelled = g.cancelled ? REASONS.map((r) => `${r} ${g.cancelled[r]}`).join(', ') : '-';
  $('glance-cards').replaceChildren(
    bigCard('sagas completed / s', completed === null ? '-' : completed.toFixed(1), 'glance-completed'),
    bigCard('in flight', g.inFlight, 'glance-inflight'),
    bigCard('created (since order-service started)', g.created, 'glance-created'),
    el('div', { class: 'card', id: 'glance-cancelled' }, el('div', { text: 'cancelled, by reason (counts)' }),
      el('div', { text: cancelled })));
  $('glance-charts').replaceChildren(
    chart('sagas completed / s', ['completed'], '/s'),
    chart('in flight', ['inFlight'], 'orders'),
    chart('cancelled / s by reason', REASONS.map((r) => 'cancelled:' + r), '/s'),
    chart('consumer lag per service', SERVICES.map((s) => 'lag:' + s), 'messages'),
    chart('outbox backlog per service', SERVICES.map((s) => 'backlog:' + s), 'rows'));
}

function showGlance() {
  every('glance', GLANCE_POLL_MS, loadGlance);
}

/* ---- start ---- */
if (token()) start(); else showLogin('');
