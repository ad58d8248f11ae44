// SPDX-License-Identifier: Apache-2.0
// /api-docs/ in chromium against a real stack: Swagger UI, served from
// web/api-docs/vendor/ (make web), shows every operation of openapi.json and
// the WebSocket section, links the Postman collection, loads nothing from
// another host, and "Try it out" reaches the API on the same origin, with
// and without a token.  Without its viewer files the page says to run
// `make web`.  Screenshots go to TIMING_SCREENSHOTS.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  ADMIN_EMAIL, BASE, apiLogin, launchBrowser, openPage, screenshot, unexpectedProblems,
} from './lib.mjs';

const WAIT = { timeout: 20000 };   // only catches hangs
const ORIGIN = new URL(BASE).origin;
let browser;
let doc;

test.before(async () => {
  browser = await launchBrowser();
  const res = await fetch(`${BASE}/api-docs/openapi.json`);
  assert.equal(res.status, 200);
  doc = await res.json();
});

test.after(async () => { await browser?.close(); });

/** A page whose requests to any other origin are refused and recorded. */
async function docsPage(options) {
  const page = await openPage(browser, options);
  page.foreign = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === ORIGIN || url.startsWith('data:')) return route.continue();
    page.foreign.push(url);
    return route.abort();
  });
  return page;
}

function operations() {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      if (item[method]) out.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return out.sort();
}

async function tryItOut(page, block) {
  await page.click(`${block} .opblock-summary-control`);
  await page.click(`${block} .try-out__btn`);
  await page.click(`${block} .execute`);
  const status = page.locator(`${block} .live-responses-table tr.response .response-col_status`).first();
  await status.waitFor(WAIT);
  return {
    status: (await status.innerText()).trim(),
    body: await page.locator(`${block} .live-responses-table tr.response .response-col_description pre`).first().innerText(),
    url: (await page.locator(`${block} .request-url pre`).innerText()).trim(),
  };
}

test('the viewer shows every operation of openapi.json, from this origin alone', async () => {
  const page = await docsPage();
  await page.goto('/api-docs/');
  const expected = operations();
  assert.ok(expected.length >= 24, 'the document lists the API and its metrics');
  assert.ok(expected.includes('GET /api/admin/metrics'));
  await page.waitForFunction((n) => document.querySelectorAll('.opblock').length === n,
    expected.length, WAIT);
  const shown = await page.$$eval('.opblock', (blocks) => blocks.map((b) =>
    `${b.querySelector('.opblock-summary-method').textContent.trim()} ${b.querySelector('.opblock-summary-path').dataset.path}`));
  assert.deepEqual(shown.sort(), expected);

  assert.match(await page.title(), /Timing/);
  assert.match(await page.locator('header h1').innerText(), /Timing/);
  assert.equal((await page.locator('#status').innerText()).trim(), '', 'no loading or error message left');
  // The document's own title and version, as Swagger UI renders them.
  assert.match(await page.locator('.info .title').innerText(), new RegExp(doc.info.title));

  // The Postman collection: a visible link that downloads it.
  const postman = page.locator('#postman-link');
  assert.ok(await postman.isVisible());
  assert.equal(await postman.getAttribute('href'), 'timing.postman_collection.json');
  assert.equal(await postman.getAttribute('download'), 'timing.postman_collection.json');
  const download = page.waitForEvent('download', WAIT);
  await postman.click();
  const saved = JSON.parse(fs.readFileSync(await (await download).path(), 'utf8'));
  assert.equal(saved.info.schema, 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json');

  // The WebSocket section: a visible link to the heading in the document's
  // introduction, which names the channels and every message type.
  const wsLink = page.locator('#ws-link');
  assert.ok(await wsLink.isVisible());
  await wsLink.click();
  const heading = page.locator('#websocket');
  assert.match(await heading.innerText(), /WebSocket/);
  const box = await heading.boundingBox();
  assert.ok(box && box.y >= 0 && box.y < 200, `the heading is scrolled to the top: ${JSON.stringify(box)}`);
  const intro = await page.locator('.info').innerText();
  for (const word of ['/admin', '/orders/{id}', 'timing_track_<id>', '?token=<JWT>', 'timing.v1',
    'connection', 'newOrder', 'orderStatusUpdate', 'resync', 'disconnect', 'pong',
    'last_event_id', 'epoch', 'Retry-After']) {
    assert.ok(intro.includes(word), `the WebSocket section mentions ${word}`);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'api-docs');

  assert.deepEqual(page.foreign, [], 'nothing is loaded from another host');
  assert.deepEqual(unexpectedProblems(page), []);
  await page.context().close();
});

test('an address ending in #websocket opens at the WebSocket section', async () => {
  const page = await docsPage({ viewport: { width: 800, height: 700 } });
  await page.goto('/api-docs/#websocket');
  const heading = page.locator('#websocket');
  await heading.waitFor(WAIT);
  await page.waitForFunction(() => {
    const r = document.getElementById('websocket').getBoundingClientRect();
    return r.top >= 0 && r.top < 200;
  }, null, WAIT);
  assert.deepEqual(unexpectedProblems(page), []);
  await page.context().close();
});

test('"Try it out" reaches the API on this origin, then with the token from Authorize', async () => {
  const page = await docsPage();
  await page.goto('/api-docs/');
  await page.locator('.opblock').first().waitFor(WAIT);

  const health = await tryItOut(page, '#operations-Service-health');
  assert.equal(health.status, '200');
  assert.equal(health.url, `${ORIGIN}/api/health`);
  assert.equal(JSON.parse(health.body).success, true);

  const anonymous = await tryItOut(page, '#operations-Auth-me');
  assert.equal(anonymous.status, '401');
  assert.equal(JSON.parse(anonymous.body).error.code, 'unauthorized');

  // The bearer token, given once in the Authorize dialog.
  const token = await apiLogin();
  await page.click('.auth-wrapper .authorize');
  const dialog = page.locator('.auth-container').filter({ hasText: 'bearerAuth' });
  assert.match(await dialog.innerText(), /Bearer <JWT>/);
  await dialog.locator('input').fill(token);
  await dialog.locator('button[type=submit]').click();
  await dialog.locator('.btn-done').click();
  await page.click('#operations-Auth-me .execute');
  await page.waitForFunction(() => {
    const s = document.querySelector('#operations-Auth-me .live-responses-table tr.response .response-col_status');
    return s && s.textContent.trim() === '200';
  }, null, WAIT);
  const me = JSON.parse(await page.locator('#operations-Auth-me .live-responses-table tr.response .response-col_description pre').first().innerText());
  assert.equal(me.data.user.email, ADMIN_EMAIL);
  await page.locator('#operations-Auth-me').scrollIntoViewIfNeeded();
  await screenshot(page, 'api-docs-try-it-out');

  assert.deepEqual(page.foreign, []);
  // The browser reports the deliberate 401 itself; nothing else may fail.
  assert.deepEqual(unexpectedProblems(page, [/status of 401 \(Unauthorized\)/]), []);
  await page.context().close();
});

test('the metrics operation shows its Prometheus text and the handler beside it', async () => {
  const page = await docsPage();
  await page.goto('/api-docs/');
  const block = page.locator('#operations-Staff-metrics');
  await block.waitFor(WAIT);
  await block.locator('.opblock-summary-control').click();
  await block.locator('.responses-wrapper').waitFor(WAIT);
  const text = await block.innerText();
  assert.ok(text.includes('text/plain; version=0.0.4'), 'the 200 is the Prometheus text');
  assert.ok(text.includes('timing-metrics'), 'the handler without a token is described');
  assert.ok(text.includes('timing_eventd_up'), 'the metric names are listed');
  assert.deepEqual(page.foreign, []);
  assert.deepEqual(unexpectedProblems(page), []);
  await page.context().close();
});

test('without its viewer files the page says to run make web', async () => {
  const page = await docsPage();
  // As on a checkout where scripts/build-web.sh has not run.
  await page.route(/\/api-docs\/(vendor\/.*|timing\.postman_collection\.json)$/,
    (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' }));
  await page.goto('/api-docs/');
  const status = page.locator('#status.problem');
  await status.waitFor(WAIT);
  assert.match(await status.innerText(), /run make web/);
  await page.waitForFunction(() => !document.getElementById('postman-link').hasAttribute('href'), null, WAIT);
  assert.match(await page.locator('#postman-note').innerText(), /make web/);
  await screenshot(page, 'api-docs-not-built');
  // The browser reports the missing files itself; nothing else may fail.
  assert.deepEqual(unexpectedProblems(page, [/Failed to load resource: .*404/]), []);
  await page.context().close();
});
