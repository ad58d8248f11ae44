// SPDX-License-Identifier: Apache-2.0
// The new-order chime: two soft notes made with the Web Audio API (no audio
// files, works offline).  Browsers only let audio start after a user
// gesture, so the AudioContext is created or resumed from one (the login
// click, or any tap on the page later).  Muting is remembered per tablet.

const MUTE_KEY = 'timing.dashboard.muted';

export class Chime {
  constructor(storage = globalThis.localStorage) {
    this.storage = storage;
    this.ctx = null;
    this.listeners = new Set();
  }

  get muted() {
    try { return this.storage?.getItem(MUTE_KEY) === '1'; } catch { return false; }
  }

  set muted(value) {
    try {
      if (value) this.storage?.setItem(MUTE_KEY, '1');
      else this.storage?.removeItem(MUTE_KEY);
    } catch { /* private mode: the choice lasts for this page only */ }
    this.changed();
  }

  /** True once audio may play (a gesture has unlocked it). */
  get ready() {
    return this.ctx !== null && this.ctx.state === 'running';
  }

  /** Call from a user gesture: creates or resumes the AudioContext. */
  unlock() {
    const AC = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!AC) return;
    if (!this.ctx) {
      this.ctx = new AC();
      this.ctx.onstatechange = () => this.changed();
    }
    if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
    this.changed();
  }

  /** Plays the chime unless muted; true when it was played. */
  play() {
    if (this.muted || !this.ready) return false;
    const ctx = this.ctx;
    const start = ctx.currentTime + 0.02;
    // E6 then B5: bright enough to cut through a kitchen, short and soft.
    this.note(1318.5, start, 0.28);
    this.note(987.8, start + 0.18, 0.45);
    return true;
  }

  note(freq, at, length) {
    const ctx = this.ctx;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(freq, at);
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.35, at + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + length + 0.05);
  }

  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    for (const l of this.listeners) l(this);
  }
}
