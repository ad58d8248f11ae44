#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// postman.mjs -- writes a Postman collection (format v2.1) with one request
// per operation of Timing's OpenAPI 3.1 document:
//
//   node tools/web/postman.mjs web/api-docs/openapi.json out.json
//
// Written here rather than with Postman's openapi-to-postmanv2, whose
// samples ignore 3.1's `const` ("success": "") and spell 3.1's nullable
// types as "<string,null>".  Plain Node 18, no dependencies.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

const SCHEMA = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const DEFAULT_BASE = 'http://localhost:8000';

// What a response hands to later requests, kept as collection variables:
// log in once and every request carries the token; place an order and the
// order requests open it.
const CAPTURE = {
  login: { token: 'token' },
  register: { token: 'token' },
  createOrder: { order_id: 'id', tracking_token: 'tracking_token' },
};

function fail(message) {
  process.stderr.write(`postman.mjs: ${message}\n`);
  process.exit(1);
}

function resolver(doc) {
  const resolve = (ref) => {
    if (!ref.startsWith('#/')) fail(`only local $ref are supported: ${ref}`);
    let node = doc;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (node === null || typeof node !== 'object' || !(key in node)) fail(`dangling $ref ${ref}`);
      node = node[key];
    }
    return node;
  };
  return function deref(node, seen = new Set()) {
    while (node && typeof node === 'object' && typeof node.$ref === 'string') {
      if (seen.has(node.$ref)) fail(`$ref loop at ${node.$ref}`);
      seen.add(node.$ref);
      node = resolve(node.$ref);
    }
    return node;
  };
}

// A value that fits the schema, for a request body or a parameter: the
// document's own example, const, default or first enum value when it has
// one; otherwise a placeholder of the right type.
function sampler(deref) {
  const FORMATS = { email: 'user@example.com', date: '2026-01-31',
    'date-time': '2026-01-31T09:00:00.000Z' };
  const sample = (schema0, name, depth = 0) => {
    const schema = deref(schema0) || {};
    if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
    if ('example' in schema) return schema.example;
    if ('const' in schema) return schema.const;
    if ('default' in schema) return schema.default;
    if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
    if (depth > 8) return null;
    if (schema.allOf) {
      const merged = { type: 'object', properties: {}, required: [] };
      for (const part0 of schema.allOf) {
        const part = deref(part0) || {};
        Object.assign(merged.properties, part.properties || {});
        merged.required.push(...(part.required || []));
      }
      return sample(merged, name, depth + 1);
    }
    const alternatives = schema.oneOf || schema.anyOf;
    if (alternatives && alternatives.length) return sample(alternatives[0], name, depth + 1);
    const types = [].concat(schema.type || (schema.properties ? 'object' : 'string'));
    const type = types.find((t) => t !== 'null') || 'null';
    switch (type) {
      case 'object': {
        // Required fields, and optional ones with a default: a body that
        // can be sent as it is.  With none required, the first field, so a
        // partial update changes one thing.
        const props = schema.properties || {};
        const required = new Set(schema.required || []);
        let keys = Object.keys(props).filter((k) => required.has(k) || 'default' in (deref(props[k]) || {}));
        if (!keys.length) keys = Object.keys(props).slice(0, 1);
        return Object.fromEntries(keys.map((k) => [k, sample(props[k], k, depth + 1)]));
      }
      case 'array': {
        const n = Math.max(1, schema.minItems || 0);
        return Array.from({ length: n }, () => sample(schema.items, name, depth + 1));
      }
      case 'integer':
      case 'number': {
        let n = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
        if (schema.maximum !== undefined) n = Math.min(n, schema.maximum);
        return n;
      }
      case 'boolean': return true;
      case 'null': return null;
      default: {
        let s = FORMATS[schema.format] || `<${name || 'string'}>`;
        if (schema.minLength && s.length < schema.minLength) s = s.padEnd(schema.minLength, 'x');
        if (schema.maxLength !== undefined && s.length > schema.maxLength) s = s.slice(0, schema.maxLength);
        return s;
      }
    }
  };
  return sample;
}

const text = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

// A stable id, so a re-imported collection replaces the previous import.
function stableId(seed) {
  const h = crypto.createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function baseUrl(doc) {
  const absolute = (doc.servers || []).map((s) => s.url).find((u) => /^https?:\/\//.test(u || ''));
  return (absolute || DEFAULT_BASE).replace(/\/+$/, '');
}

function describe(op, deref) {
  const parts = [];
  if (op.description) parts.push(op.description);
  if (op['x-timing-who']) parts.push(`**Who:** ${op['x-timing-who']}`);
  const answers = Object.entries(op.responses || {}).map(([status, r]) =>
    `- ${status}: ${(deref(r) || {}).description || ''}`);
  if (answers.length) parts.push(`**Answers:**\n${answers.join('\n')}`);
  return parts.join('\n\n');
}

function captureScript(fields) {
  const lines = ['// Keeps what later requests of this collection use.',
    'const body = pm.response.json();',
    'if (body && body.success && body.data) {'];
  for (const [variable, field] of Object.entries(fields)) {
    lines.push(`  if (body.data.${field} !== undefined) pm.collectionVariables.set('${variable}', String(body.data.${field}));`);
  }
  lines.push('}');
  return [{ listen: 'test', script: { type: 'text/javascript', exec: lines } }];
}

function request(doc, deref, sample, path, method, item, op) {
  const params = [...(item.parameters || []), ...(op.parameters || [])].map((p) => deref(p));
  const value = (p) => {
    if ('example' in p) return text(p.example);
    return text(sample(p.schema, p.name));
  };
  const segments = path.split('/').filter(Boolean);
  const variable = [];
  const urlPath = segments.map((seg, i) => {
    const m = /^\{(\w+)\}$/.exec(seg);
    if (!m) return seg;
    const p = params.find((q) => q.in === 'path' && q.name === m[1]) || { name: m[1] };
    // An order's id comes from the last order placed with this collection.
    const v = segments[i - 1] === 'orders' ? '{{order_id}}' : value(p);
    variable.push({ key: m[1], value: v, description: p.description || '' });
    return `:${m[1]}`;
  });
  // Optional parameters are listed but off, so the request sends what the
  // operation needs and nothing else until one is switched on.
  const query = params.filter((p) => p.in === 'query').map((p) => ({
    key: p.name,
    value: p.name === 'tracking_token' ? '{{tracking_token}}' : value(p),
    disabled: !p.required,
    description: p.description || '',
  }));
  const header = params.filter((p) => p.in === 'header').map((p) => ({
    key: p.name,
    value: p.name === 'Idempotency-Key' ? '{{$guid}}' : value(p),
    disabled: !p.required,
    description: p.description || '',
  }));
  const enabled = query.filter((q) => !q.disabled).map((q) => `${q.key}=${q.value}`);
  const url = {
    raw: `{{baseUrl}}/${urlPath.join('/')}${enabled.length ? `?${enabled.join('&')}` : ''}`,
    host: ['{{baseUrl}}'],
    path: urlPath,
  };
  if (query.length) url.query = query;
  if (variable.length) url.variable = variable;

  // A success that is not JSON (GET /api/admin/metrics: Prometheus text)
  // asks for its own media type, so Postman shows what comes back.
  const success = Object.entries(op.responses || {}).find(([status]) => /^2/.test(status));
  const types = Object.keys((success && (deref(success[1]) || {}).content) || {});
  if (types.length && !types.includes('application/json')) {
    header.push({ key: 'Accept', value: types[0], description: 'What this operation answers.' });
  }
  const req = { method: method.toUpperCase(), header, url, description: describe(op, deref) };
  const body = op.requestBody && deref(op.requestBody);
  const json = body && body.content && body.content['application/json'];
  if (json) {
    const examples = json.examples && Object.values(json.examples).map((e) => deref(e));
    const payload = 'example' in json ? json.example
      : examples && examples.length ? examples[0].value : sample(json.schema, null);
    header.push({ key: 'Content-Type', value: 'application/json' });
    req.body = { mode: 'raw', raw: JSON.stringify(payload, null, 2),
      options: { raw: { language: 'json' } } };
  }
  // An operation open to anyone is sent without the token: a token that has
  // expired would turn it into a 401.  The others inherit the collection's.
  const security = op.security || doc.security || [];
  if (!security.length || Object.keys(security[0]).length === 0) req.auth = { type: 'noauth' };

  const entry = { name: op.summary || op.operationId || `${method.toUpperCase()} ${path}`, request: req, response: [] };
  if (CAPTURE[op.operationId]) entry.event = captureScript(CAPTURE[op.operationId]);
  return entry;
}

export function collection(doc) {
  if (!doc || typeof doc !== 'object' || !/^3\./.test(String(doc.openapi))) fail('not an OpenAPI 3 document');
  if (!doc.paths || !Object.keys(doc.paths).length) fail('the document lists no paths');
  const deref = resolver(doc);
  const sample = sampler(deref);
  // Folders by first tag, in the document's tag order.
  const setters = {};
  const setBy = (v) => (setters[v] ? `; set by ${setters[v].map((n) => `"${n}"`).join(' and ')}` : '');
  const folders = new Map((doc.tags || []).map((t) => [t.name, { name: t.name, description: t.description || '', item: [] }]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || 'Other';
      if (!folders.has(tag)) folders.set(tag, { name: tag, description: '', item: [] });
      const entry = request(doc, deref, sample, path, method, item, op);
      for (const v of Object.keys(CAPTURE[op.operationId] || {})) (setters[v] ||= []).push(entry.name);
      folders.get(tag).item.push(entry);
    }
  }
  return {
    info: {
      _postman_id: stableId(`timing-postman:${doc.info.title}`),
      name: doc.info.title,
      description: doc.info.description || '',
      version: String(doc.info.version || ''),
      schema: SCHEMA,
    },
    item: [...folders.values()].filter((f) => f.item.length),
    auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{token}}', type: 'string' }] },
    variable: [
      { key: 'baseUrl', value: baseUrl(doc), type: 'string', description: 'Where Timing runs (make run: http://localhost:8000).' },
      { key: 'token', value: '', type: 'string', description: `A JWT${setBy('token')}.` },
      { key: 'order_id', value: '1', type: 'string', description: `The order the order requests open${setBy('order_id')}.` },
      { key: 'tracking_token', value: '', type: 'string', description: `That order's tracking token${setBy('tracking_token')}.` },
    ],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  const [src, dest] = process.argv.slice(2);
  if (!src || !dest) fail('usage: node postman.mjs <openapi.json> <collection.json>');
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(src, 'utf8'));
  } catch (e) {
    fail(`cannot read ${src}: ${e.message}`);
  }
  const out = JSON.stringify(collection(doc), null, 2) + '\n';
  // Through a temporary file: Apache may be serving the old one.
  fs.writeFileSync(`${dest}.tmp`, out);
  fs.renameSync(`${dest}.tmp`, dest);
}
