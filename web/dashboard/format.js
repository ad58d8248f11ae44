// SPDX-License-Identifier: Apache-2.0
// Small formatting helpers for the staff dashboard: ages, money, Thai
// detection and the shop's calendar day.

const THAI = /[\u0E00-\u0E7F]/;

/** True when the text has Thai letters (so the element gets lang="th"). */
export function isThai(text) {
  return typeof text === 'string' && THAI.test(text);
}

/** Sets textContent and, for Thai text, lang="th" so the Thai font stack
 *  and line breaking apply. */
export function setText(el, text) {
  el.textContent = text ?? '';
  if (isThai(text)) el.lang = 'th';
  else el.removeAttribute('lang');
  return el;
}

/** "just now", "4 min ago", "1 h 12 min ago" for an ISO time. */
export function age(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const minutes = Math.floor(Math.max(0, now - t) / 60000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min ago` : `${hours} h ago`;
}

/** Whole minutes since an ISO time. */
export function minutesSince(iso, now = Date.now()) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.floor(Math.max(0, now - t) / 60000);
}

const moneyFormats = new Map();

/** "฿185.00" for THB; any ISO currency the shop uses. */
export function money(amount, currency = 'THB') {
  let f = moneyFormats.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat('th-TH', { style: 'currency', currency });
    } catch {
      // An unknown code still shows the amount and the code.
      f = { format: (n) => `${Number(n).toFixed(2)} ${currency}` };
    }
    moneyFormats.set(currency, f);
  }
  return f.format(amount);
}

/** The clock time of an ISO instant in the shop's timezone ("14:05"). */
export function clock(iso, timeZone) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit' })
      .format(t);
  } catch {
    return new Date(t).toTimeString().slice(0, 5);
  }
}

/** YYYY-MM-DD of an instant in the shop's timezone (pickup numbers and
 *  "today" follow the shop's day, not the tablet's). */
export function shopDay(instant, timeZone) {
  const t = typeof instant === 'string' ? Date.parse(instant) : instant;
  try {
    return new Intl.DateTimeFormat('en-CA', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
    }).format(t);
  } catch {
    return new Date(t).toISOString().slice(0, 10);
  }
}
