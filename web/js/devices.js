// The device sidebar of the live view: every device with its online state, manufacturer/model, address and last
// keepalive; its channel tree (tree.js) when expanded; search by ID or name over devices and channels; catalog
// refresh and delete buttons. A click on a playable channel calls onPlay.
//
// The list is polled every 5 s and re-rendered from data (expansion and search survive a refresh). Channel lists
// are fetched only for expanded devices, or for every device while searching, and cached per device with the
// device's catalog_at + channel_count as version, so a steady list costs one GET per poll.

import { gateway } from './api.js';
import { confirmDialog } from './dialog.js';
import { ago, describeError, t } from './i18n.js';
import { buildTree, isPlayable, matchingIds } from './tree.js';
import { formatTime, h, icon, secondsSince, toast } from './util.js';

const POLL_MS = 5000;
const MAX_DEVICES_SHOWN = 300;
const MAX_SEARCH_FETCHES = 200; // channel lists fetched for a search; bigger fleets search device fields only

export class DeviceList {
  constructor(container, countEl, searchInput, onPlay) {
    this.container = container;
    this.countEl = countEl;
    this.onPlay = onPlay;
    this.devices = [];
    this.loaded = false;
    this.loadError = null;
    this.channels = new Map(); // deviceId -> {version, list, tree, loading, error}
    this.expanded = new Set();
    this.collapsedGroups = new Set(); // `${deviceId}/${channelId}` of groups the user folded
    this.query = '';
    this.timer = null;
    searchInput.addEventListener('input', () => {
      this.query = searchInput.value.trim().toLowerCase();
      this.render();
      this._fetchNeededChannels();
    });
  }

  start() {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), POLL_MS);
  }

  async refresh() {
    try {
      const data = await gateway.devices();
      this.devices = (data && data.devices) || [];
      this.loaded = true;
      this.loadError = null;
    } catch (error) {
      this.loadError = error;
    }
    const known = new Set(this.devices.map((d) => d.id));
    for (const id of this.channels.keys()) if (!known.has(id)) this.channels.delete(id);
    this.render();
    this._fetchNeededChannels();
  }

  _fetchNeededChannels() {
    const searching = this.query !== '';
    let budget = MAX_SEARCH_FETCHES;
    for (const device of this.devices) {
      if (!this.expanded.has(device.id) && !(searching && budget-- > 0)) continue;
      const version = `${device.catalog_at}|${device.channel_count}`;
      const entry = this.channels.get(device.id);
      if (entry && (entry.loading || entry.version === version)) continue;
      this._fetchChannels(device.id, version);
    }
  }

  async _fetchChannels(deviceId, version) {
    const entry = this.channels.get(deviceId) || { list: [], tree: [] };
    entry.loading = true;
    this.channels.set(deviceId, entry);
    try {
      const data = await gateway.channels(deviceId);
      entry.list = (data && data.channels) || [];
      entry.tree = buildTree(entry.list);
      entry.error = null;
    } catch (error) {
      entry.error = error;
    }
    entry.loading = false;
    entry.version = version;
    this.render();
  }

  /** Names for a GB28181 stream ID "{device}_{channel}" from what the sidebar knows (the channel list is
   * fetched when missing; the next call has it), or null for other streams. */
  namesFor(streamId) {
    const match = /^([A-Za-z0-9]{1,32})_([A-Za-z0-9]{1,32})$/.exec(streamId);
    const device = match && this.devices.find((d) => d.id === match[1]);
    if (!device) return null;
    const entry = this.channels.get(device.id);
    if (!entry) this._fetchChannels(device.id, `${device.catalog_at}|${device.channel_count}`);
    const channel = entry && entry.list.find((c) => c.id === match[2]);
    return { device: device.name || device.device_name || device.id, channel: (channel && channel.name) || match[2] };
  }

  _deviceMatches(device) {
    const q = this.query;
    return [device.id, device.name, device.device_name].some((v) => v && v.toLowerCase().includes(q));
  }

  _channelMatcher() {
    const q = this.query;
    return (c) => [c.id, c.name].some((v) => v && v.toLowerCase().includes(q));
  }

  render() {
    const online = this.devices.filter((d) => d.online).length;
    this.countEl.textContent = this.loaded ? t('devices.count', { online, total: this.devices.length }) : '';
    const rows = [];
    if (this.loadError) {
      const msg = describeError(this.loadError);
      rows.push(h('div', { class: 'list-note error' }, t('devices.loadFailed', { msg })));
    }
    if (this.loaded && this.devices.length === 0) rows.push(h('div', { class: 'list-note' }, t('devices.empty')));
    let shown = 0;
    let hidden = 0;
    for (const device of this.devices) {
      const view = this._deviceView(device);
      if (!view) continue;
      if (shown >= MAX_DEVICES_SHOWN) { hidden++; continue; }
      rows.push(view);
      shown++;
    }
    if (hidden) rows.push(h('div', { class: 'list-note' }, t('devices.moreHidden', { n: hidden })));
    if (this.query && shown === 0 && this.devices.length) {
      rows.push(h('div', { class: 'list-note' }, t('devices.noMatch', { q: this.query })));
    }
    const focusKey = this._focusKey(document.activeElement);
    this.container.replaceChildren(...rows);
    if (focusKey) {
      const again = [...this.container.querySelectorAll('[tabindex], button')]
        .find((el) => this._focusKey(el) === focusKey);
      if (again) again.focus({ preventScroll: true });
    }
  }

  /** Identifies a focused row or button across re-renders, so keyboard users keep their place on a poll. */
  _focusKey(el) {
    if (!el || !this.container.contains(el)) return null;
    const row = el.closest('[data-device-id]');
    if (!row) return null;
    return `${row.dataset.deviceId}|${el.dataset.channelId || ''}|${el.dataset.action || ''}`;
  }

  /** The device's element, or null when a search hides it. */
  _deviceView(device) {
    const entry = this.channels.get(device.id);
    let keep = null; // Set of channel IDs to show while searching (null: the whole tree)
    let open = this.expanded.has(device.id);
    if (this.query && !this._deviceMatches(device)) {
      keep = entry ? matchingIds(entry.tree, this._channelMatcher()) : new Set();
      if (keep.size === 0) return null;
      open = true;
    }
    const keepalive = device.keepalive_at
      ? t('devices.keepalive', { ago: ago(secondsSince(device.keepalive_at)) })
      : t('devices.noKeepalive');
    const model = [device.manufacturer, device.model].filter(Boolean).join(' ');
    const onlineText = t(device.online ? 'devices.online' : 'devices.offline');
    const tooltip = [
      `${device.name || ''} ${device.id}`,
      device.device_name && device.device_name !== device.name ? device.device_name : null,
      device.firmware ? `firmware ${device.firmware}` : null,
      device.registered_at ? t('devices.registered', { time: formatTime(device.registered_at) }) : null,
      device.keepalive_at ? formatTime(device.keepalive_at) : null,
      `SIP ${device.transport || ''} · media ${device.media_transport || ''}`,
    ].filter(Boolean).join('\n');

    const head = h('div', { class: 'device-row', role: 'treeitem', 'aria-expanded': String(open), title: tooltip,
      onclick: () => this._toggleDevice(device.id) },
    icon('chevron', 'chevron' + (open ? ' open' : '')),
    h('span', { class: 'dot ' + (device.online ? 'on' : 'off'), title: onlineText }),
    h('div', { class: 'device-main' },
      h('div', { class: 'device-name' },
        h('span', { class: 'name' }, device.name || device.device_name || device.id),
        h('span', { class: 'tag' + (device.online ? ' tag-on' : '') }, onlineText),
        h('span', { class: 'muted small' }, device.channel_count === 1 ? t('devices.oneChannel')
          : t('devices.channels', { n: device.channel_count || 0 }))),
      h('div', { class: 'device-id mono' }, device.id),
      h('div', { class: 'device-meta' },
        model ? h('span', {}, model) : null,
        device.address ? h('span', { class: 'mono' }, device.address) : null,
        h('span', {}, device.catalog_in_progress ? t('devices.catalogRunning') : keepalive))),
    h('div', { class: 'device-actions' },
      actionButton('catalog', 'icon-btn', t('devices.refreshCatalog'), () => this._refreshCatalog(device), 'refresh'),
      actionButton('delete', 'icon-btn danger', t('devices.delete'), () => this._delete(device), 'trash')));

    const box = h('div', { class: 'device' + (device.online ? '' : ' offline'), dataset: { deviceId: device.id } },
      head);
    if (open) box.append(this._channelsView(device, entry, keep));
    return box;
  }

  _channelsView(device, entry, keep) {
    if (!entry || (entry.loading && !entry.version)) {
      return h('div', { class: 'tree-note' }, t('devices.loadingChannels'));
    }
    if (entry.error) return h('div', { class: 'tree-note error' }, describeError(entry.error));
    if (entry.list.length === 0) return h('div', { class: 'tree-note' }, t('devices.noChannels'));
    const group = h('div', { class: 'channel-tree', role: 'group' });
    const add = (node, depth) => {
      if (keep && !keep.has(node.channel.id)) return;
      const groupKey = `${device.id}/${node.channel.id}`;
      const hasChildren = node.children.length > 0;
      const folded = hasChildren && !keep && this.collapsedGroups.has(groupKey);
      group.append(this._channelRow(device, node, depth, hasChildren, folded, groupKey));
      if (!folded) for (const child of node.children) add(child, depth + 1);
    };
    for (const root of entry.tree) add(root, 0);
    return group;
  }

  _channelRow(device, node, depth, hasChildren, folded, groupKey) {
    const c = node.channel;
    const playable = isPlayable(c);
    const channelOnline = c.online !== false && device.online;
    const name = c.name || c.id;
    const toggle = hasChildren
      ? h('span', { class: 'twisty', onclick: (e) => { e.stopPropagation(); this._toggleGroup(groupKey); } },
        icon('chevron', 'chevron' + (folded ? '' : ' open')))
      : h('span', { class: 'twisty' });
    const row = h('div', {
      class: 'channel' + (playable ? ' playable' : ' group') + (channelOnline ? '' : ' offline'),
      role: 'treeitem', style: `--depth:${depth}`, tabindex: playable ? '0' : null,
      title: playable ? t('devices.playHint', { name }) : name,
      dataset: { channelId: c.id, deviceId: device.id },
    },
    toggle,
    icon(playable ? 'camera' : 'folder', 'kind'),
    h('span', { class: 'name' }, name),
    h('span', { class: 'channel-id mono' }, c.id),
    c.online === false ? h('span', { class: 'tag' }, t('devices.channelOffline')) : null);
    const play = () => this.onPlay({ deviceId: device.id, channelId: c.id, name: `${name}` });
    if (playable) {
      row.addEventListener('click', play);
      row.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          play();
        }
      });
    } else if (hasChildren) {
      row.addEventListener('click', () => this._toggleGroup(groupKey));
    }
    return row;
  }

  _toggleDevice(id) {
    if (this.expanded.has(id)) this.expanded.delete(id);
    else this.expanded.add(id);
    this.render();
    this._fetchNeededChannels();
  }

  _toggleGroup(key) {
    if (this.collapsedGroups.has(key)) this.collapsedGroups.delete(key);
    else this.collapsedGroups.add(key);
    this.render();
  }

  async _refreshCatalog(device) {
    const name = device.name || device.id;
    try {
      const reply = await gateway.refreshCatalog(device.id);
      const key = reply && reply.status === 'in_progress' ? 'devices.catalogInProgress' : 'devices.catalogQueried';
      toast(t(key, { name }));
      setTimeout(() => this.refresh(), 1500);
    } catch (error) {
      toast(`${name}: ${describeError(error)}`, 'error');
    }
  }

  async _delete(device) {
    const text = t('devices.confirmDelete', { name: device.name || device.device_name || '', id: device.id });
    if (!(await confirmDialog(text, 'common.delete'))) return;
    try {
      await gateway.deleteDevice(device.id);
      this.expanded.delete(device.id);
      this.channels.delete(device.id);
      toast(t('devices.deleted', { id: device.id }));
    } catch (error) {
      toast(`${device.id}: ${describeError(error)}`, 'error');
    }
    this.refresh();
  }
}

/** A device button; its click must not also fold or unfold the device row it sits in. */
function actionButton(action, cls, title, onClick, iconName) {
  return h('button', { class: cls, type: 'button', title, dataset: { action },
    onclick: (e) => { e.stopPropagation(); onClick(); } }, icon(iconName));
}
