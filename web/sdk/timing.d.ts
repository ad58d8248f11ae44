// SPDX-License-Identifier: Apache-2.0
// Types of web/sdk/timing.js, Timing's client SDK: one ES module for
// browsers and Node >= 18, no build step.  The API is described at /api-docs/.

export type OrderStatus = 'pending' | 'preparing' | 'ready' | 'completed' | 'cancelled';
export type Role = 'admin' | 'staff' | 'customer';

export interface User {
  id: number; name: string; email: string; role: Role;
  disabled: boolean; created_at: string;
}

export interface CustomerInfo { name: string; phone: string | null; email: string | null; }

export interface OrderItem {
  id: number; menu_id: number; menu_name: string; price: number;
  quantity: number; note: string | null; subtotal: number;
}

export interface Order {
  id: number; pickup_number: number; version: number; status: OrderStatus;
  customer_info: CustomerInfo; items: OrderItem[];
  total: number; currency: string; note: string | null;
  created_at: string; updated_at: string;
  /** Only in the answer to createOrder. */
  tracking_token?: string;
  /** Only from getAdminOrder. */
  status_history?: StatusChange[];
}

export interface StatusChange {
  from: OrderStatus | null; to: OrderStatus;
  by: { id: number; name: string } | null; reason: string | null; at: string;
}

export interface Shop { name: string; currency: string; timezone: string; accepting_orders: boolean; }

export interface MenuItem {
  id: number; name: string; description: string | null; category: string | null;
  price: number; available: boolean;
}

export interface NewOrderItem { menu_id: number; quantity: number; note?: string; }
export interface NewOrder {
  customer_info: { name: string; phone?: string; email?: string };
  items: NewOrderItem[]; note?: string;
}

export interface Page<T> { items: T[]; next_cursor: string | number | null; count: number; }

export interface AuthAnswer { user: User; token: string; expires_at: string; }

/** A WebSocket message as the server sends it (also an event-log entry). */
export interface OrderEvent {
  type: 'newOrder' | 'orderStatusUpdate';
  event_id: number; order: Order;
  status?: OrderStatus; previous_status?: OrderStatus;
  created_at?: string;
}

export interface Summary {
  date: string; orders: number; by_status: Record<OrderStatus, number>; revenue: number;
  items: { menu_id: number; name: string; quantity: number; revenue: number }[];
}

export interface WebSocketStats {
  connections: { admin: number; order: number; total: number };
  peak_connections: number; events_received: number; messages_sent: number;
  replays: number; resyncs: number; slow_clients_dropped: number; uptime_seconds: number;
}

/** A token, or a function that returns the current one (called before every
 *  request and every reconnect, so a long shift can swap in a fresh token). */
export type TokenProvider = string | null | (() => string | null | Promise<string | null>);

/** Every non-2xx answer, with the API's error envelope unpacked. */
export class TimingError extends Error {
  constructor(message: string, info?: {
    status?: number; code?: string; details?: { field: string; message: string }[];
    retryAfter?: number | null; cause?: unknown;
  });
  /** HTTP status; 0 when the server could not be reached. */
  status: number;
  /** The envelope's snake_case code (`invalid_transition`, `network_error`, …). */
  code: string;
  details: { field: string; message: string }[];
  /** Seconds, from `Retry-After`, when the server sent it. */
  retryAfter: number | null;
}

export interface ApiOptions {
  /** 'http://host:port'; default: the page's origin in a browser. */
  baseUrl?: string;
  token?: TokenProvider;
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** 'include' in a browser so the tracking cookie rides along; default 'same-origin'. */
  credentials?: RequestCredentials;
  /** Milliseconds before a request with no answer fails (status 0,
   *  `network_error`); default 30000, 0 for none. */
  timeout?: number;
}

/** A random version 4 UUID (crypto.randomUUID, else getRandomValues). */
export function newIdempotencyKey(): Promise<string>;

/** REST helpers: one method per API endpoint.  Each resolves to the
 *  envelope's `data` (lists: a Page) or rejects with TimingError. */
export class TimingApi {
  constructor(options?: ApiOptions);
  baseUrl: string;
  /** Replaces the token provider (e.g. after login). */
  setToken(token: TokenProvider): void;
  /** The provider's current token. */
  token(): Promise<string | null>;
  /** One request with the envelope kept whole (`text: true`: the body as text);
   *  for what the helpers below do not cover.  Rejects with TimingError. */
  request(method: string, path: string, options?: {
    query?: Record<string, string | number | string[] | null | undefined>;
    body?: unknown; headers?: Record<string, string>;
    /** false: no Authorization header. */
    auth?: boolean;
    /** This token instead of the provider's (null: none). */
    token?: string | null;
    text?: boolean;
  }): Promise<any>;

  register(body: { name: string; email: string; password: string }): Promise<AuthAnswer>;
  /** Also makes the answer's token this client's token. */
  login(email: string, password: string): Promise<AuthAnswer>;
  /** `token` checks that credential instead of the provider's. */
  me(options?: { token?: string | null }): Promise<{ user: User }>;
  createUser(body: { name: string; email: string; password: string; role: 'staff' | 'admin' }): Promise<{ user: User }>;
  listUsers(): Promise<Page<User>>;
  updateUser(id: number, body: { name?: string; role?: Role; disabled?: boolean; password?: string }): Promise<{ user: User }>;

  getShop(): Promise<Shop>;
  updateShop(body: Partial<Shop>): Promise<Shop>;
  getMenu(): Promise<Page<MenuItem>>;
  createMenuItem(body: Omit<MenuItem, 'id'>): Promise<MenuItem>;
  updateMenuItem(id: number, body: Partial<Omit<MenuItem, 'id'>>): Promise<MenuItem>;
  deleteMenuItem(id: number): Promise<unknown>;

  /** POST /api/orders with an Idempotency-Key (one is generated when not given).
   *  A request that got no answer, or 502/503/504, is retried with the same key
   *  (`retries`, default 2), so it never places the order twice.  An app that
   *  retries on its own (after a reload, say) passes the key it kept. */
  createOrder(body: NewOrder, options?: { idempotencyKey?: string; retries?: number }): Promise<Order>;
  /** GET /api/orders/:id/status with the client's token, a tracking token (then
   *  the only credential sent), or the cookie. */
  getOrderStatus(id: number, options?: { trackingToken?: string }): Promise<Order>;
  listMyOrders(options?: { cursor?: string | number; limit?: number }): Promise<Page<Order>>;
  cancelOrder(id: number, options?: { trackingToken?: string }): Promise<Order>;

  listOrders(options?: { status?: OrderStatus[] | string; limit?: number; cursor?: string | number }): Promise<Page<Order>>;
  getAdminOrder(id: number): Promise<Order>;
  /** PUT /api/admin/orders/:id/status; `ifVersion` sends If-Match. */
  updateOrderStatus(id: number, status: OrderStatus, options?: { reason?: string; ifVersion?: number }): Promise<Order>;
  events(options?: { after?: number; limit?: number }): Promise<Page<OrderEvent>>;
  websocketStats(): Promise<WebSocketStats>;
  summary(options?: { date?: string }): Promise<Summary>;
  /** The day's orders as CSV text. */
  summaryCsv(options?: { date?: string }): Promise<string>;
  health(): Promise<{ status: string; db: string; events: string }>;
}

/** The highest version seen of each order: events and REST answers merge in
 *  any order of arrival. */
export class OrderStore {
  /** Keeps `order` if it is newer than what the store has; true when it was. */
  merge(order: Order): boolean;
  get(id: number): Order | undefined;
  /** Newest first. */
  all(): Order[];
  /** Empties the store (TimingLive does so when the server's history changes:
   *  a resync with reason `epoch`). */
  clear(): void;
  readonly size: number;
  /** Called with every order the store takes (from any merge); returns the
   *  unsubscribe.  TimingLive turns this into its 'order' event. */
  subscribe(listener: (order: Order) => void): () => void;
}

export type LiveState = 'connecting' | 'open' | 'offline';

export interface LiveOptions {
  /** 'http://host:port'; default: the page's origin in a browser. */
  baseUrl?: string;
  /** 'admin' (staff) or { order: id } (one customer order). */
  channel: 'admin' | { order: number };
  /** Staff or customer JWT; sent as the subprotocol `bearer.<JWT>`, never in the URL. */
  token?: TokenProvider;
  /** A customer's tracking token; sent as the subprotocol `tracking.<t>`.  With neither
   *  token nor trackingToken a browser page relies on the tracking cookie. */
  trackingToken?: string | null;
  /** Where there is no global WebSocket (Node 18): e.g. the `ws` package's class. */
  WebSocket?: unknown;
  /** Used for catch-up (staff) and refetch (customer); default: a TimingApi with the same baseUrl/token. */
  api?: TimingApi;
  /** Shared with the app so REST answers and events merge; default: a new one. */
  store?: OrderStore;
  /** App-level ping period and how long to wait for any message after it (ms). */
  pingInterval?: number;   // default 25000
  pongTimeout?: number;    // default 10000
  /** How long a connect may take up to the server's `connection` message (ms). */
  connectTimeout?: number; // default 15000
  /** After a catch-up from the event log, one more read this much later (ms):
   *  the log stops at a gap younger than the server's event horizon (2 s). */
  settleDelay?: number;    // default 3000
  /** Reconnect backoff (ms): full jitter between 0 and min(max, initial * 2^attempt). */
  backoff?: { initial?: number; max?: number };   // default 500, 30000
  /** Resume point and epoch to start from (e.g. kept in sessionStorage). */
  lastEventId?: number | null;
  epoch?: string | null;
}

export interface LiveEvents {
  /** connecting / open / offline. */
  state: (state: LiveState) => void;
  /** The server's `connection` message. */
  connection: (message: { client_id: string; epoch: string; last_event_id: number; server_time: string }) => void;
  /** The guide's names and arguments; each event once, live, replayed or caught up. */
  newOrder: (order: Order, message: OrderEvent) => void;
  orderStatusUpdate: (order: Order, status: OrderStatus, message: OrderEvent) => void;
  /** The store took a newer version of this order (from any source: events,
   *  catch-up, refetch, or the app's own store.merge while started).  Render
   *  from this; a customer's refetch after a resync has no event of its own. */
  order: (order: Order) => void;
  /** The server said `resync` and the SDK has caught up (staff: /api/admin/events
   *  after its point, customer: a refetch of the order).  `caughtUp` false means
   *  the app must reload its lists: the catch-up failed (it is retried), or the
   *  history changed (`epoch`: the store was cleared; or a resume point beyond
   *  the end of the log). */
  resync: (info: { reason: string; caughtUp: boolean }) => void;
  /** The server's `disconnect` message, before it closes. */
  disconnect: (message: { reason: string }) => void;
  /** The credential was refused: `disconnect` reason `auth` (status 401, code
   *  `auth`), or connects kept failing and a REST probe (/api/auth/me, or the
   *  order's status for a tracking token or cookie) was refused (401/403/404).
   *  Told once per credential; retries go on (the token provider is asked
   *  again on each) until stop(). */
  auth: (error: TimingError) => void;
  error: (error: Error) => void;
}

/** A live channel that never gives up: reconnects with jittered exponential
 *  backoff, resumes with last_event_id and epoch, handles resync, pings. */
export class TimingLive {
  constructor(options: LiveOptions);
  readonly state: LiveState;
  /** The resume point: the last event id this channel received, or its
   *  `connection` message's `last_event_id` (keep it with `epoch` to resume
   *  after a reload). */
  readonly lastEventId: number | null;
  readonly epoch: string | null;
  readonly store: OrderStore;
  start(): void;
  /** Closes for good (no reconnect); state becomes 'offline'. */
  stop(): void;
  on<K extends keyof LiveEvents>(type: K, listener: LiveEvents[K]): () => void;
  off<K extends keyof LiveEvents>(type: K, listener: LiveEvents[K]): void;
}
