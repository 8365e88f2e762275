// The Streams page: every stream the gateway runs (API receivers and GB28181 sessions) with its stats, its
// HTTP-FLV / WS-FLV / RTMP URLs to copy into another player, a button to watch it in the live view and one to
// stop it. Polled every 2 s while the page is visible. Rows are keyed by stream ID and only their stats cells
// are rebuilt on a poll, so an address the user is selecting in a URL box is not wiped under the mouse.

import { gateway } from './api.js';
import { confirmDialog } from './dialog.js';
import { describeError, t } from './i18n.js';
import {
  audioCodecName, codecName, copyText, formatBitrate, formatBytes, formatTime, h, icon, lossPercent, setChildren, toast,
} from './util.js';

const POLL_MS = 2000;

export class StreamsPage {
  constructor(table, countEl, onPlay, namesFor) {
    this.table = table;
    this.body = table.querySelector('tbody');
    this.countEl = countEl;
    this.onPlay = onPlay;
    this.namesFor = namesFor; // stream ID -> {device, channel} names of a GB28181 session, or null
    this.rows = new Map(); // id -> {tr, cells: {...}, urlsKey}
    this.streams = [];
    this.error = null;
    this.timer = null;
    this.noteRow = h('tr', { class: 'note-row' }, h('td', { colspan: '6' }));
  }

  show() {
    this.refresh();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), POLL_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async refresh() {
    try {
      const data = await gateway.streams();
      this.streams = ((data && data.streams) || []).slice().sort((a, b) => a.id.localeCompare(b.id));
      this.error = null;
    } catch (error) {
      this.error = error;
    }
    this.render();
  }

  /** Full re-render (language switch) */
  relabel() {
    this.rows.clear();
    this.body.replaceChildren();
    this.render();
  }

  render() {
    this.countEl.textContent = t('streams.count', { n: this.streams.length });
    const seen = new Set();
    const ordered = [];
    for (const s of this.streams) {
      seen.add(s.id);
      let row = this.rows.get(s.id);
      if (!row) {
        row = this._newRow(s);
        this.rows.set(s.id, row);
      }
      this._fillRow(row, s);
      ordered.push(row.tr);
    }
    for (const id of [...this.rows.keys()]) if (!seen.has(id)) this.rows.delete(id);
    const note = this.error
      ? t('streams.loadFailed', { msg: describeError(this.error) })
      : this.streams.length === 0 ? t('streams.empty') : '';
    this.noteRow.firstChild.textContent = note;
    this.noteRow.classList.toggle('error', Boolean(this.error));
    // Rows are only re-inserted when the set or order changed: moving a row would drop focus and selection.
    const wanted = [...(note ? [this.noteRow] : []), ...ordered];
    const current = [...this.body.children];
    if (wanted.length !== current.length || wanted.some((row, i) => row !== current[i])) {
      this.body.replaceChildren(...wanted);
    }
  }

  _newRow(s) {
    const cells = {
      stream: h('td', { class: 'col-stream' }),
      media: h('td', { class: 'col-media' }),
      traffic: h('td', { class: 'col-traffic' }),
      viewers: h('td', { class: 'col-viewers num' }),
      urls: h('td', { class: 'col-urls' }),
      actions: h('td', { class: 'col-actions' }),
    };
    cells.actions.append(
      h('button', { class: 'btn', type: 'button', dataset: { action: 'play' },
        onclick: () => {
          const names = this.namesFor(s.id);
          this.onPlay({ streamId: s.id, name: names ? names.channel : s.id });
        } }, icon('play'), h('span', {}, t('streams.play'))),
      h('button', { class: 'btn danger', type: 'button', dataset: { action: 'stop' },
        onclick: () => this._stop(s.id) }, icon('stop'), h('span', {}, t('streams.stop'))));
    const tr = h('tr', { dataset: { stream: s.id } }, ...Object.values(cells));
    return { tr, cells, urlsKey: '' };
  }

  _fillRow(row, s) {
    const { cells } = row;
    const sourceLabel = s.source === 'api' ? t('streams.source.api') : s.source ? t('streams.source.gb') : '';
    const where = `${s.transport || ''}${s.port ? ' :' + s.port : ''}${s.shared_port ? ' (shared)' : ''}`;
    const names = s.source === 'api' ? null : this.namesFor(s.id);
    setChildren(cells.stream,
      names ? h('div', { class: 'stream-name' }, names.channel, h('span', { class: 'muted' }, ` · ${names.device}`))
        : null,
      h('div', { class: 'stream-id mono' + (names ? ' small muted' : '') }, s.id),
      h('div', { class: 'small' },
        sourceLabel ? h('span', { class: 'tag', title: s.source }, sourceLabel) : null,
        h('span', { class: 'muted' }, ` ${where}`)),
      s.remote ? h('div', { class: 'small muted mono' }, t('streams.from', { addr: s.remote })) : null,
      s.started_at ? h('div', { class: 'small muted' }, t('streams.started', { time: formatTime(s.started_at) }))
        : null);

    const media = [];
    if (s.video) {
      const fps = s.video.fps ? ` ${Number(s.video.fps).toFixed(s.video.fps % 1 ? 2 : 0)} fps` : '';
      media.push(h('div', {}, h('b', {}, codecName(s.video.codec)),
        s.video.width ? ` ${s.video.width}×${s.video.height}${fps}` : fps));
    }
    if (s.audio) {
      media.push(h('div', {}, h('b', {}, audioCodecName(s.audio)),
        s.audio.sample_rate ? ` ${s.audio.sample_rate} Hz` : '', s.audio.channels > 1 ? ` ×${s.audio.channels}` : ''));
    }
    if (!s.video && !s.audio) media.push(h('div', { class: 'muted' }, t('streams.waitingMedia')));
    if (s.error) media.push(h('div', { class: 'error small' }, s.error));
    setChildren(cells.media, media);

    const loss = lossPercent(s);
    setChildren(cells.traffic,
      h('div', {}, h('b', {}, formatBitrate(s.bitrate_kbps || 0))),
      h('div', { class: 'small' + (loss >= 1 ? ' warn' : ' muted') },
        t('streams.packets', { n: s.packets || 0, lost: s.packets_lost || 0 }), loss ? ` (${loss.toFixed(1)}%)` : ''),
      s.frames_dropped ? h('div', { class: 'small warn' }, t('streams.dropped', { n: s.frames_dropped })) : null,
      s.viewer_bytes ? h('div', { class: 'small muted' }, `→ ${formatBytes(s.viewer_bytes)}`) : null);

    // viewers of every kind; RTMP players and push relays (docs/RTMP.md) listed under the count when present
    const relays = Array.isArray(s.relays) ? s.relays : [];
    setChildren(cells.viewers,
      h('div', {}, String(s.viewers || 0)),
      s.rtmp_players ? h('div', { class: 'small muted' }, t('streams.rtmpPlayers', { n: s.rtmp_players })) : null,
      ...relays.map((r) => h('div', { class: 'small ' + (r.state === 'connected' ? 'muted' : 'warn'), title: r.url || '' },
        t('streams.relay', { state: r.state || '?', reconnects: r.reconnects || 0 }))));

    const urls = s.urls || {};
    const urlsKey = `${urls.flv}|${urls.ws_flv}|${urls.rtmp}`;
    if (urlsKey !== row.urlsKey) {
      row.urlsKey = urlsKey;
      setChildren(cells.urls, [['HTTP-FLV', urls.flv], ['WS-FLV', urls.ws_flv], ['RTMP', urls.rtmp]]
        .filter(([, url]) => url)
        .map(([label, url]) => urlLine(label, url)));
    }
  }

  async _stop(id) {
    if (!(await confirmDialog(t('streams.confirmStop', { id }), 'common.stop'))) return;
    try {
      await gateway.stopStream(id);
      toast(t('streams.stoppedToast', { id }));
    } catch (error) {
      toast(`${id}: ${describeError(error)}`, 'error');
    }
    this.refresh();
  }
}

function urlLine(label, url) {
  const input = h('input', { class: 'url mono', type: 'text', readonly: true, value: url, 'aria-label': label,
    onfocus: (e) => e.target.select() });
  const button = h('button', { class: 'icon-btn', type: 'button', title: t('streams.copy'), dataset: { copy: url },
    onclick: async () => {
      const ok = await copyText(url);
      toast(ok ? t('streams.copied', { url }) : t('streams.copyFailed'), ok ? null : 'error');
    } }, icon('copy'));
  return h('div', { class: 'url-line' }, h('span', { class: 'url-label' }, label), input, button);
}
