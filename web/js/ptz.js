// The PTZ panel of the live view: pan/tilt/zoom, focus and iris, presets and device commands for the camera in the
// selected window. Moves are press-and-hold, as on every keyboard controller and platform: pressing a direction
// sends the move, releasing it (or the pointer leaving the button) sends stop, so the camera never keeps turning
// because a click was too short to see. Every request goes through the API (docs/API_DEVICES.md "Device
// control"); the gateway encodes the PTZCmd and answers with it, which the panel shows for the record.

import { gateway } from './api.js';
import { describeError, t } from './i18n.js';
import { h, setChildren, toast } from './util.js';

const SPEED_KEY = 'gbgate.ptzSpeed';
const MOVES = [
  ['upleft', '↖'], ['up', '↑'], ['upright', '↗'],
  ['left', '←'], ['stop', '■'], ['right', '→'],
  ['downleft', '↙'], ['down', '↓'], ['downright', '↘'],
];
// [minus action, plus action, label key]
const LENS = [['zoomout', 'zoomin', 'ptz.zoom'], ['focusnear', 'focusfar', 'ptz.focus'],
  ['irisclose', 'irisopen', 'ptz.iris']];
const COMMANDS = ['keyframe', 'record_start', 'record_stop', 'guard', 'unguard', 'alarm_reset', 'teleboot'];

export class PtzPanel {
  /** onRecords(source) opens the Recordings page for the panel's channel. */
  constructor(container, toggleButton, onRecords) {
    this.el = container;
    this.onRecords = onRecords;
    this.toggleButton = toggleButton;
    this.target = null; // {deviceId, channelId, name} of the selected window, when it plays a channel
    this.pressed = null; // action being held
    this.presets = [];
    this.speed = clampSpeed(Number(localStorage.getItem(SPEED_KEY)) || 128);
    this.lastCmd = '';
    this.lastError = '';
    toggleButton.addEventListener('click', () => this.toggle());
    this.el.hidden = true;
    this.render();
  }

  toggle(show) {
    this.el.hidden = show === undefined ? !this.el.hidden : !show;
    this.toggleButton.setAttribute('aria-pressed', String(!this.el.hidden));
    if (!this.el.hidden) this.render();
  }

  /** The selected window changed: source is its channel ({kind:'channel', deviceId, channelId, name}) or null. */
  setTarget(source) {
    const next = source && source.kind === 'channel' ? source : null;
    const same = next && this.target && next.deviceId === this.target.deviceId &&
      next.channelId === this.target.channelId;
    if (same) return;
    if (this.pressed) this._release();
    this.target = next;
    this.presets = [];
    this.lastCmd = '';
    this.lastError = '';
    this.render();
  }

  async _send(body, label) {
    const target = this.target;
    if (!target) return;
    try {
      const reply = await gateway.ptz(target.deviceId, target.channelId, body);
      this.lastCmd = reply && reply.cmd ? `${label}: ${reply.cmd}` : label;
      this.lastError = '';
    } catch (error) {
      this.lastError = describeError(error);
    }
    this._renderStatus();
  }

  _press(action) {
    if (!this.target) return;
    if (this.pressed && this.pressed !== action) this._release();
    this.pressed = action;
    this._send({ action, speed: this.speed }, action);
  }

  _release() {
    if (!this.pressed) return;
    this.pressed = null;
    this._send({ action: 'stop' }, 'stop');
  }

  /** A hold-to-move button: pointer down/up and Space/Enter down/up. */
  _holdButton(action, text, title) {
    const down = (e) => { e.preventDefault(); this._press(action); };
    const up = () => { if (this.pressed === action) this._release(); };
    const b = h('button', { class: 'btn ptz-btn', type: 'button', title, dataset: { action },
      onpointerdown: down, onpointerup: up, onpointerleave: up, onpointercancel: up,
      onkeydown: (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) down(e); },
      onkeyup: (e) => { if (e.key === ' ' || e.key === 'Enter') up(); } }, text);
    return b;
  }

  async loadPresets() {
    const target = this.target;
    if (!target) return;
    try {
      const data = await gateway.presets(target.deviceId, target.channelId);
      if (target !== this.target) return;
      this.presets = (data && data.presets) || [];
      this.lastError = '';
    } catch (error) {
      this.lastError = describeError(error);
    }
    this.render();
  }

  async _preset(op) {
    const index = Number(this.presetInput.value);
    if (!Number.isInteger(index) || index < 1 || index > 255) {
      this.lastError = t('ptz.presetRange');
      this._renderStatus();
      return;
    }
    await this._send({ preset: { op, index } }, `preset ${op} ${index}`);
    if (op !== 'call' && !this.lastError) this.loadPresets();
  }

  async _command(command) {
    const target = this.target;
    if (!target) return;
    try {
      const reply = await gateway.control(target.deviceId, target.channelId, command);
      toast(t('ptz.commandDone', { command: t(`ptz.cmd.${command}`), result: (reply && reply.result) || 'OK' }));
    } catch (error) {
      toast(describeError(error), 'error');
    }
  }

  render() {
    if (this.el.hidden) return;
    const target = this.target;
    const head = h('div', { class: 'ptz-head' }, h('h2', {}, t('ptz.title')),
      h('span', { class: 'muted small ptz-target' }, target ? target.name || target.channelId : ''));
    if (!target) {
      setChildren(this.el, head, h('p', { class: 'list-note' }, t('ptz.noTarget')));
      return;
    }
    const pad = h('div', { class: 'ptz-pad' }, MOVES.map(([action, text]) => action === 'stop'
      ? h('button', { class: 'btn ptz-btn', type: 'button', title: t('ptz.stop'), dataset: { action },
        onclick: () => { this.pressed = null; this._send({ action: 'stop' }, 'stop'); } }, text)
      : this._holdButton(action, text, t(`ptz.move.${action}`))));
    const lens = LENS.map(([minus, plus, key]) => h('div', { class: 'ptz-lens' },
      this._holdButton(minus, '−', t(`ptz.move.${minus}`)), h('span', { class: 'ptz-lens-label' }, t(key)),
      this._holdButton(plus, '+', t(`ptz.move.${plus}`))));
    const speedValue = h('span', { class: 'small muted' }, String(this.speed));
    const speed = h('label', { class: 'ptz-speed' }, h('span', {}, t('ptz.speed')),
      h('input', { type: 'range', min: '1', max: '255', value: String(this.speed), 'aria-label': t('ptz.speed'),
        oninput: (e) => {
          this.speed = clampSpeed(Number(e.target.value));
          speedValue.textContent = String(this.speed);
          try { localStorage.setItem(SPEED_KEY, String(this.speed)); } catch (err) { /* not kept */ }
        } }), speedValue);
    this.presetInput = h('input', { class: 'ptz-preset-index', type: 'number', min: '1', max: '255', value: '1',
      'aria-label': t('ptz.presetIndex') });
    const presetButtons = h('div', { class: 'ptz-row' }, this.presetInput,
      h('button', { class: 'btn', type: 'button', dataset: { op: 'call' }, onclick: () => this._preset('call') },
        t('ptz.presetCall')),
      h('button', { class: 'btn', type: 'button', dataset: { op: 'set' }, onclick: () => this._preset('set') },
        t('ptz.presetSet')),
      h('button', { class: 'btn danger', type: 'button', dataset: { op: 'delete' },
        onclick: () => this._preset('delete') }, t('ptz.presetDelete')));
    const presetList = h('div', { class: 'ptz-presets' },
      h('button', { class: 'btn ghost', type: 'button', onclick: () => this.loadPresets() }, t('ptz.presetLoad')),
      this.presets.map((p) => h('button', { class: 'tag ptz-preset', type: 'button', title: t('ptz.presetCall'),
        dataset: { index: String(p.index) }, onclick: () => this._send({ preset: { op: 'call', index: p.index } },
          `preset call ${p.index}`) }, `${p.index}${p.name ? ' ' + p.name : ''}`)));
    const commands = h('select', { class: 'ptz-command', 'aria-label': t('ptz.commands'),
      onchange: (e) => { if (e.target.value) this._command(e.target.value); e.target.value = ''; } },
    h('option', { value: '' }, t('ptz.commands')),
    COMMANDS.map((c) => h('option', { value: c }, t(`ptz.cmd.${c}`))));
    this.statusEl = h('div', { class: 'ptz-status small' });
    const recordsButton = h('button', { class: 'btn ghost', type: 'button', onclick: () => this.onRecords(target) },
      t('ptz.records'));
    setChildren(this.el, head, pad, lens, speed, h('h3', { class: 'ptz-sub' }, t('ptz.presets')), presetButtons,
      presetList, commands, recordsButton, this.statusEl);
    this._renderStatus();
  }

  _renderStatus() {
    if (!this.statusEl) return;
    this.statusEl.textContent = this.lastError || this.lastCmd;
    this.statusEl.className = 'ptz-status small' + (this.lastError ? ' error' : ' muted mono');
    this.el.dataset.lastCmd = this.lastCmd;
  }
}

function clampSpeed(n) {
  return Math.min(255, Math.max(1, Math.round(n) || 128));
}
