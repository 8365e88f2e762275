// The live-view grid: 1, 4 or 9 player windows, which one is selected, and where the next channel goes.
// A click on a channel fills the selected window when it is free, else the first free window after it, else
// replaces the selected one; the selection then moves on, so clicking down a channel list fills the grid in
// order. Shrinking the layout closes the windows that disappear (a hidden player would still cost bandwidth).

import { PlayerWindow } from './player.js';

const LAYOUTS = [1, 4, 9];
const SETTINGS_KEY = 'gbgate.live';

export class Grid {
  /** onSelection(window) runs when the selected window or what it plays changes (the PTZ panel follows it). */
  constructor(container, onSelection) {
    this.container = container;
    this.onSelection = onSelection || (() => {});
    this.windows = [];
    const saved = loadSettings();
    this.layout = LAYOUTS.includes(saved.layout) ? saved.layout : 4;
    this.protocol = saved.protocol === 'ws-flv' ? 'ws-flv' : 'flv';
    this.selected = 0;
    for (let i = 0; i < 9; i++) this.windows.push(new PlayerWindow(i, (w) => this.select(w.index)));
    this.container.replaceChildren(...this.windows.map((w) => w.el));
    this.setLayout(this.layout);
    this.select(0);
  }

  setLayout(count) {
    if (!LAYOUTS.includes(count)) return;
    this.layout = count;
    this.container.className = `grid grid-${count}`;
    this.windows.forEach((w, i) => {
      const visible = i < count;
      if (!visible && w.busy) w.close();
      w.el.hidden = !visible;
    });
    if (this.selected >= count) this.select(0);
    saveSettings({ layout: this.layout, protocol: this.protocol });
  }

  setProtocol(protocol) {
    this.protocol = protocol === 'ws-flv' ? 'ws-flv' : 'flv';
    saveSettings({ layout: this.layout, protocol: this.protocol });
  }

  select(index) {
    this.selected = index;
    this.windows.forEach((w, i) => w.el.classList.toggle('selected', i === index));
    this.onSelection(this.windows[index]);
  }

  /** The window the next play goes to (see the top of the file), and the selection moved past it. */
  _target() {
    const count = this.layout;
    let target = this.windows[this.selected];
    if (target.busy) {
      for (let step = 1; step < count; step++) {
        const w = this.windows[(this.selected + step) % count];
        if (!w.busy) { target = w; break; }
      }
    }
    this.select((target.index + 1) % count);
    return target;
  }

  playChannel(source) {
    const existing = this.windows.find((w, i) => i < this.layout && w.source && w.source.kind === 'channel' &&
      w.source.deviceId === source.deviceId && w.source.channelId === source.channelId);
    // A channel already on screen is not opened twice; a failed one is retried in place.
    if (existing) {
      if (existing.el.dataset.state === 'message') existing.retry();
      this.select(existing.index);
      return existing;
    }
    const w = this._target();
    w.playChannel(source, this.protocol);
    this.onSelection(w);
    return w;
  }

  playStream(source) {
    const existing = this.windows.find((w, i) => i < this.layout && w.source && w.source.kind === 'stream' &&
      w.source.streamId === source.streamId);
    if (existing) {
      if (existing.el.dataset.state === 'message') existing.retry();
      return existing;
    }
    const w = this._target();
    w.playStream(source, this.protocol);
    return w;
  }

  closeAll() {
    for (const w of this.windows) if (w.busy) w.close();
    this.select(0);
  }

  relabel() {
    for (const w of this.windows) w.relabel();
  }
}

function loadSettings() {
  try { return JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}') || {}; } catch (e) { return {}; }
}

function saveSettings(settings) {
  try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings)); } catch (e) { /* not kept: fine */ }
}

/** Segmented buttons (1 | 4 | 9, HTTP-FLV | WS-FLV) bound to the grid. */
export function bindToolbar(grid, layoutBox, protocolBox, closeAllButton) {
  const mark = () => {
    for (const b of layoutBox.querySelectorAll('button')) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.layout) === grid.layout));
    }
    for (const b of protocolBox.querySelectorAll('button')) {
      b.setAttribute('aria-pressed', String(b.dataset.protocol === grid.protocol));
    }
  };
  layoutBox.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-layout]');
    if (b) { grid.setLayout(Number(b.dataset.layout)); mark(); }
  });
  protocolBox.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-protocol]');
    if (b) { grid.setProtocol(b.dataset.protocol); mark(); }
  });
  closeAllButton.addEventListener('click', () => grid.closeAll());
  mark();
}
