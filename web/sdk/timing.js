// SPDX-License-Identifier: Apache-2.0
// Timing's client SDK: REST helpers (TimingApi), the highest-version order
// store (OrderStore) and a live channel that never gives up (TimingLive).
// One ES module for browsers and Node >= 18, no build step; the types are
// in timing.d.ts and the API is described at /api-docs/.

/** @typedef {import('./timing.d.ts').Order} Order */
/** @typedef {import('./timing.d.ts').OrderEvent} OrderEvent */
/** @typedef {import('./timing.d.ts').TokenProvider} TokenProvider */
/** @typedef {import('./timing.d.ts').LiveState} LiveState */

const SUBPROTOCOL = 'timing.v1';
const EVENTS_PAGE = 1000;      // the event log's largest page
const SEEN_LIMIT = 50000;      // event ids remembered for de-duplication

/** Every non-2xx answer, with the API's error envelope unpacked. */
export class TimingError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, details?: {field: string, message: string}[],
   *          retryAfter?: number|null, cause?: unknown}} [info]
   */
  constructor(message, info = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = 'TimingError';
    /** HTTP status; 0 when the server could not be reached. */
    this.status = info.status ?? 0;
    this.code = info.code ?? 'error';
    this.details = info.details ?? [];
    /** Seconds, from Retry-After. */
    this.retryAfter = info.retryAfter ?? null;
  }
}

/** @param {TokenProvider|undefined} provider */
async function resolveToken(provider) {
  const value = typeof provider === 'function' ? await provider() : provider;
  return value || null;
}

/** Retry-After is seconds or an HTTP date. */
function parseRetryAfter(value) {
  if (value == null || value === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function defaultBaseUrl(given) {
  const base = given ?? globalThis.location?.origin;
  if (!base || base === 'null') {
    throw new TypeError('Timing SDK: baseUrl is required outside a browser page');
  }
  return String(base).replace(/\/+$/, '');
}

/** A random version 4 UUID.  randomUUID needs a secure context (a shop's
 *  tablet on http://192.168.x.y has none), getRandomValues does not; Node 18
 *  has no global crypto, so its webcrypto is imported. */
let cryptoSource = null;
async function webCrypto() {
  if (globalThis.crypto?.getRandomValues) return globalThis.crypto;
  if (!cryptoSource) {
    cryptoSource = import('node:crypto').then((m) => m.webcrypto, () => null);
  }
  return cryptoSource;
}

export async function newIdempotencyKey() {
  const c = await webCrypto();
  if (c && typeof c.randomUUID === 'function') {
    try { return c.randomUUID(); } catch { /* not a secure context */ }
  }
  const bytes = new Uint8Array(16);
  if (c) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function toPage(body) {
  const meta = body.meta ?? {};
  const items = Array.isArray(body.data) ? body.data : [];
  return { items, next_cursor: meta.next_cursor ?? null, count: meta.count ?? items.length };
}

/** REST helpers: one method per API endpoint.  Each resolves to the
 *  envelope's `data` (lists: {items, next_cursor, count}) or rejects with a
 *  TimingError. */
export class TimingApi {
  /** @param {import('./timing.d.ts').ApiOptions} [options] */
  constructor(options = {}) {
    this.baseUrl = defaultBaseUrl(options.baseUrl);
    this._token = options.token ?? null;
    this._fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!this._fetch) throw new TypeError('Timing SDK: no fetch; pass options.fetch');
    this._credentials = options.credentials ?? 'same-origin';
    this._timeout = options.timeout ?? 30000;
  }

  /** @param {TokenProvider} token */
  setToken(token) { this._token = token ?? null; }

  /** The current token from the provider (null when there is none). */
  token() { return resolveToken(this._token); }

  /**
   * One request.  `auth: false` sends no Authorization; `token` overrides
   * the provider (used to probe a particular credential).
   * @returns {Promise<any>} the parsed body (or text with `text: true`)
   */
  async request(method, path, { query, body, headers = {}, auth = true, token, text = false } = {}) {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined || v === null || v === '') continue;
      url.searchParams.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    const h = { Accept: 'application/json', ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/json; charset=utf-8';
    if (auth) {
      const t = token !== undefined ? token : await this.token();
      if (t) h.Authorization = `Bearer ${t}`;
    }
    const init = { method, headers: h, credentials: this._credentials };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (this._timeout > 0 && typeof AbortSignal !== 'undefined' && AbortSignal.timeout) {
      init.signal = AbortSignal.timeout(this._timeout);
    }
    let res, raw;
    try {
      res = await this._fetch(url.href, init);
      raw = await res.text();
    } catch (cause) {
      const timedOut = cause?.name === 'TimeoutError' || cause?.name === 'AbortError';
      throw new TimingError(timedOut ? `${method} ${path}: no answer in ${this._timeout} ms`
        : `${method} ${path}: cannot reach the server`, { status: 0, code: 'network_error', cause });
    }
    let parsed = null;
    if ((res.headers.get('Content-Type') ?? '').includes('json') && raw) {
      try { parsed = JSON.parse(raw); } catch { parsed = null; }
    }
    if (!res.ok) {
      const e = parsed?.error ?? {};
      throw new TimingError(e.message ?? `${method} ${path}: HTTP ${res.status}`, {
        status: res.status,
        code: e.code ?? `http_${res.status}`,
        details: Array.isArray(e.details) ? e.details : [],
        retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
      });
    }
    if (text) return raw;
    if (!parsed || parsed.success !== true) {
      throw new TimingError(`${method} ${path}: the answer is not Timing's JSON`,
        { status: res.status, code: 'bad_response' });
    }
    return parsed;
  }

  async _data(method, path, opts) { return (await this.request(method, path, opts)).data; }
  async _page(path, query) { return toPage(await this.request('GET', path, { query })); }

  // -- auth and users
  register(body) { return this._data('POST', '/api/auth/register', { body, auth: false }); }
  async login(email, password) {
    const data = await this._data('POST', '/api/auth/login', { body: { email, password }, auth: false });
    this.setToken(data.token);
    return data;
  }
  me(options = {}) { return this._data('GET', '/api/auth/me', { token: options.token }); }
  createUser(body) { return this._data('POST', '/api/admin/users', { body }); }
  listUsers() { return this._page('/api/admin/users'); }
  updateUser(id, body) { return this._data('PATCH', `/api/admin/users/${id}`, { body }); }

  // -- shop and menu
  getShop() { return this._data('GET', '/api/shop'); }
  updateShop(body) { return this._data('PUT', '/api/admin/shop', { body }); }
  getMenu() { return this._page('/api/menu'); }
  createMenuItem(body) { return this._data('POST', '/api/admin/menu', { body }); }
  updateMenuItem(id, body) { return this._data('PUT', `/api/admin/menu/${id}`, { body }); }
  deleteMenuItem(id) { return this._data('DELETE', `/api/admin/menu/${id}`); }

  // -- orders
  /** Retries a lost or refused-for-now request with the same key, so the
   *  order is placed once at most. */
  async createOrder(body, options = {}) {
    const key = options.idempotencyKey ?? await newIdempotencyKey();
    const retries = options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this._data('POST', '/api/orders', { body, headers: { 'Idempotency-Key': key } });
      } catch (e) {
        const passing = e.status === 0 || e.status === 502 || e.status === 503 || e.status === 504;
        if (!passing || attempt >= retries) throw e;
        await sleep(Math.min(5000, e.retryAfter ? e.retryAfter * 1000 : 300 * 2 ** attempt));
      }
    }
  }
  /** With a tracking token it is the only credential sent. */
  getOrderStatus(id, options = {}) {
    const t = options.trackingToken;
    return this._data('GET', `/api/orders/${id}/status`,
      { query: { tracking_token: t }, auth: !t });
  }
  listMyOrders(options = {}) {
    return this._page('/api/orders', { cursor: options.cursor, limit: options.limit });
  }
  cancelOrder(id, options = {}) {
    const t = options.trackingToken;
    return this._data('POST', `/api/orders/${id}/cancel`, { query: { tracking_token: t }, auth: !t });
  }

  // -- staff
  listOrders(options = {}) {
    return this._page('/api/admin/orders',
      { status: options.status, limit: options.limit, cursor: options.cursor });
  }
  getAdminOrder(id) { return this._data('GET', `/api/admin/orders/${id}`); }
  updateOrderStatus(id, status, options = {}) {
    const body = { status };
    if (options.reason != null) body.reason = options.reason;
    const headers = options.ifVersion != null ? { 'If-Match': `"${options.ifVersion}"` } : {};
    return this._data('PUT', `/api/admin/orders/${id}/status`, { body, headers });
  }
  events(options = {}) {
    return this._page('/api/admin/events', { after: options.after, limit: options.limit });
  }
  websocketStats() { return this._data('GET', '/api/admin/websocket/stats'); }
  summary(options = {}) { return this._data('GET', '/api/admin/summary', { query: { date: options.date } }); }
  summaryCsv(options = {}) {
    return this.request('GET', '/api/admin/summary',
      { query: { date: options.date }, headers: { Accept: 'text/csv' }, text: true });
  }
  health() { return this._data('GET', '/api/health', { auth: false }); }
}

/** The highest version seen of each order: events and REST answers merge
 *  in any order of arrival. */
export class OrderStore {
  #orders = new Map();
  #listeners = new Set();

  /** Keeps `order` if it is newer than what the store has; true when it was. */
  merge(order) {
    if (!order || order.id == null) return false;
    const have = this.#orders.get(order.id);
    if (have && !(Number(order.version) > Number(have.version))) return false;
    this.#orders.set(order.id, order);
    for (const fn of [...this.#listeners]) fn(order);
    return true;
  }
  get(id) { return this.#orders.get(Number(id)); }
  /** Newest first. */
  all() { return [...this.#orders.values()].sort((a, b) => b.id - a.id); }
  clear() { this.#orders.clear(); }
  get size() { return this.#orders.size; }
  /** Called with each order the store takes; returns the unsubscribe. */
  subscribe(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

class Emitter {
  #map = new Map();
  on(type, fn) {
    if (!this.#map.has(type)) this.#map.set(type, new Set());
    this.#map.get(type).add(fn);
    return () => this.off(type, fn);
  }
  off(type, fn) { this.#map.get(type)?.delete(fn); }
  /** A throwing listener must not break the connection's bookkeeping. */
  emit(type, ...args) {
    for (const fn of [...(this.#map.get(type) ?? [])]) {
      try { fn(...args); } catch (err) {
        if (type !== 'error' && this.#map.get('error')?.size) this.emit('error', err);
        else console.error('Timing SDK: a listener threw', err);
      }
    }
  }
}

/** A live channel that never gives up: reconnects with full-jitter
 *  exponential backoff, resumes with last_event_id and epoch, catches up
 *  after a resync, pings, and emits each event once. */
export class TimingLive extends Emitter {
  /** @param {import('./timing.d.ts').LiveOptions} options */
  constructor(options) {
    super();
    const o = options ?? {};
    if (o.channel !== 'admin' && !(o.channel && Number.isInteger(Number(o.channel.order)))) {
      throw new TypeError("Timing SDK: channel must be 'admin' or { order: id }");
    }
    this._WS = o.WebSocket ?? globalThis.WebSocket;
    if (typeof this._WS !== 'function') {
      throw new TypeError('Timing SDK: no WebSocket here; pass options.WebSocket (e.g. the ws package)');
    }
    this.baseUrl = defaultBaseUrl(o.baseUrl);
    this._orderId = o.channel === 'admin' ? null : Number(o.channel.order);
    this._token = o.token ?? null;
    this._tracking = o.trackingToken ?? null;
    this._api = o.api ?? new TimingApi({ baseUrl: this.baseUrl, token: this._token });
    this.store = o.store ?? new OrderStore();
    this._pingInterval = o.pingInterval ?? 25000;
    this._pongTimeout = o.pongTimeout ?? 10000;
    this._connectTimeout = o.connectTimeout ?? 15000;
    this._backoff = { initial: o.backoff?.initial ?? 500, max: o.backoff?.max ?? 30000 };
    this._settle = o.settleDelay ?? 3000;

    /** @type {LiveState} */
    this._state = 'offline';
    this._lastEventId = o.lastEventId ?? null;   // resume point (stream's)
    this._epoch = o.epoch ?? null;
    // Every event with an id <= _cursor has been emitted or predates us:
    // the `after` of a catch-up over REST.
    this._cursor = o.lastEventId ?? null;
    this._seen = new Set();
    this._running = false;
    this._gen = 0;          // bumps with every socket; stale callbacks check it
    this._ws = null;
    this._attempt = 0;      // backoff exponent
    this._failures = 0;     // connects in a row that never opened
    this._refused = null;   // the credential last reported through 'auth'
    this._timers = new Set();     // this socket's: cleared with it
    this._bgTimers = new Set();   // catch-up retries: cleared by stop()
    this._everOpened = false;
    this._catchUp = null;   // the running catch-up, if any
    this._onOnline = () => this._hurry();
    this._onOffline = () => { if (this._state === 'open') this._ping(this._gen); };
  }

  get state() { return this._state; }
  get lastEventId() { return this._lastEventId; }
  get epoch() { return this._epoch; }

  start() {
    if (this._running) return;
    this._running = true;
    this._unstore = this.store.subscribe((order) => this.emit('order', order));
    if (typeof globalThis.addEventListener === 'function') {
      globalThis.addEventListener('online', this._onOnline);
      globalThis.addEventListener('offline', this._onOffline);
    }
    this._connect();
  }

  stop() {
    if (!this._running) return;
    this._running = false;
    this._gen++;
    this._clearTimers();
    for (const t of this._bgTimers) clearTimeout(t);
    this._bgTimers.clear();
    this._drop(1000);
    this._unstore?.();
    if (typeof globalThis.removeEventListener === 'function') {
      globalThis.removeEventListener('online', this._onOnline);
      globalThis.removeEventListener('offline', this._onOffline);
    }
    this._setState('offline');
  }

  // -- timers, all cleared by stop() and by every new socket

  _later(ms, fn, set = this._timers) {
    const t = setTimeout(() => { set.delete(t); fn(); }, ms);
    set.add(t);
    return t;
  }
  _cancel(t) { if (t) { clearTimeout(t); clearInterval(t); this._timers.delete(t); } }
  _clearTimers() {
    for (const t of this._timers) { clearTimeout(t); clearInterval(t); }
    this._timers.clear();
    this._retryTimer = this._pingTimer = this._pongTimer = this._openTimer = null;
  }

  _setState(state) {
    if (this._state === state) return;
    this._state = state;
    this.emit('state', state);
  }

  _url() {
    const u = new URL(this.baseUrl);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.pathname = this._orderId === null ? '/admin' : `/orders/${this._orderId}`;
    u.search = '';
    // 0 says "carried nothing", which a restarted daemon cannot tell from
    // its own nothing: such a reconnect starts afresh and reads the log.
    if (this._lastEventId > 0) {
      u.searchParams.set('last_event_id', String(this._lastEventId));
      if (this._epoch) u.searchParams.set('epoch', this._epoch);
    }
    return u.href;
  }

  async _connect() {
    const gen = ++this._gen;
    this._clearTimers();
    this._setState('connecting');
    let credential = null;
    try {
      credential = this._orderId !== null && this._tracking ? null : await resolveToken(this._token);
    } catch (err) {
      if (gen !== this._gen) return;
      this.emit('error', err);
      return this._retry(gen, false);
    }
    if (gen !== this._gen || !this._running) return;
    // The credential rides in the subprotocol list, never in the URL.
    const protocols = [SUBPROTOCOL];
    if (credential) protocols.push(`bearer.${credential}`);
    else if (this._orderId !== null && this._tracking) protocols.push(`tracking.${this._tracking}`);
    this._credential = credential ?? this._tracking;
    this._resumed = this._lastEventId;
    this._opened = false;
    this._streamed = false;
    this._reason = null;
    let ws;
    try {
      ws = new this._WS(this._url(), protocols);
    } catch (err) {
      this.emit('error', err);
      return this._retry(gen, false);
    }
    this._ws = ws;
    ws.onmessage = (ev) => this._onMessage(gen, ev.data);
    ws.onclose = () => this._onClose(gen);
    ws.onerror = () => {};   // a close follows
    this._openTimer = this._later(this._connectTimeout, () => this._dead(gen));
  }

  /** Forgets the socket: its late events are ignored. */
  _drop(code) {
    const ws = this._ws;
    this._ws = null;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onopen = null;
    ws.onerror = () => {};
    try {
      if (typeof ws.terminate === 'function' && code !== 1000) ws.terminate();
      else ws.close(code === 1000 ? 1000 : undefined);
    } catch { /* already closed */ }
  }

  /** No answer in time: give the socket up and try again. */
  _dead(gen) {
    if (gen !== this._gen) return;
    this._drop(4000);
    this._retry(gen, false);
  }

  _onClose(gen) {
    if (gen !== this._gen) return;
    this._ws = null;
    this._retry(gen, this._reason === 'reconnect');
  }

  _retry(gen, atOnce) {
    if (gen !== this._gen || !this._running) return;
    this._gen++;
    this._clearTimers();
    this._setState('offline');
    if (!this._opened) {
      this._failures++;
      // Is it the credential or the server?  A REST probe can tell.
      if (this._failures === 2 || (this._failures > 2 && this._failures % 5 === 2)) this._probe();
    }
    const cap = Math.min(this._backoff.max, this._backoff.initial * 2 ** Math.min(this._attempt, 30));
    const delay = atOnce ? 0 : Math.random() * cap;
    if (!atOnce) this._attempt++;
    this._retryTimer = this._later(delay, () => this._connect());
  }

  /** The browser says the network is back: retry now. */
  _hurry() {
    if (!this._running) return;
    if (this._state === 'offline') {
      this._attempt = 0;
      this._connect();
    } else if (this._state === 'open') {
      this._ping(this._gen);
    }
  }

  async _probe() {
    const credential = this._credential;
    let err = null;
    try {
      if (this._orderId !== null && (this._tracking || !credential)) {
        await this._api.getOrderStatus(this._orderId, { trackingToken: this._tracking ?? undefined });
      } else {
        const { user } = await this._api.me({ token: credential });
        if (this._orderId === null && user.role !== 'staff' && user.role !== 'admin') {
          err = new TimingError('This account may not open the staff channel', { status: 403, code: 'forbidden' });
        }
      }
    } catch (e) {
      if (e instanceof TimingError && [401, 403, 404].includes(e.status)) err = e;
    }
    if (err && this._running && credential === this._credential && this._refused !== (credential ?? '')) {
      this._refused = credential ?? '';
      this.emit('auth', err);
    }
  }

  // -- messages

  _onMessage(gen, data) {
    if (gen !== this._gen) return;
    this._lastRx = Date.now();
    let msg;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch (err) {
      this.emit('error', new Error('Timing SDK: a message that is not JSON'));
      return;
    }
    switch (msg?.type) {
      case 'connection': return this._onConnection(gen, msg);
      case 'newOrder':
      case 'orderStatusUpdate':
        this._lastEventId = msg.event_id;
        this._streamed = true;
        return this._onEvent(msg);
      case 'resync': return this._onResync(gen, msg);
      case 'disconnect':
        this._reason = msg.reason;
        this.emit('disconnect', msg);
        if (msg.reason === 'auth') {
          this._refused = this._credential ?? '';
          this.emit('auth', new TimingError('The server ended the connection: the credential is no longer valid',
            { status: 401, code: 'auth' }));
        }
        return;
      default: return;   // pong, and types a later server may add
    }
  }

  _onConnection(gen, msg) {
    this._cancel(this._openTimer);
    this._opened = true;
    this._attempt = 0;
    this._failures = 0;
    this._refused = null;
    this._connLast = msg.last_event_id;
    const fresh = !(this._resumed > 0);
    const first = !this._everOpened;
    this._everOpened = true;
    const otherHistory = fresh && this._epoch && msg.epoch !== this._epoch;
    this._epoch = msg.epoch;
    if (fresh) {
      this._lastEventId = msg.last_event_id;
      if (otherHistory) {
        this._newHistory();
        this._initCursor(msg.last_event_id);
      } else if (first && this._cursor === null) {
        this._initCursor(msg.last_event_id);
      }
    }
    this._setState('open');
    this.emit('connection', msg);
    this._pingTimer = setInterval(() => this._ping(gen), this._pingInterval);
    this._timers.add(this._pingTimer);
    if (otherHistory) {
      this.emit('resync', { reason: 'epoch', caughtUp: false });
    } else if (this._orderId !== null) {
      // A customer page may have fetched its order before the socket opened.
      if (fresh) this._refetch(null);
    } else if (fresh && !first) {
      // Back without a resume point: whatever came meanwhile is in the log.
      this._catchUpNow(null);
    }
  }

  /** Where a first connection starts: the connection message's point,
   *  which names the newest event in the database (events committed while
   *  the daemon was down included), so the log needs no read here. */
  _initCursor(last) {
    this._cursor = last;
  }

  _ping(gen) {
    if (gen !== this._gen || !this._ws) return;
    const sent = Date.now();
    try { this._ws.send('{"type":"ping"}'); } catch { /* the close will tell */ }
    // A check already waiting covers this ping too (it was sent earlier).
    if (this._pongTimer) return;
    this._pongTimer = this._later(this._pongTimeout, () => {
      this._pongTimer = null;
      if (!(this._lastRx >= sent)) this._dead(gen);
    });
  }

  _remember(id) {
    this._seen.add(id);
    if (this._seen.size > SEEN_LIMIT) this._seen.delete(this._seen.values().next().value);
    if (this._cursor === null) this._cursor = id - 1;
    while (this._seen.has(this._cursor + 1)) this._cursor++;
  }

  /** Each event once, however often it comes (live, replayed, caught up). */
  _onEvent(msg) {
    const id = msg.event_id;
    if (typeof id !== 'number' || this._seen.has(id)) return;
    this._remember(id);
    if (msg.order) this.store.merge(msg.order);
    if (msg.type === 'newOrder') this.emit('newOrder', msg.order, msg);
    else this.emit('orderStatusUpdate', msg.order, msg.status, msg);
  }

  /** The database was rebuilt or restored: ids mean other events now. */
  _newHistory() {
    this._seen.clear();
    this._cursor = null;
    this.store.clear();
  }

  _onResync(gen, msg) {
    const reason = msg.reason ?? 'unknown';
    // From here the stream carries everything live; before any event, the
    // connection message's point is where this socket started.
    if (!this._streamed) this._lastEventId = this._connLast ?? this._lastEventId;
    if (reason === 'epoch') {
      this._newHistory();
      this._initCursor(this._connLast ?? 0);
      if (this._orderId === null) {
        this.emit('resync', { reason, caughtUp: false });
        return;
      }
    }
    if (this._orderId !== null) return this._refetch(reason);
    if (reason === 'unknown') return this._checkCursor();
    this._catchUpNow(reason);
  }

  /** "unknown": this client knows ids the daemon has not seen.  After a
   *  daemon restart that is so; a point beyond the end of the log itself,
   *  though, is from another history, and reading after it would never
   *  find anything again. */
  async _checkCursor() {
    let beyond = false;
    if (this._cursor !== null) {
      try {
        const end = await this._logEnd(0);
        if (end < this._cursor) {
          beyond = true;
          this._seen.clear();
          this._cursor = end;
        }
      } catch { /* the catch-up below reports and retries */ }
    }
    if (beyond) {
      if (this._running) this.emit('resync', { reason: 'unknown', caughtUp: false });
    } else {
      this._catchUpNow('unknown');
    }
  }

  /** Staff: the event log after the cursor, page by page.  `reason` is the
   *  server's resync reason (told through 'resync' once done), or null for a
   *  quiet catch-up; `settled` marks the second read that follows each. */
  async _catchUpNow(reason, settled = false) {
    if (this._cursor === null) {
      if (reason) this.emit('resync', { reason, caughtUp: false });
      return;
    }
    if (this._catchUp) await this._catchUp.catch(() => {});
    if (!this._running) return;
    this._catchUp = this._readLog();
    let failure = null;
    try {
      await this._catchUp;
    } catch (err) {
      failure = err;
    } finally {
      this._catchUp = null;
    }
    if (!this._running) return;
    if (failure instanceof TimingError && failure.code === 'events_pruned') {
      // The log no longer holds every event after the cursor (retention):
      // catching up is impossible, so the app reloads, and the cursor
      // moves to where the log ends.
      this._seen.clear();
      this._cursor = null;
      this.emit('resync', { reason: reason ?? 'pruned', caughtUp: false });
      this._findLogEnd(0);
      return;
    }
    if (failure) {
      if (failure instanceof TimingError && (failure.status === 401 || failure.status === 403)) {
        this.emit('auth', failure);
      } else {
        this.emit('error', failure);
      }
    }
    if (reason) this.emit('resync', { reason, caughtUp: !failure });
    if (failure) {
      // Not caught up: try again, as patiently as reconnects.
      this._catchUpFails = (this._catchUpFails ?? 0) + 1;
      const cap = Math.min(this._backoff.max, this._backoff.initial * 2 ** Math.min(this._catchUpFails, 30));
      this._later(Math.random() * cap, () => this._catchUpNow(null), this._bgTimers);
      return;
    }
    this._catchUpFails = 0;
    if (!settled && !this._settling) {
      // The log answers only up to a gap younger than the event horizon;
      // an event past that gap that reached the daemon before this socket
      // did is found by one more read once the gap has settled.
      this._settling = true;
      this._later(this._settle, () => { this._settling = false; this._catchUpNow(null, true); }, this._bgTimers);
    }
  }

  async _readLog() {
    let after = this._cursor;
    for (;;) {
      const page = await this._api.events({ after, limit: EVENTS_PAGE });
      for (const e of page.items) this._onEvent(e);
      if (page.items.length) {
        after = page.items[page.items.length - 1].event_id;
        // The log is monotonic: everything up to its last answer is known.
        if (after > (this._cursor ?? 0)) this._cursor = after;
      }
      if (page.next_cursor === null || page.next_cursor === undefined) return;
      after = Number(page.next_cursor);
    }
  }

  /** Where the event log ends, searched from `from` on with one-event
   *  reads (the log has no "newest" query): usually one read. */
  async _logEnd(from) {
    const has = async (after) => {
      try {
        return (await this._api.events({ after, limit: 1 })).items.length > 0;
      } catch (err) {
        // 410: events after `after` existed and were pruned; the end is further on.
        if (err instanceof TimingError && err.code === 'events_pruned') return true;
        throw err;
      }
    };
    let low = from;
    if (!(await has(low))) return from;
    // The log has an event after `low`; widen until one after `high` is missing.
    let step = 1, high = low + step;
    while (await has(high)) { low = high; step *= 2; high = low + step; }
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (await has(mid)) low = mid; else high = mid;
    }
    return high;
  }

  async _findLogEnd(from) {
    try {
      this._setLogEnd(await this._logEnd(from));
    } catch (err) {
      this.emit('error', err);
    }
  }

  _setLogEnd(end) {
    if (!this._running) return;
    this._cursor = Math.max(this._cursor ?? 0, end);
    if (this._lastEventId === 0 && end > 0) this._lastEventId = end;
  }

  /** Customer: the order over REST, merged by version. */
  async _refetch(reason) {
    let caughtUp = true;
    try {
      const order = await this._api.getOrderStatus(this._orderId,
        { trackingToken: this._tracking ?? undefined });
      this.store.merge(order);
    } catch (err) {
      caughtUp = false;
      this.emit('error', err);
    }
    if (reason && this._running) this.emit('resync', { reason, caughtUp });
  }
}
