// SPDX-License-Identifier: Apache-2.0
// Renders the board: one card per open order in its status column, and the
// compact list of today's completed and cancelled orders.  Cards are built
// with textContent only (names and notes come from customers).

import { age, clock, minutesSince, money, setText, shopDay } from './format.js';

export const OPEN = ['pending', 'preparing', 'ready'];
export const FINAL = ['completed', 'cancelled'];

// The transitions staff may make (the server refuses others): forward is the main button,
// back corrects a mis-tap; completed and cancelled are final.
export const FLOW = {
  pending: { forward: ['preparing', 'Start preparing'], back: null },
  preparing: { forward: ['ready', 'Mark ready'], back: ['pending', 'Pending'] },
  ready: { forward: ['completed', 'Complete'], back: ['preparing', 'Preparing'] },
};

// An order waiting this long in one column gets a warmer age label.
const LATE_MINUTES = { pending: 5, preparing: 15, ready: 10 };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) setText(node, text);
  return node;
}

export class Board {
  /** handlers: { move(order, to), cancel(order), acknowledge(id) } */
  constructor(root, doneList, handlers) {
    this.root = root;
    this.doneList = doneList;
    this.handlers = handlers;
    this.cards = new Map();      // id -> <li>
    this.keys = new Map();       // id -> what the card shows, to skip rebuilds
    this.columns = {};
    for (const status of OPEN) {
      const section = root.querySelector(`.column[data-status="${status}"]`);
      this.columns[status] = {
        section, list: section.querySelector('.cards'),
        count: section.querySelector('.count'), empty: section.querySelector('.empty'),
      };
    }
  }

  /** views: [{ order, status, busy, isNew, error }] for every order in the
   *  store; status is what the card shows (an optimistic one while the
   *  server has not answered). */
  render(views, { now, timeZone, today }) {
    const byColumn = { pending: [], preparing: [], ready: [] };
    const done = [];
    for (const v of views) {
      if (byColumn[v.status]) byColumn[v.status].push(v);
      else if (FINAL.includes(v.status) && timeZone
               && today === shopDay(v.order.updated_at, timeZone)) done.push(v);
    }
    const keep = new Set();
    for (const status of OPEN) {
      const col = this.columns[status];
      // Oldest first: the kitchen works the queue from the top.
      const list = byColumn[status].sort((a, b) =>
        Date.parse(a.order.created_at) - Date.parse(b.order.created_at) || a.order.id - b.order.id);
      const wanted = list.map((v) => { keep.add(v.order.id); return this.card(v, now); });
      placeChildren(col.list, wanted);
      col.count.textContent = String(list.length);
      col.empty.hidden = list.length > 0;
    }
    for (const [id, node] of this.cards) {
      if (!keep.has(id)) { node.remove(); this.cards.delete(id); this.keys.delete(id); }
    }
    this.renderDone(done, timeZone);
    return { counts: Object.fromEntries(OPEN.map((s) => [s, byColumn[s].length])), done: done.length };
  }

  /** The card for a view, rebuilt only when what it shows has changed. */
  card(v, now) {
    const o = v.order;
    const key = JSON.stringify([o.version, v.status, v.busy, v.isNew, v.error]);
    let node = this.cards.get(o.id);
    if (node && this.keys.get(o.id) === key) return node;
    const fresh = this.buildCard(v, now);
    if (node) node.replaceWith(fresh);
    this.cards.set(o.id, fresh);
    this.keys.set(o.id, key);
    return fresh;
  }

  buildCard(v, now) {
    const o = v.order;
    const li = el('li', 'card');
    li.dataset.orderId = String(o.id);
    li.dataset.status = v.status;
    li.dataset.version = String(o.version);
    if (v.isNew) li.classList.add('is-new');
    if (v.busy) li.setAttribute('aria-busy', 'true');

    const head = el('div', 'card-head');
    const pickup = el('p', 'pickup');
    pickup.append(el('span', 'pickup-hash', '#'), el('span', 'pickup-number', String(o.pickup_number)));
    const who = el('div', 'who');
    who.append(el('p', 'customer', o.customer_info?.name ?? ''));
    const meta = el('p', 'meta');
    const ageEl = el('time', 'age');
    ageEl.dateTime = o.created_at;
    meta.append(ageEl);
    who.append(meta);
    head.append(pickup, who);
    if (v.isNew) head.append(el('span', 'new-tag', 'New'));
    li.append(head);

    const items = el('ul', 'items');
    for (const item of o.items ?? []) {
      const row = el('li', 'item');
      row.append(el('span', 'qty', `${item.quantity}×`));
      const what = el('span', 'what');
      what.append(el('span', 'item-name', item.menu_name));
      if (item.note) what.append(el('span', 'item-note', item.note));
      row.append(what);
      items.append(row);
    }
    li.append(items);

    if (o.note) {
      const note = el('p', 'order-note');
      note.append(el('span', 'order-note-label', 'Note'), el('span', 'order-note-text', o.note));
      li.append(note);
    }

    const foot = el('div', 'card-foot');
    foot.append(el('span', 'total', money(o.total, o.currency)));
    if (v.status !== o.status) foot.append(el('span', 'saving', 'Saving…'));
    else if (o.customer_info?.phone) foot.append(el('span', 'phone', o.customer_info.phone));
    li.append(foot);

    if (v.error) {
      const err = el('p', 'card-error', v.error);
      err.setAttribute('role', 'alert');
      li.append(err);
    }

    const flow = FLOW[v.status];
    if (flow) {
      const actions = el('div', 'actions');
      const [to, label] = flow.forward;
      const forward = el('button', `btn btn-forward to-${to}`, label);
      forward.type = 'button';
      forward.dataset.action = to;
      forward.disabled = !!v.busy;
      forward.addEventListener('click', () => this.handlers.move(o.id, to));
      actions.append(forward);
      const small = el('div', 'actions-small');
      if (flow.back) {
        const back = el('button', 'btn btn-back', `← ${flow.back[1]}`);
        back.type = 'button';
        back.setAttribute('aria-label', `Back to ${flow.back[0]}`);
        back.dataset.action = flow.back[0];
        back.disabled = !!v.busy;
        back.addEventListener('click', () => this.handlers.move(o.id, flow.back[0]));
        small.append(back);
      }
      const cancel = el('button', 'btn btn-cancel', 'Cancel');
      cancel.type = 'button';
      cancel.dataset.action = 'cancel';
      cancel.disabled = !!v.busy;
      cancel.addEventListener('click', () => this.handlers.cancel(o.id));
      small.append(cancel);
      actions.append(small);
      li.append(actions);
    }

    // A tap anywhere on a new card tells the board it has been seen.
    if (v.isNew) li.addEventListener('pointerdown', () => this.handlers.acknowledge(o.id));
    this.tickCard(li, o, v.status, now);
    return li;
  }

  /** Updates the age labels without rebuilding cards. */
  tick(now) {
    for (const node of this.cards.values()) {
      const ageEl = node.querySelector('.age');
      if (!ageEl) continue;
      this.tickCard(node, { created_at: ageEl.dateTime }, node.dataset.status, now);
    }
  }

  tickCard(node, order, status, now) {
    const ageEl = node.querySelector('.age');
    ageEl.textContent = age(order.created_at, now);
    node.classList.toggle('is-late', minutesSince(order.created_at, now) >= (LATE_MINUTES[status] ?? 1e9));
  }

  renderDone(done, timeZone) {
    // Newest change first.
    done.sort((a, b) => Date.parse(b.order.updated_at) - Date.parse(a.order.updated_at));
    const rows = done.map((v) => {
      const o = v.order;
      const li = el('li', 'done-row');
      li.dataset.orderId = String(o.id);
      li.dataset.status = v.status;
      li.append(el('span', 'done-number', `#${o.pickup_number}`),
        el('span', 'done-name', o.customer_info?.name ?? ''),
        el('span', `status-tag status-${v.status}`, v.status === 'completed' ? 'Completed' : 'Cancelled'),
        el('span', 'done-time', clock(o.updated_at, timeZone)),
        el('span', 'done-total', money(o.total, o.currency)));
      return li;
    });
    this.doneList.replaceChildren(...rows);
  }

  clear() {
    for (const col of Object.values(this.columns)) {
      col.list.replaceChildren();
      col.count.textContent = '0';
      col.empty.hidden = false;
    }
    this.cards.clear();
    this.keys.clear();
    this.doneList.replaceChildren();
  }
}

/** Makes `list`'s children exactly `wanted`, in order, moving only the nodes
 *  that are out of place (a card under a finger stays put). */
function placeChildren(list, wanted) {
  let cursor = list.firstChild;
  for (const node of wanted) {
    if (node === cursor) { cursor = cursor.nextSibling; continue; }
    list.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}
