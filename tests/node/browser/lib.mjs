// SPDX-License-Identifier: Apache-2.0
// Shared set-up of the browser tests: Debian's chromium driven by
// playwright-core against the stack at TIMING_BASE_URL.  Every page opened
// through here records console errors and uncaught exceptions, so a test
// can assert that there were none.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export const BASE = process.env.TIMING_BASE_URL;
export const ADMIN_EMAIL = process.env.TIMING_ADMIN_EMAIL;
export const ADMIN_PASSWORD = process.env.TIMING_ADMIN_PASSWORD;
const SHOTS = process.env.TIMING_SCREENSHOTS || 'screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launchBrowser() {
  const args = ['--autoplay-policy=no-user-gesture-required'];
  // Chromium refuses its sandbox as root (CI containers run tests as root).
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath: CHROMIUM, args });
}

/** A page in its own context (its own cookies and storage) that records
 *  console errors and page errors in `page.problems`. */
export async function openPage(browser, { viewport = { width: 1280, height: 800 },
  permissions = [], isMobile = false, hasTouch = false } = {}) {
  const context = await browser.newContext({ baseURL: BASE, viewport, isMobile, hasTouch });
  if (permissions.length) await context.grantPermissions(permissions, { origin: BASE });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  return page;
}

/** Console errors other than those `allowed` matches (e.g. the browser's own
 *  report of a WebSocket handshake refused while the daemon was down). */
export function unexpectedProblems(page, allowed = []) {
  return page.problems.filter((p) => !allowed.some((re) => re.test(p)));
}

/** The browser's own line for a refused or failed WebSocket, which pages
 *  cannot suppress; allowed only while a test has taken the daemon down. */
export const WEBSOCKET_FAILURE = /WebSocket connection to .* failed/;

export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Logs in over the API (for tests that need a token, not the login page). */
export async function apiLogin(email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
  const res = await fetch(`${BASE}/api/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`login: ${res.status} ${JSON.stringify(body)}`);
  return body.data.token;
}

export async function api(method, url, { token, body, headers = {} } = {}) {
  const res = await fetch(`${BASE}${url}`, {
    method,
    headers: { ...(body ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
