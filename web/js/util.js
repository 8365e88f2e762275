// Small DOM and formatting helpers shared by every page of the console.
// Device and channel names come from the devices themselves (any text a camera sends), so the console never
// builds HTML from data: h() creates elements and sets text through textContent only.

/** Creates an element: h('div', {class: 'x', onclick: fn, dataset: {k: v}}, child, 'text', [more]). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  appendChildren(el, children);
  return el;
}

/** Replaces el's children, skipping null/false/undefined like h() does (replaceChildren would print "null"). */
export function setChildren(el, ...children) {
  el.replaceChildren();
  appendChildren(el, children);
}

function appendChildren(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) appendChildren(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';
// Icons as SVG paths (24x24, stroked) so the console needs no icon font and no emoji font on the viewer's machine.
const ICON_PATHS = {
  refresh: 'M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7',
  trash: 'M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13',
  close: 'M6 6l12 12M18 6L6 18',
  play: 'M8 5v14l11-7z',
  stop: 'M6 6h12v12H6z',
  copy: 'M9 9h11v11H9zM5 15H4V4h11v1',
  volume: 'M4 9v6h4l5 4V5L8 9zM16 8a5 5 0 0 1 0 8',
  mute: 'M4 9v6h4l5 4V5L8 9zM16 9l5 6M21 9l-5 6',
  expand: 'M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5',
  chevron: 'M9 6l6 6-6 6',
  key: 'M14 10a4 4 0 1 0-3.5 4L12 16h2v2h2v2h4v-4l-6-6',
  search: 'M11 18a7 7 0 1 1 0-14 7 7 0 0 1 0 14zM16 16l5 5',
  camera: 'M3 7h12v10H3zM15 10l6-3v10l-6-3',
  folder: 'M3 6h6l2 2h10v11H3z',
};

export function icon(name, cls) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon' + (cls ? ' ' + cls : ''));
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', ICON_PATHS[name] || '');
  svg.append(path);
  return svg;
}

/** "2026-11-24T09:30:15Z" -> local "2026-11-24 17:30:15" (or '' for null). */
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Seconds since an ISO time (null when there is none). */
export function secondsSince(iso) {
  if (!iso) return null;
  const t = new Date(iso).getTime();
  return Number.isNaN(t) ? null : Math.max(0, Math.round((Date.now() - t) / 1000));
}

export function formatBitrate(kbps) {
  if (kbps === undefined || kbps === null) return '';
  return kbps >= 10000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
}

export function formatBytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** Packet loss of a stream's stats in percent of the packets expected (received + lost). */
export function lossPercent(stats) {
  const lost = stats.packets_lost || 0;
  const expected = (stats.packets || 0) + lost;
  return expected ? (100 * lost) / expected : 0;
}

const CODEC_NAMES = { h264: 'H.264', h265: 'H.265', aac: 'AAC', g711a: 'G.711A', g711u: 'G.711U', mp3: 'MP3' };
export function codecName(codec) {
  return codec ? CODEC_NAMES[codec] || String(codec).toUpperCase() : '';
}

/** "G.711A → AAC" when viewers get the audio transcoded (the stream JSON's audio.viewer_codec), else the codec. */
export function audioCodecName(audio) {
  if (!audio) return '';
  const out = audio.viewer_codec && audio.viewer_codec !== audio.codec ? ` → ${codecName(audio.viewer_codec)}` : '';
  return codecName(audio.codec) + out;
}

/** Copies text to the clipboard; falls back to a hidden textarea where the async API is not allowed (plain
 * http from another host is not a secure context). */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall back below */ }
  }
  const area = h('textarea', { class: 'offscreen', readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
  area.remove();
  return ok;
}

/** True when the page was opened through a loopback address (the gateway then needs no API token). */
export function isLoopbackHost(hostname) {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host.endsWith('.localhost');
}

/** A short-lived message at the bottom of the screen. */
export function toast(text, kind) {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const item = h('div', { class: 'toast' + (kind ? ' toast-' + kind : '') }, text);
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 6000 : 3000);
}
