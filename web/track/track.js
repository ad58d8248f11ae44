// SPDX-License-Identifier: Apache-2.0
// The tracking page (/track/<id>): one order's status, live over the
// order's WebSocket channel (no polling).  The credential is the tracking
// token from the link's fragment (#t=…, which never reaches the server's
// logs) or, in the browser that placed the order, its HttpOnly cookie.
import { TimingApi, TimingLive, OrderStore, TimingError } from '/sdk/timing.js';
import { el, money, STATUS_STEPS, recalledTrackingToken, showShopName } from '/assets/customer.js';

const $ = (id) => document.getElementById(id);
const match = /^\/track\/(\d{1,15})\/?$/.exec(location.pathname);
const orderId = match ? Number(match[1]) : null;
const fragmentToken = new URLSearchParams(location.hash.slice(1)).get('t') || null;
const credential = fragmentToken ? { trackingToken: fragmentToken } : {};

const HEADLINES = {
  pending: "Order received — we'll start on it shortly",
  preparing: "We're preparing your order",
  ready: 'Ready for pickup! Show this number at the counter.',
  completed: 'Picked up — enjoy your meal!',
  cancelled: 'This order was cancelled',
};
const FINAL = new Set(['completed', 'cancelled']);

const api = new TimingApi();
const store = new OrderStore();
let live = null;
let shop = null;
let shownStatus = null;      // the status on screen, to notice the move to ready
let cancelledHere = false;
let audio = null;

api.getShop().then((answer) => { shop = answer; showShopName(answer); updateTitle(); })
  .catch(() => { /* the header keeps its generic name */ });

if (orderId === null) notFound(); else load();

async function load() {
  $('load-error').hidden = true;
  $('loading').hidden = false;
  try {
    store.merge(await api.getOrderStatus(orderId, credential));
  } catch (err) {
    $('loading').hidden = true;
    if (err instanceof TimingError && err.status === 404) notFound();
    else loadFailed(err);
    return;
  }
  $('loading').hidden = true;
  $('order').hidden = false;
  render(store.get(orderId));
  if (!FINAL.has(store.get(orderId).status)) {
    showShareLink();
    startLive();
  }
}

function notFound() {
  $('loading').hidden = true;
  $('not-found').hidden = false;
  document.title = 'Order not found';
}

function loadFailed(err) {
  $('load-error-text').textContent = err instanceof TimingError && err.status === 0
    ? "We couldn't reach the shop. We'll try again when you're back online."
    : `We couldn't load your order (${err.message}).`;
  $('load-error').hidden = false;
}

$('retry').addEventListener('click', load);
window.addEventListener('online', () => { if (!$('load-error').hidden) load(); });

// ---- live updates ----

function startLive() {
  if (live) return;
  live = new TimingLive({ channel: { order: orderId }, trackingToken: fragmentToken, api, store });
  live.on('state', showConnection);
  live.on('order', (order) => { if (order.id === orderId) render(order); });
  live.on('auth', () => {
    // The credential stopped working (e.g. the cookie expired): what is on
    // screen stays, but it is no longer live.
    live.stop();
    live = null;
    clearTimeout(downTimer);
    $('live').dataset.state = 'offline';
    $('live-text').textContent = 'Not live';
    updateOfflineNotice();
  });
  live.start();
}

// The offline notice: shown while the browser says it is offline, or
// while the socket stays down for a moment (a quick reconnect does not
// flash it); it clears itself when both are fine again.
let browserOffline = !navigator.onLine;
let socketDown = false;
let downTimer = null;

function showConnection(state) {
  const badge = $('live');
  badge.hidden = false;
  badge.dataset.state = state;
  $('live-text').textContent = { open: 'Live', connecting: 'Connecting…', offline: 'Offline' }[state];
  if (state === 'open') {
    clearTimeout(downTimer);
    downTimer = null;
    socketDown = false;
  } else if (!downTimer && !socketDown) {
    downTimer = setTimeout(() => { downTimer = null; socketDown = true; updateOfflineNotice(); }, 2000);
  }
  updateOfflineNotice();
}

function updateOfflineNotice() {
  $('offline').hidden = !live || !(browserOffline || socketDown);
}

window.addEventListener('offline', () => { browserOffline = true; updateOfflineNotice(); });
window.addEventListener('online', () => { browserOffline = false; updateOfflineNotice(); });

// ---- the order on screen ----

function render(order) {
  const status = order.status;
  $('order-title').textContent = `Order #${order.id}`;
  $('pickup').dataset.status = status;
  $('pickup-number').textContent = String(order.pickup_number);
  $('headline').textContent = status === 'cancelled' && cancelledHere
    ? 'You cancelled this order' : HEADLINES[status] || status;
  $('for').textContent = `for ${order.customer_info.name}`;
  renderSteps(status);
  renderLines(order);

  $('cancel').hidden = status !== 'pending';
  if (FINAL.has(status)) $('share').hidden = true;
  const dialog = $('confirm-cancel');
  if (status !== 'pending' && dialog.open) {
    // The kitchen started while the customer was deciding.
    dialog.close('keep');
    if (status !== 'cancelled') {
      $('cancel-error').textContent = 'The kitchen has already started on your order, so it can '
        + 'no longer be cancelled. Please ask at the counter.';
      $('cancel-error').hidden = false;
    }
  }
  if (status === 'ready' || status === 'completed') $('cancel-error').hidden = true;
  $('notify').hidden = FINAL.has(status) || status === 'ready' || audio !== null;
  if (FINAL.has(status) || status === 'ready') $('notify-state').hidden = true;

  if (shownStatus !== null && shownStatus !== 'ready' && status === 'ready') announceReady(order);
  shownStatus = status;
  updateTitle();

  if (FINAL.has(status) && live) {
    // Nothing more will happen to this order: free the server's socket.
    live.stop();
    live = null;
    clearTimeout(downTimer);
    $('live').hidden = true;
    updateOfflineNotice();
  }
}

function renderSteps(status) {
  const steps = $('steps');
  steps.hidden = status === 'cancelled';
  const current = STATUS_STEPS.findIndex((step) => step.key === status);
  steps.replaceChildren(...STATUS_STEPS.map((step, i) => {
    const done = i < current || (status === 'completed' && i === current);
    const isCurrent = i === current;
    const classes = [done && 'done', isCurrent && 'current',
      isCurrent && (status === 'ready' || status === 'completed') && 'ok'].filter(Boolean);
    return el('li', { class: classes.join(' '), 'aria-current': isCurrent ? 'step' : null },
      el('span', { class: 'icon', 'aria-hidden': 'true', text: done ? '✓' : step.icon }),
      step.label,
      el('span', { class: 'visually-hidden', text: done ? ' (done)' : isCurrent ? ' (now)' : '' }));
  }));
}

function renderLines(order) {
  $('lines').replaceChildren(...order.items.map((item) => el('li', {},
    el('span', { class: 'qty', text: `${item.quantity}×` }),
    el('span', { class: 'what' }, item.menu_name,
      item.note ? el('div', { class: 'note', text: item.note }) : null),
    el('span', { class: 'amount', text: money(item.subtotal, order.currency) }))));
  $('order-note').hidden = !order.note;
  $('order-note').textContent = order.note ? `Note: ${order.note}` : '';
  $('total').textContent = money(order.total, order.currency);
  const placed = new Date(order.created_at);
  $('placed-at').textContent = Number.isNaN(placed.getTime()) ? ''
    : `Placed at ${placed.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}

function updateTitle() {
  const order = store.get(orderId);
  if (!order) return;
  const step = STATUS_STEPS.find((s) => s.key === order.status);
  const what = order.status === 'ready' ? '✅ Ready' : step ? step.label : 'Cancelled';
  document.title = `#${order.pickup_number} ${what}${shop ? ` — ${shop.name}` : ''}`;
}

// ---- sound and notification when the order becomes ready ----

/** Browsers start audio only after a tap: the "notify me" button does it,
 *  and asks for notifications in the same gesture. */
$('notify').addEventListener('click', async () => {
  audio = audio || newAudioContext();
  if (audio && audio.state !== 'running') await audio.resume().catch(() => {});
  if ('Notification' in window && Notification.permission === 'default') {
    await Notification.requestPermission().catch(() => 'default');
  }
  chime(0.12);   // so the customer hears what to listen for
  $('notify').hidden = true;
  const note = $('notify-state');
  const allowed = 'Notification' in window && Notification.permission === 'granted';
  note.textContent = allowed
    ? "🔔 We'll notify you and play a sound when your order is ready. Keep this page open."
    : "🔊 We'll play a sound when your order is ready. Keep this page open.";
  note.hidden = false;
});

function newAudioContext() {
  const Context = window.AudioContext || window.webkitAudioContext;
  return Context ? new Context() : null;
}

/** A three-note chime, made on the spot (no audio file to fetch). */
function chime(volume = 0.3) {
  if (!audio || audio.state !== 'running') return;
  const start = audio.currentTime + 0.03;
  [659.25, 830.61, 987.77].forEach((frequency, i) => {
    const at = start + i * 0.16;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(volume, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.9);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 1);
  });
}

function announceReady(order) {
  chime();
  if (navigator.vibrate && navigator.userActivation?.hasBeenActive) navigator.vibrate([200, 100, 200]);
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const notification = new Notification(`Order ${order.pickup_number} is ready`, {
      body: `Please pick it up at the counter${shop ? ` — ${shop.name}` : ''}.`,
      tag: `timing-order-${order.id}`,
      lang: 'en',
    });
    notification.addEventListener('click', () => { window.focus(); notification.close(); });
  } catch {
    // Some mobile browsers allow notifications only from a service worker;
    // the sound and the page itself still tell the customer.
  }
}

// ---- sharing the tracking link ----

function showShareLink() {
  const token = fragmentToken || recalledTrackingToken(orderId);
  if (!token) return;
  const link = `${location.origin}/track/${orderId}#t=${encodeURIComponent(token)}`;
  $('share-link').value = link;
  $('share').hidden = false;
  if (navigator.share) {
    $('share-native').hidden = false;
    $('share-native').addEventListener('click', () => {
      navigator.share({ title: document.title, url: link }).catch(() => {});
    });
  }
  $('copy').addEventListener('click', async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(link);
      copied = true;
    } catch {
      // No clipboard API (plain http on a shop's network): the old way.
      $('share-link').select();
      copied = document.execCommand && document.execCommand('copy');
    }
    $('copy-state').textContent = copied ? 'Link copied.' : 'Select the link above and copy it.';
  });
}

// ---- cancelling while pending ----

$('cancel').addEventListener('click', () => $('confirm-cancel').showModal());

$('confirm-cancel').addEventListener('close', () => {
  if ($('confirm-cancel').returnValue === 'cancel') cancelOrder();
});

async function cancelOrder() {
  const button = $('cancel');
  const error = $('cancel-error');
  error.hidden = true;
  button.disabled = true;
  button.textContent = 'Cancelling…';
  cancelledHere = true;
  try {
    store.merge(await api.cancelOrder(orderId, credential));
  } catch (err) {
    cancelledHere = false;
    if (err instanceof TimingError && err.status === 409) {
      error.textContent = "Too late to cancel — the kitchen has already started. Please ask at the counter.";
      api.getOrderStatus(orderId, credential).then((order) => store.merge(order)).catch(() => {})
        .finally(() => render(store.get(orderId)));
    } else if (err instanceof TimingError && err.status === 0) {
      error.textContent = "We couldn't reach the shop. Check your connection and try again.";
    } else {
      error.textContent = `The order could not be cancelled: ${err.message}`;
    }
    error.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = 'Cancel order';
  }
  render(store.get(orderId));
}
