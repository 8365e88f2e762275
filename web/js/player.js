// One window of the live-view grid: asks the gateway for a channel's stream, plays it with mpegts.js (HTTP-FLV
// or WS-FLV), shows the stream's stats from the API every 2 s, and says in words why nothing plays when it does
// not (device offline, INVITE refused, timeout, stream stopped, H.265 without a decoder) instead of leaving a
// black rectangle. Every async step carries the window's generation number: a result that comes back after the
// user closed or replaced the window is dropped, so a slow INVITE can never start a player in a reused window.
//
// State for tests and styling is mirrored on the root element: data-state (empty|starting|playing|message),
// data-message (stopped|h265|error|...), data-stream, and data-video-codec / data-audio-codec / data-has-audio
// from mpegts.js' media info.

import { ApiError, gateway, liveUrl } from './api.js';
import { describeError, t } from './i18n.js';
import { audioCodecName, codecName, formatBitrate, h, icon, lossPercent } from './util.js';

const STATS_INTERVAL_MS = 2000;
const HEVC_MIME = 'video/mp4; codecs="hvc1.1.6.L93.B0"';

/** True when this browser's Media Source can take H.265 (Debian's chromium without a GPU cannot). */
export function hevcDecodable() {
  const mse = window.MediaSource || window.ManagedMediaSource;
  return Boolean(mse && mse.isTypeSupported && mse.isTypeSupported(HEVC_MIME));
}

export class PlayerWindow {
  constructor(index, onSelect) {
    this.index = index;
    this.generation = 0;
    this.source = null; // {kind: 'channel', deviceId, channelId, name} | {kind: 'stream', streamId, name}
    this.protocol = 'flv';
    this.streamId = null;
    this.player = null;
    this.pollTimer = null;
    this.abort = null;
    this.message = null; // {kind, text: () => string, hint: () => string, retry}
    this.lastStats = null;
    this.muted = true;
    this._build(onSelect);
    this._render();
  }

  _build(onSelect) {
    this.titleEl = h('span', { class: 'win-title' });
    this.badgeEl = h('span', { class: 'win-badge' });
    // Buttons inside a window must not also select it (the window's own click handler).
    const button = (cls, action, ...children) => h('button', { class: cls, type: 'button',
      onclick: (e) => { e.stopPropagation(); action(); } }, ...children);
    this.muteButton = button('icon-btn', () => this.toggleMute());
    this.fullButton = button('icon-btn', () => this.fullscreen(), icon('expand'));
    this.closeButton = button('icon-btn win-close', () => this.close(), icon('close'));
    this.video = this._newVideo();
    this.messageText = h('p', { class: 'win-msg' });
    this.messageHint = h('p', { class: 'win-hint' });
    this.retryButton = button('btn', () => this.retry());
    this.spinner = h('div', { class: 'spinner', 'aria-hidden': 'true' });
    this.overlay = h('div', { class: 'win-overlay' },
      this.spinner, this.messageText, this.messageHint, this.retryButton);
    this.emptyText = h('div', { class: 'win-empty' });
    this.statsEl = h('div', { class: 'win-stats' });
    this.el = h('div', { class: 'win', dataset: { index: String(this.index), state: 'empty' }, tabindex: '0',
      onclick: () => onSelect(this) },
    h('div', { class: 'win-head' }, this.titleEl, this.badgeEl, h('span', { class: 'spacer' }),
      this.muteButton, this.fullButton, this.closeButton),
    h('div', { class: 'win-body', ondblclick: () => this.fullscreen() }, this.video, this.overlay, this.emptyText),
    this.statsEl);
  }

  /** Every player gets a <video> of its own: see _stopPlayer. */
  _newVideo() {
    const video = h('video', { muted: true, playsinline: true, autoplay: true });
    video.muted = this.muted;
    video.addEventListener('playing', () => {
      if (this.player && video === this.video && this.el.dataset.state !== 'message') this._setState('playing');
    });
    return video;
  }

  get busy() {
    return this.source !== null;
  }

  /** Plays a GB28181 channel: POST .../play (the gateway INVITEs the device on demand), then the stream. */
  async playChannel(source, protocol) {
    const generation = this._reset({ kind: 'channel', ...source }, protocol);
    this._setState('starting', t('live.starting'));
    this.abort = new AbortController();
    let reply;
    try {
      reply = await gateway.play(source.deviceId, source.channelId, this.abort.signal);
    } catch (error) {
      if (generation !== this.generation || error.code === 'aborted') return;
      this._showMessage('error', () => describeError(error), null, true);
      this.el.dataset.errorCode = error.code || '';
      return;
    }
    if (generation !== this.generation) return;
    this._attach(reply.stream, generation);
  }

  /** Plays a stream the gateway already has (a receiver opened through the API, or any stream id). */
  playStream(source, protocol) {
    const generation = this._reset({ kind: 'stream', ...source }, protocol);
    this._attach(source.streamId, generation);
  }

  retry() {
    if (!this.source) return;
    const { kind, ...source } = this.source;
    if (kind === 'channel') this.playChannel(source, this.protocol);
    else this.playStream(source, this.protocol);
  }

  /** Stops playing. The gateway closes an on-demand session by itself once its last viewer has left. */
  close() {
    this._reset(null, this.protocol);
    this._render();
  }

  toggleMute() {
    this.muted = !this.muted;
    this.video.muted = this.muted;
    this._renderButtons();
  }

  fullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if (this.busy && this.el.requestFullscreen) this.el.requestFullscreen().catch(() => {});
  }

  /** Re-renders every text after a language switch. */
  relabel() {
    this._render();
  }

  _reset(source, protocol) {
    this.generation++;
    if (this.abort) this.abort.abort();
    this.abort = null;
    this._stopPlayer();
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.source = source;
    this.protocol = protocol;
    this.streamId = null;
    this.message = null;
    this.lastStats = null;
    for (const key of ['stream', 'message', 'errorCode', 'videoCodec', 'audioCodec', 'hasAudio']) {
      delete this.el.dataset[key];
    }
    this._setState(source ? 'starting' : 'empty', source ? t('live.connecting') : null);
    this._render();
    return this.generation;
  }

  async _attach(streamId, generation) {
    this.streamId = streamId;
    this.el.dataset.stream = streamId;
    this._setState('starting', t('live.connecting'));
    let stats;
    try {
      stats = await gateway.stream(streamId);
    } catch (error) {
      if (generation !== this.generation) return;
      if (error.status === 404) this._showStopped();
      else this._showMessage('error', () => describeError(error), null, true);
      return;
    }
    if (generation !== this.generation) return;
    this._updateStats(stats);
    this._startPolling(generation);
    if (this._hevcBlocked(stats)) {
      this._showHevc();
      return;
    }
    this._startPlayer(streamId, generation);
  }

  _hevcBlocked(stats) {
    return Boolean(stats && stats.video && stats.video.codec === 'h265' && !hevcDecodable());
  }

  _startPlayer(streamId, generation) {
    const mpegts = window.mpegts;
    if (!mpegts || !mpegts.getFeatureList().mseLivePlayback) {
      this._showMessage('nomse', () => t('play.noMse'), null, false);
      return;
    }
    // mpegts.js logs every segment at info level; an operator's browser console needs warnings only.
    mpegts.LoggingControl.enableVerbose = false;
    mpegts.LoggingControl.enableInfo = false;
    mpegts.LoggingControl.enableDebug = false;
    const player = mpegts.createPlayer({ type: 'flv', isLive: true, url: liveUrl(streamId, this.protocol) }, {
      enableWorker: false,
      enableStashBuffer: false, // live view: show frames as they come, latency over smoothness
      lazyLoad: false,
      autoCleanupSourceBuffer: true,
      liveBufferLatencyChasing: true, // a tab in the background falls behind; catch up when it is back
      liveBufferLatencyMaxLatency: 2.0,
      liveBufferLatencyMinRemain: 0.5,
    });
    this.player = player;
    player.on(mpegts.Events.ERROR, (type, detail, info) => this._onPlayerError(generation, type, detail, info));
    player.on(mpegts.Events.MEDIA_INFO, (info) => this._onMediaInfo(generation, info));
    player.on(mpegts.Events.LOADING_COMPLETE, () => this._onStreamEnded(generation));
    player.attachMediaElement(this.video);
    player.load();
    const started = player.play();
    if (started && started.catch) started.catch(() => { /* autoplay refused: the video stays paused */ });
  }

  /**
   * Stops the player. mpegts.js delivers segments through promise callbacks that it does not cancel, so a
   * player destroyed from inside one of its own events (media info, error, end) would be called back after
   * destroy() and throw. The old player is therefore torn down in a later task, and the window swaps in a
   * fresh <video> at once, so the next player can never share an element with one still being torn down.
   */
  _stopPlayer() {
    if (!this.player) return;
    const player = this.player;
    const video = this.video;
    this.player = null;
    this.video = this._newVideo();
    video.replaceWith(this.video);
    setTimeout(() => {
      try {
        player.pause();
        player.unload();
        player.detachMediaElement();
        player.destroy();
      } catch (e) { /* a player that failed half-way may refuse some of these */ }
      video.removeAttribute('src');
      video.load();
    }, 0);
  }

  _onMediaInfo(generation, info) {
    if (generation !== this.generation || !info) return;
    this.el.dataset.hasAudio = String(Boolean(info.hasAudio));
    if (info.videoCodec) this.el.dataset.videoCodec = info.videoCodec;
    if (info.audioCodec) this.el.dataset.audioCodec = info.audioCodec;
    const codec = info.videoCodec || '';
    if ((codec.startsWith('hvc1') || codec.startsWith('hev1')) && !hevcDecodable()) this._showHevc();
  }

  _onPlayerError(generation, type, detail, info) {
    if (generation !== this.generation) return;
    const mpegts = window.mpegts;
    const stats = this.lastStats;
    if (type === mpegts.ErrorTypes.MEDIA_ERROR && ((stats && stats.video && stats.video.codec === 'h265') ||
      /hvc1|hev1/.test(this.el.dataset.videoCodec || ''))) {
      this._showHevc();
      return;
    }
    if (type === mpegts.ErrorTypes.NETWORK_ERROR) {
      this._checkGone(generation, () => this._showMessage('network', () => t('play.networkLost'), null, true));
      return;
    }
    const why = (info && info.msg) || detail || type;
    this._stopPlayer();
    this._showMessage('media', () => t('play.mediaError', { detail: why }), null, true);
  }

  /** The live body ended: the gateway closed the stream (stopped) or the connection broke. */
  _onStreamEnded(generation) {
    if (generation !== this.generation) return;
    this._checkGone(generation, () => this._showMessage('network', () => t('play.networkLost'), null, true));
  }

  async _checkGone(generation, otherwise) {
    this._stopPlayer();
    try {
      const stats = await gateway.stream(this.streamId);
      if (generation !== this.generation) return;
      this._updateStats(stats);
      otherwise();
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof ApiError && error.status === 404) this._showStopped();
      else otherwise();
    }
  }

  _startPolling(generation) {
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(async () => {
      if (generation !== this.generation || !this.streamId) return;
      try {
        const stats = await gateway.stream(this.streamId);
        if (generation !== this.generation) return;
        this._updateStats(stats);
        if (this.player && this._hevcBlocked(stats)) this._showHevc();
      } catch (error) {
        if (generation !== this.generation) return;
        if (error.status === 404) this._showStopped();
      }
    }, STATS_INTERVAL_MS);
  }

  _showStopped() {
    this._stopPlayer();
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.lastStats) this.lastStats = { ...this.lastStats, bitrate_kbps: 0, viewers: 0 };
    this._showMessage('stopped', () => t('play.stopped'), null, true);
  }

  _showHevc() {
    this._stopPlayer();
    this._showMessage('h265', () => t('play.h265'), () => t('play.h265Hint'), false);
  }

  _showMessage(kind, text, hint, retry) {
    this.message = { kind, text, hint, retry };
    this.el.dataset.message = kind;
    this._setState('message');
    this._render();
  }

  _setState(state, progressText) {
    this.el.dataset.state = state;
    this.progressText = progressText || null;
    this._renderOverlay();
  }

  _updateStats(stats) {
    this.lastStats = stats;
    this._renderStats();
  }

  _render() {
    const source = this.source;
    this.titleEl.textContent = source ? source.name || source.channelId || source.streamId : '';
    this.titleEl.title = source ? [source.name, source.deviceId, source.channelId, source.streamId]
      .filter(Boolean).join(' · ') : '';
    this.badgeEl.textContent = source ? (this.protocol === 'ws-flv' ? 'WS-FLV' : 'HTTP-FLV') : '';
    this.emptyText.textContent = t('live.emptyWindow');
    this._renderButtons();
    this._renderOverlay();
    this._renderStats();
  }

  _renderButtons() {
    const busy = this.busy;
    for (const b of [this.muteButton, this.fullButton, this.closeButton]) b.hidden = !busy;
    this.muteButton.replaceChildren(icon(this.muted ? 'mute' : 'volume'));
    this.muteButton.title = t(this.muted ? 'live.unmute' : 'live.mute');
    this.fullButton.title = t('live.fullscreen');
    this.closeButton.title = t('live.close');
  }

  _renderOverlay() {
    const state = this.el.dataset.state;
    const message = state === 'message' ? this.message : null;
    this.spinner.hidden = state !== 'starting';
    this.messageText.textContent = message ? message.text() : state === 'starting' ? this.progressText || '' : '';
    this.messageHint.textContent = message && message.hint ? message.hint() : '';
    this.messageHint.hidden = !this.messageHint.textContent;
    this.retryButton.hidden = !(message && message.retry);
    this.retryButton.textContent = t('live.retry');
    this.overlay.hidden = !(state === 'starting' || state === 'message');
    this.overlay.className = 'win-overlay' + (message ? ' win-overlay-' + message.kind : '');
    this.emptyText.hidden = state !== 'empty';
  }

  _renderStats() {
    const s = this.lastStats;
    if (!s || !this.source) {
      this.statsEl.replaceChildren();
      return;
    }
    const parts = [];
    if (s.video) {
      parts.push(h('span', { class: 'stat stat-codec' }, codecName(s.video.codec)));
      if (s.video.width) parts.push(h('span', { class: 'stat stat-size' }, `${s.video.width}×${s.video.height}`));
    }
    if (s.audio) parts.push(h('span', { class: 'stat stat-audio' }, audioCodecName(s.audio)));
    parts.push(h('span', { class: 'stat stat-bitrate' }, formatBitrate(s.bitrate_kbps || 0)));
    const loss = lossPercent(s);
    parts.push(h('span', { class: 'stat stat-loss' + (loss >= 1 ? ' warn' : '') },
      t('live.loss', { p: loss.toFixed(1) })));
    const viewers = s.viewers || 0;
    parts.push(h('span', { class: 'stat stat-viewers' },
      viewers === 1 ? t('live.viewer') : t('live.viewers', { n: viewers })));
    if (s.error) parts.push(h('span', { class: 'stat warn', title: s.error }, t('play.streamError', { msg: s.error })));
    this.statsEl.replaceChildren(...parts);
  }
}
