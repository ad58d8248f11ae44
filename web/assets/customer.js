// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the customer pages (/order/ and /track/<id>).

/** Builds an element: el('p', { class: 'x', text: 'hi' }, child, …).
 *  Text always goes in as text, never as HTML (names and notes are the
 *  customer's own words). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const formats = new Map();

/** Money in the shop's currency: whole amounts without decimals (฿60),
 *  others with two (฿65.50). */
export function money(amount, currency = 'THB') {
  const digits = Number.isInteger(amount) ? 0 : 2;
  const key = `${currency}:${digits}`;
  if (!formats.has(key)) {
    let format;
    try {
      format = new Intl.NumberFormat(undefined, {
        style: 'currency', currency, currencyDisplay: 'narrowSymbol',
        minimumFractionDigits: digits, maximumFractionDigits: 2,
      });
    } catch {
      // An unknown currency code: number and code.
      const plain = new Intl.NumberFormat(undefined, { minimumFractionDigits: digits });
      format = { format: (n) => `${plain.format(n)} ${currency}` };
    }
    formats.set(key, format);
  }
  return formats.get(key).format(amount);
}

/** The guide's status steps, in order. */
export const STATUS_STEPS = [
  { key: 'pending', label: 'Order Received', icon: '📝' },
  { key: 'preparing', label: 'Preparing', icon: '👨‍🍳' },
  { key: 'ready', label: 'Ready for Pickup', icon: '✅' },
  { key: 'completed', label: 'Completed', icon: '🎉' },
];

// The tracking token of an order placed in this tab, kept so the
// tracking page can offer a share link (the cookie is HttpOnly).
const tokenKey = (id) => `timing.track.${id}`;

export function rememberTrackingToken(id, token) {
  try {
    sessionStorage.setItem(tokenKey(id), token);
    sessionStorage.setItem('timing.track.last', String(id));
  } catch { /* storage off */ }
}

/** The id of the last order placed in this tab, or null. */
export function lastOrderId() {
  try {
    const id = Number(sessionStorage.getItem('timing.track.last'));
    return Number.isInteger(id) && id > 0 ? id : null;
  } catch { return null; }
}

export function recalledTrackingToken(id) {
  try { return sessionStorage.getItem(tokenKey(id)); } catch { return null; }
}

/** Fills the page header with the shop's name (the order page and the
 *  tracking page share it). */
export function showShopName(shop) {
  for (const node of document.querySelectorAll('[data-shop-name]')) {
    node.textContent = shop.name;
  }
}
