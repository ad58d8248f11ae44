// SPDX-License-Identifier: Apache-2.0
// The menu and order page (/order/): pick items, enter a name, place the
// order, then go to its tracking page.  The total shown here is for the
// customer's eye only; the server computes the real one from the menu.
import { TimingApi, TimingError } from '/sdk/timing.js';
import { el, money, rememberTrackingToken, lastOrderId, showShopName } from '/assets/customer.js';

const api = new TimingApi();
const $ = (id) => document.getElementById(id);
const form = $('order-form');
const placeButton = $('place');
const FIELDS = { 'customer_info.name': 'name', 'customer_info.phone': 'phone',
  'customer_info.email': 'email', note: 'note' };
const CART_KEY = 'timing.order.cart';

let shop = { currency: 'THB', accepting_orders: true };
let menu = [];
const quantity = new Map();      // menu id -> 1..99
const rows = new Map();          // menu id -> its controls
let sending = false;
let sentLines = [];              // menu ids in the order of the last request's items
let idempotency = { body: null, key: null };

start();

async function start() {
  $('loading').hidden = false;
  $('load-error').hidden = true;
  try {
    const [shopAnswer, menuPage] = await Promise.all([api.getShop(), api.getMenu()]);
    shop = shopAnswer;
    menu = menuPage.items;
  } catch (err) {
    $('loading').hidden = true;
    $('load-error-text').textContent = err instanceof TimingError && err.status === 0
      ? "We couldn't reach the shop. Check your connection."
      : `We couldn't load the menu (${err.message}).`;
    $('load-error').hidden = false;
    return;
  }
  showShopName(shop);
  const last = lastOrderId();
  if (last) {
    $('last-order').replaceChildren(`Your earlier order #${last}: `,
      el('a', { href: `/track/${last}`, text: 'see how it is going →' }));
    $('last-order').hidden = false;
  }
  document.title = `Order — ${shop.name}`;
  renderMenu();
  restoreCart();
  setAccepting(shop.accepting_orders);
  $('loading').hidden = true;
  form.hidden = false;
  updateTotal();
}

$('reload').addEventListener('click', start);

function setAccepting(open) {
  shop.accepting_orders = open;
  const badge = $('shop-state');
  badge.hidden = false;
  badge.className = `badge ${open ? 'open' : 'closed'}`;
  badge.replaceChildren(el('span', { class: 'dot', 'aria-hidden': 'true' }),
    open ? 'Open' : 'Closed');
  $('closed').hidden = open;
  for (const node of form.querySelectorAll('input, textarea, button')) {
    if (!node.closest('.unavailable')) node.disabled = !open;
  }
  if (open) for (const id of rows.keys()) syncRow(id);
  updateTotal();
}

// ---- the menu ----

function renderMenu() {
  const groups = new Map();
  for (const item of menu) {
    const name = item.category || 'Other';
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(item);
  }
  const nav = $('categories');
  const box = $('menu');
  nav.replaceChildren();
  box.replaceChildren();
  rows.clear();
  let n = 0;
  for (const [name, items] of groups) {
    const id = `category-${++n}`;
    nav.append(el('a', { href: `#${id}`, text: name }));
    box.append(el('section', { class: 'category', id, 'aria-labelledby': `${id}-title` },
      el('h2', { id: `${id}-title`, text: name }),
      el('ul', { class: 'menu-list' }, items.map(menuRow))));
  }
  nav.hidden = groups.size < 2;
}

function menuRow(item) {
  const nameId = `item-${item.id}-name`;
  const info = el('div', { class: 'info' },
    el('div', { class: 'name', id: nameId, text: item.name }),
    item.description ? el('div', { class: 'desc', text: item.description }) : null,
    el('div', { class: 'price', text: money(item.price, shop.currency) }));

  if (!item.available) {
    quantity.delete(item.id);
    return el('li', { class: 'menu-item unavailable', 'data-menu-id': item.id },
      el('div', { class: 'row' }, info,
        el('span', { class: 'sold-out', text: 'Sold out' })));
  }

  const minus = el('button', { type: 'button', class: 'step-btn',
    'aria-label': `Remove one ${item.name}`, text: '−',
    onclick: () => setQuantity(item.id, (quantity.get(item.id) || 0) - 1) });
  const plus = el('button', { type: 'button', class: 'step-btn add',
    'aria-label': `Add one ${item.name}`, text: '+',
    onclick: () => setQuantity(item.id, (quantity.get(item.id) || 0) + 1) });
  const count = el('input', { type: 'number', inputmode: 'numeric', min: 0, max: 99,
    value: 0, 'aria-label': `Quantity of ${item.name}`,
    onchange: () => setQuantity(item.id, Number.parseInt(count.value, 10) || 0) });
  const noteId = `item-${item.id}-note`;
  const note = el('input', { id: noteId, maxlength: 200, autocomplete: 'off',
    placeholder: 'e.g. no peanuts, not spicy', 'aria-describedby': `${noteId}-error`,
    oninput: saveCart });
  const noteBox = el('div', { class: 'item-note', hidden: true },
    el('label', { for: noteId, text: `Note for ${item.name} (optional)` }), note,
    el('p', { class: 'field-error', id: `${noteId}-error`, 'aria-live': 'polite' }));
  const error = el('p', { class: 'field-error', id: `item-${item.id}-error`,
    'aria-live': 'polite' });
  const li = el('li', { class: 'menu-item', 'data-menu-id': item.id },
    el('div', { class: 'row' }, info,
      el('div', { class: 'stepper', role: 'group', 'aria-labelledby': nameId },
        minus, count, plus)),
    error, noteBox);
  rows.set(item.id, { li, minus, plus, count, note, noteBox, error,
    noteError: noteBox.querySelector('.field-error') });
  syncRow(item.id);
  return li;
}

function setQuantity(id, value) {
  const n = Math.max(0, Math.min(99, value));
  if (n) quantity.set(id, n); else quantity.delete(id);
  syncRow(id);
  rows.get(id).error.textContent = '';
  if (n) $('items-error').textContent = '';
  updateTotal();
  saveCart();
}

function syncRow(id) {
  const row = rows.get(id);
  const n = quantity.get(id) || 0;
  row.count.value = n;
  row.minus.hidden = n === 0;
  row.count.hidden = n === 0;
  row.plus.disabled = n >= 99 || !shop.accepting_orders;
  row.noteBox.hidden = n === 0;
  row.li.classList.toggle('chosen', n > 0);
}

function updateTotal() {
  let minor = 0;
  let count = 0;
  for (const item of menu) {
    const n = quantity.get(item.id) || 0;
    minor += Math.round(item.price * 100) * n;
    count += n;
  }
  $('total').textContent = money(minor / 100, shop.currency);
  $('count').textContent = count ? `${count} item${count === 1 ? '' : 's'}` : 'No items yet';
  placeButton.disabled = sending || !shop.accepting_orders;
  if (!sending) placeButton.textContent = shop.accepting_orders ? 'Place order' : 'Closed now';
}

// ---- the cart survives a reload of this tab ----

function saveCart() {
  const notes = {};
  for (const [id, row] of rows) if (row.note.value) notes[id] = row.note.value;
  const details = {};
  for (const field of ['name', 'phone', 'email', 'note']) details[field] = $(field).value;
  try {
    sessionStorage.setItem(CART_KEY, JSON.stringify({
      quantity: Object.fromEntries(quantity), notes, details }));
  } catch { /* storage off: nothing to keep */ }
}

function restoreCart() {
  let saved;
  try { saved = JSON.parse(sessionStorage.getItem(CART_KEY) || 'null'); } catch { saved = null; }
  if (!saved) return;
  for (const [id, n] of Object.entries(saved.quantity || {})) {
    if (rows.has(Number(id))) quantity.set(Number(id), Math.max(1, Math.min(99, n)));
  }
  for (const [id, text] of Object.entries(saved.notes || {})) {
    if (rows.has(Number(id))) rows.get(Number(id)).note.value = text;
  }
  for (const [field, value] of Object.entries(saved.details || {})) {
    if ($(field) && typeof value === 'string') $(field).value = value;
  }
  for (const id of rows.keys()) syncRow(id);
}

for (const field of ['name', 'phone', 'email', 'note']) {
  $(field).addEventListener('input', () => { fieldError(field, ''); saveCart(); });
}

// ---- placing the order ----

function orderBody() {
  const text = (id) => $(id).value.trim();
  const customer = { name: text('name') };
  if (text('phone')) customer.phone = text('phone');
  if (text('email')) customer.email = text('email');
  const items = [];
  sentLines = [];
  for (const item of menu) {
    const n = quantity.get(item.id);
    if (!n) continue;
    const line = { menu_id: item.id, quantity: n };
    const note = rows.get(item.id).note.value.trim();
    if (note) line.note = note;
    items.push(line);
    sentLines.push(item.id);
  }
  const body = { customer_info: customer, items };
  if (text('note')) body.note = text('note');
  return body;
}

/** What the page can tell before asking the server; the server checks
 *  everything again and its 422 details land in the same places. */
function localProblems(body) {
  const problems = [];
  if (!body.customer_info.name) {
    problems.push({ field: 'customer_info.name', message: 'Please enter your name so we can call you.' });
  }
  if (!body.items.length) {
    problems.push({ field: 'items', message: 'Choose at least one item from the menu.' });
  }
  return problems;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http on a shop's LAN have no randomUUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (sending || !shop.accepting_orders) return;
  clearErrors();
  const body = orderBody();
  const problems = localProblems(body);
  if (problems.length) {
    showProblems(problems);
    return;
  }
  // The same order sent again (a retry after a lost answer) keeps its key,
  // so the server answers with the order it already placed.
  const json = JSON.stringify(body);
  if (json !== idempotency.body) idempotency = { body: json, key: newKey() };

  setSending(true);
  try {
    const order = await api.createOrder(body, { idempotencyKey: idempotency.key });
    rememberTrackingToken(order.id, order.tracking_token);
    try { sessionStorage.removeItem(CART_KEY); } catch { /* storage off */ }
    placeButton.textContent = 'Order placed ✓';
    location.assign(`/track/${order.id}`);
  } catch (err) {
    setSending(false);
    failed(err);
  }
});

function setSending(on) {
  sending = on;
  form.setAttribute('aria-busy', String(on));
  if (on) placeButton.textContent = 'Placing order…';
  updateTotal();
}

function failed(err) {
  if (!(err instanceof TimingError)) {
    formError(`Something went wrong: ${err.message}`);
    return;
  }
  if (err.status === 422 && err.code === 'idempotency_key_reused') {
    idempotency = { body: null, key: null };
    formError('Please press Place order again.');
  } else if (err.status === 422 && err.details.length) {
    showProblems(err.details);
    // An item may have sold out since the menu was loaded.
    if (err.details.some((d) => /^items\[\d+\]\.menu_id$/.test(d.field))) refreshMenu();
  } else if (err.status === 409 && err.code === 'shop_closed') {
    setAccepting(false);
    formError("Sorry — the shop just stopped taking orders. Your order wasn't placed.");
  } else if (err.status === 409) {
    formError('Your order is still being sent. Please wait a moment and press Place order again.');
  } else if (err.status === 429) {
    const wait = err.retryAfter ? ` in ${err.retryAfter} seconds` : ' in a minute';
    formError(`Too many orders from this connection. Please try again${wait}.`);
  } else if (err.status === 0) {
    formError("We couldn't reach the shop. Check your connection and press Place order again — "
      + 'your order will not be placed twice.');
  } else {
    formError(`The order could not be placed: ${err.message}`);
  }
}

async function refreshMenu() {
  try {
    menu = (await api.getMenu()).items;
  } catch { return; }
  const keep = new Map([...rows].map(([id, row]) => [id, row.note.value]));
  renderMenu();
  for (const [id, note] of keep) if (rows.has(id)) rows.get(id).note.value = note;
  for (const id of [...quantity.keys()]) if (!rows.has(id)) quantity.delete(id);
  for (const id of rows.keys()) syncRow(id);
  setAccepting(shop.accepting_orders);
}

// ---- errors next to their fields ----

function clearErrors() {
  for (const field of Object.values(FIELDS)) fieldError(field, '');
  for (const row of rows.values()) {
    row.error.textContent = '';
    row.noteError.textContent = '';
    row.note.removeAttribute('aria-invalid');
  }
  $('items-error').textContent = '';
  $('form-error').hidden = true;
}

function fieldError(field, message) {
  $(`${field}-error`).textContent = message;
  if (message) $(field).setAttribute('aria-invalid', 'true');
  else $(field).removeAttribute('aria-invalid');
}

function formError(message) {
  const box = $('form-error');
  box.replaceChildren(message);
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

/** The server's messages follow a field's name ("must not be empty"); shown
 *  next to that field they read "This must not be empty." */
function sentence(message, subject = 'This') {
  if (!/^[a-z]/.test(message)) return message;
  return /[.!?]$/.test(message) ? `${subject} ${message}` : `${subject} ${message}.`;
}

function showProblems(problems) {
  const unplaced = [];
  let first = null;
  for (const { field, message: said } of problems) {
    const line = /^items\[(\d+)\]\.(\w+)$/.exec(field);
    const row = line && rows.get(sentLines[Number(line[1])]);
    const message = sentence(said);
    if (FIELDS[field]) {
      fieldError(FIELDS[field], message);
      first ||= $(FIELDS[field]);
    } else if (row && line[2] === 'note') {
      row.noteError.textContent = message;
      row.note.setAttribute('aria-invalid', 'true');
      first ||= row.note;
    } else if (row) {
      row.error.textContent = message;
      first ||= row.li;
    } else if (field.startsWith('items')) {
      $('items-error').textContent = sentence(said, 'Your order');
      first ||= $('items-error');
    } else {
      unplaced.push(`${field}: ${said}`);
    }
  }
  if (unplaced.length) {
    const box = $('form-error');
    box.replaceChildren('Please check your order:',
      el('ul', {}, unplaced.map((text) => el('li', { text }))));
    box.hidden = false;
    first ||= box;
  }
  if (first) {
    first.scrollIntoView({ block: 'center', behavior: 'smooth' });
    if (first.matches('input, textarea')) first.focus({ preventScroll: true });
  }
}
