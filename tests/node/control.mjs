// SPDX-License-Identifier: Apache-2.0
// The Node side of tests/integration/node_bridge.py: ask the test harness
// to act on the stack (e.g. 'restart-eventd') and wait until it has.
import readline from 'node:readline';

let lines = null;
const waiting = [];

export function control(command) {
  if (!lines) {
    process.stdin.ref();
    lines = readline.createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      const answer = waiting.shift();
      if (waiting.length === 0) {
        // Nothing more to wait for: stdin must not keep the script alive.
        lines.close();
        lines = null;
        process.stdin.pause();
        process.stdin.unref();
      }
      if (answer) answer(line);
    });
  }
  return new Promise((resolve, reject) => {
    waiting.push((line) => (line === 'ok' ? resolve()
      : reject(new Error(`harness: ${line}`))));
    process.stdout.write(`@control ${command}\n`);
  });
}
