// The Recordings page: what a device (an NVR, or a camera's SD card) recorded on one channel on one day, drawn as
// a 24-hour timeline, played back through the gateway with pause, speed and seek, and downloaded as MP4.
//
// The device answers RecordInfo (the gateway assembles every page); a click on the timeline or on a row starts a
// playback from that moment to the end of that recording (POST .../playback -> a stream played by the same
// player window as the live view). Seeking inside the running playback's range is an in-dialog seek (the device
// keeps the session); outside it, a new playback. Times are the device's local time, as GB28181 devices keep
// them, and are shown and sent as "YYYY-MM-DDTHH:MM:SS" without a zone.

import { gateway } from './api.js';
import { describeError, t } from './i18n.js';
import { PlayerWindow } from './player.js';
import { isPlayable } from './tree.js';
import { formatBytes, h, setChildren, toast } from './util.js';

const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];
const POLL_MS = 1000;
const DAY_S = 86400;

const pad = (n) => String(n).padStart(2, '0');
/** Local "YYYY-MM-DDTHH:MM:SS" of a Date. */
function localIso(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
    `${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
/** Seconds since the day's midnight of a device time string (the date part is the page's day). */
function secondOfDay(text, dayStart) {
  const d = new Date(String(text).replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? null : Math.round((d.getTime() - dayStart.getTime()) / 1000);
}

export class RecordsPage {
  constructor(root) {
    this.root = root;
    this.devices = [];
    this.channels = [];
    this.records = [];
    this.complete = true;
    this.day = new Date();
    this.day.setHours(0, 0, 0, 0);
    this.playback = null; // {stream, start: Date, end: Date, speed, paused}
    this.downloads = [];
    this.timer = null;
    this.searching = false;
    this.error = '';
    this._build();
  }

  _build() {
    this.deviceSelect = h('select', { 'aria-label': t('records.device'), onchange: () => this._loadChannels() });
    this.channelSelect = h('select', { 'aria-label': t('records.channel') });
    this.dateInput = h('input', { type: 'date', 'aria-label': t('records.date'), value: localIso(this.day).slice(0, 10) });
    this.searchButton = h('button', { class: 'btn primary', type: 'button', onclick: () => this.search() });
    this.noteEl = h('span', { class: 'muted small records-note' });
    this.timeline = h('div', { class: 'timeline', role: 'slider', 'aria-valuemin': '0', 'aria-valuemax': String(DAY_S),
      onclick: (e) => this._timelineClick(e) });
    this.table = h('table', { class: 'streams records-table' });
    this.player = new PlayerWindow(100, () => {});
    this.player.el.classList.add('records-player');
    this.controls = h('div', { class: 'playback-controls' });
    this.downloadsEl = h('div', { class: 'downloads' });
    setChildren(this.root,
      h('div', { class: 'page-head records-head' }, h('h2', { dataset: { i18n: 'records.title' } }),
        this.deviceSelect, this.channelSelect, this.dateInput, this.searchButton, this.noteEl),
      h('div', { class: 'records-body' },
        h('div', { class: 'records-left' }, this.timeline, h('div', { class: 'table-wrap' }, this.table)),
        h('div', { class: 'records-right' }, this.player.el, this.controls, this.downloadsEl)));
    this.relabel();
  }

  async show() {
    if (!this.devices.length) await this._loadDevices();
    this._poll();
    clearInterval(this.timer);
    this.timer = setInterval(() => this._poll(), POLL_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async _loadDevices() {
    try {
      const data = await gateway.devices();
      this.devices = ((data && data.devices) || []).filter((d) => d.online);
    } catch (error) {
      this.error = describeError(error);
    }
    const current = this.deviceSelect.value;
    setChildren(this.deviceSelect, this.devices.map((d) => h('option', { value: d.id },
      `${d.name || d.device_name || d.id} (${d.id})`)));
    if (current && this.devices.some((d) => d.id === current)) this.deviceSelect.value = current;
    await this._loadChannels();
  }

  async _loadChannels() {
    const deviceId = this.deviceSelect.value;
    this.channels = [];
    if (deviceId) {
      try {
        const data = await gateway.channels(deviceId);
        this.channels = ((data && data.channels) || []).filter(isPlayable); // cameras, not groups or areas
      } catch (error) {
        this.error = describeError(error);
      }
    }
    setChildren(this.channelSelect, this.channels.map((c) => h('option', { value: c.id }, `${c.name || c.id}`)));
    this.renderNote();
  }

  /** Selects a device and channel from outside (the live view's channel). */
  async select(deviceId, channelId) {
    if (!this.devices.some((d) => d.id === deviceId)) await this._loadDevices();
    this.deviceSelect.value = deviceId;
    await this._loadChannels();
    if (channelId) this.channelSelect.value = channelId;
  }

  async search() {
    const deviceId = this.deviceSelect.value;
    const channelId = this.channelSelect.value;
    if (!deviceId || !channelId || this.searching) return;
    const day = new Date(`${this.dateInput.value}T00:00:00`);
    if (Number.isNaN(day.getTime())) return;
    this.day = day;
    const end = new Date(day.getTime() + (DAY_S - 1) * 1000);
    this.searching = true;
    this.error = '';
    this.records = [];
    this.renderNote();
    try {
      const data = await gateway.records(deviceId, channelId, localIso(day), localIso(end));
      this.records = (data && data.records) || [];
      this.complete = !data || data.complete !== false;
    } catch (error) {
      this.error = describeError(error);
    }
    this.searching = false;
    this.query = { deviceId, channelId };
    this.renderTimeline();
    this.renderTable();
    this.renderNote();
  }

  _timelineClick(e) {
    const rect = this.timeline.getBoundingClientRect();
    const second = Math.round(((e.clientX - rect.left) / rect.width) * DAY_S);
    const at = new Date(this.day.getTime() + second * 1000);
    const pb = this.playback;
    if (pb && at >= pb.start && at < pb.end) {
      this.seek((at - pb.start) / 1000);
      return;
    }
    const record = this.records.find((r) => {
      const s = secondOfDay(r.start, this.day);
      const en = secondOfDay(r.end, this.day);
      return s !== null && en !== null && second >= s && second < en;
    });
    if (record) this.play(at, new Date(String(record.end).replace(' ', 'T')));
  }

  async play(start, end) {
    if (!this.query) return;
    const { deviceId, channelId } = this.query;
    this.player.close();
    this.playback = null;
    this.renderControls();
    let reply;
    try {
      reply = await gateway.playback(deviceId, channelId, { start: localIso(start), end: localIso(end) });
    } catch (error) {
      toast(describeError(error), 'error');
      return;
    }
    this.playback = { stream: reply.stream, start, end, speed: 1, paused: false, position: 0 };
    this.player.playStream({ streamId: reply.stream, name: `${channelId} ${localIso(start).slice(11)}` }, 'flv');
    this.renderControls();
    this.renderTimeline();
  }

  async _control(body) {
    const pb = this.playback;
    if (!pb) return;
    try {
      const reply = await gateway.playbackControl(pb.stream, body);
      const state = (reply && (reply.playback || reply)) || {};
      if (state.speed !== undefined) pb.speed = state.speed;
      if (state.paused !== undefined) pb.paused = state.paused;
    } catch (error) {
      toast(describeError(error), 'error');
    }
    this.renderControls();
  }

  pause() { return this._control({ action: this.playback && this.playback.paused ? 'resume' : 'pause' }); }
  speed(value) { return this._control({ action: 'speed', speed: value }); }
  seek(seconds) { return this._control({ action: 'seek', position: Math.max(0, Math.round(seconds)) }); }

  async download(record) {
    if (!this.query) return;
    try {
      await gateway.download(this.query.deviceId, this.query.channelId,
        { start: String(record.start).replace(' ', 'T'), end: String(record.end).replace(' ', 'T'), speed: 4 });
      toast(t('records.downloadStarted'));
    } catch (error) {
      toast(describeError(error), 'error');
    }
    this._poll();
  }

  async _poll() {
    try {
      const data = await gateway.downloads();
      this.downloads = (data && data.downloads) || [];
    } catch (error) { /* the list stays as it was */ }
    const pb = this.playback;
    if (pb) {
      try {
        const s = await gateway.stream(pb.stream);
        const state = (s && s.playback) || {};
        if (state.position_s !== undefined) pb.position = state.position_s;
        if (state.speed !== undefined) pb.speed = state.speed;
        if (state.paused !== undefined) pb.paused = state.paused;
      } catch (error) {
        if (error.status === 404) this.playback = null; // ended (end of the range, stop, device gone)
      }
      this.renderControls();
      this.renderTimeline();
    }
    this.renderDownloads();
  }

  relabel() {
    this.searchButton.textContent = t('records.search');
    this.root.querySelector('[data-i18n="records.title"]').textContent = t('records.title');
    this.renderNote();
    this.renderTimeline();
    this.renderTable();
    this.renderControls();
    this.renderDownloads();
    this.player.relabel();
  }

  renderNote() {
    let text = '';
    if (this.searching) text = t('records.searching');
    else if (this.error) text = this.error;
    else if (this.query) text = t(this.complete ? 'records.count' : 'records.partial', { n: this.records.length });
    else if (!this.devices.length) text = t('records.noDevices');
    this.noteEl.textContent = text;
    this.noteEl.classList.toggle('error', Boolean(this.error));
  }

  renderTimeline() {
    const ticks = [];
    for (let hour = 0; hour <= 24; hour += 3) {
      ticks.push(h('span', { class: 'tick', style: `left:${(hour / 24) * 100}%` }, `${pad(hour)}:00`));
    }
    const segments = this.records.map((r, i) => {
      const s = Math.max(0, secondOfDay(r.start, this.day) ?? 0);
      const e = Math.min(DAY_S, secondOfDay(r.end, this.day) ?? 0);
      if (e <= s) return null;
      return h('div', { class: `segment segment-${r.type || 'time'}`, dataset: { index: String(i) },
        style: `left:${(s / DAY_S) * 100}%;width:${Math.max(0.2, ((e - s) / DAY_S) * 100)}%`,
        title: `${r.start} – ${r.end} ${r.type || ''}` });
    });
    const pb = this.playback;
    let cursor = null;
    if (pb) {
      const at = (pb.start - this.day) / 1000 + (pb.position || 0);
      if (at >= 0 && at <= DAY_S) cursor = h('div', { class: 'cursor', style: `left:${(at / DAY_S) * 100}%` });
    }
    setChildren(this.timeline, h('div', { class: 'track' }, segments, cursor), h('div', { class: 'ticks' }, ticks));
    this.timeline.dataset.segments = String(segments.filter(Boolean).length);
  }

  renderTable() {
    const head = h('thead', {}, h('tr', {}, ['records.col.start', 'records.col.end', 'records.col.type',
      'records.col.size', 'records.col.actions'].map((k) => h('th', {}, t(k)))));
    const rows = this.records.map((r) => h('tr', {},
      h('td', { class: 'mono' }, String(r.start).replace('T', ' ')),
      h('td', { class: 'mono' }, String(r.end).replace('T', ' ')),
      h('td', {}, r.type || ''),
      h('td', { class: 'num' }, r.file_size > 0 ? formatBytes(r.file_size) : ''),
      h('td', {},
        h('button', { class: 'btn', type: 'button', dataset: { role: 'play' },
          onclick: () => this.play(new Date(String(r.start).replace(' ', 'T')),
            new Date(String(r.end).replace(' ', 'T'))) }, t('records.play')),
        h('button', { class: 'btn', type: 'button', dataset: { role: 'download' }, onclick: () => this.download(r) },
          t('records.download')))));
    setChildren(this.table, head, h('tbody', {}, rows));
  }

  renderControls() {
    const pb = this.playback;
    if (!pb) {
      setChildren(this.controls, h('span', { class: 'muted small' }, t('records.pickHint')));
      return;
    }
    const total = Math.round((pb.end - pb.start) / 1000);
    const speeds = h('div', { class: 'segmented' }, SPEEDS.map((s) => h('button', { type: 'button',
      'aria-pressed': String(s === pb.speed), dataset: { speed: String(s) }, onclick: () => this.speed(s) }, `${s}×`)));
    setChildren(this.controls,
      h('button', { class: 'btn', type: 'button', dataset: { role: 'pause' }, onclick: () => this.pause() },
        t(pb.paused ? 'records.resume' : 'records.pause')),
      speeds,
      h('span', { class: 'mono small playback-position' }, `${formatSpan(pb.position || 0)} / ${formatSpan(total)}`),
      h('button', { class: 'btn danger', type: 'button', onclick: () => {
        gateway.stopStream(pb.stream).catch(() => {});
        this.playback = null;
        this.player.close();
        this.renderControls();
      } }, t('common.stop')));
    this.controls.dataset.paused = String(pb.paused);
    this.controls.dataset.speed = String(pb.speed);
  }

  renderDownloads() {
    if (!this.downloads.length) {
      setChildren(this.downloadsEl);
      return;
    }
    setChildren(this.downloadsEl, h('h3', {}, t('records.downloads')), this.downloads.map((d) => h('div', {
      class: 'download', dataset: { state: d.state || '' } },
    h('span', { class: 'mono small' }, `${String(d.start || '').replace('T', ' ')} – ${String(d.end || '').slice(11)}`),
    h('progress', { max: '1', value: String(d.progress || 0) }),
    d.state === 'done' && d.url
      ? h('a', { class: 'btn', href: d.url, download: '' }, t('records.save'))
      : h('span', { class: 'small muted' }, t(`records.state.${d.state || 'downloading'}`)),
    h('button', { class: 'icon-btn danger', type: 'button', title: t('common.delete'),
      onclick: () => gateway.deleteDownload(d.id).then(() => this._poll(), (e) => toast(describeError(e), 'error')) },
    '×'))));
  }
}

function formatSpan(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
