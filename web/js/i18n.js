// Every text the console shows, in English and Chinese, and the switch between them.
// One flat table per language with the same keys (i18n_test in the browser test checks that they match), so a
// label can never exist in one language only. Static labels in index.html name their key in data-i18n
// (text), data-i18n-title, data-i18n-placeholder or data-i18n-aria-label; pages that render from data call t()
// and re-render on onLangChange(). The choice is kept in localStorage; the first visit follows the browser.

const STRINGS = {
  en: {
    'app.title': 'gbgate console',
    'nav.live': 'Live view',
    'nav.streams': 'Streams',
    'lang.switch': '中文',
    'lang.switchTitle': '切换到中文',
    'common.ok': 'OK',
    'common.cancel': 'Cancel',
    'common.delete': 'Delete',
    'common.stop': 'Stop',

    'token.button': 'API token',
    'token.title': 'API token',
    'token.explain': 'This console was opened from another host. gbgate answers API calls from other hosts only ' +
      'with its API token (http.api_token in gbgate.conf). The token is kept in this browser tab only.',
    'token.rejected': 'The gateway refused the token. Check it and try again.',
    'token.disabled': 'The gateway refuses API calls from other hosts because it has no API token ' +
      '(set http.api_token in gbgate.conf).',
    'token.placeholder': 'Token',
    'token.save': 'Save',
    'token.clear': 'Forget token',

    'devices.title': 'Devices',
    'devices.search': 'Search by ID or name',
    'devices.empty': 'No device has registered yet. Point a camera\'s GB28181 platform settings at this gateway.',
    'devices.noMatch': 'Nothing matches "{q}".',
    'devices.count': '{online}/{total} online',
    'devices.online': 'Online',
    'devices.offline': 'Offline',
    'devices.keepalive': 'keepalive {ago}',
    'devices.noKeepalive': 'no keepalive yet',
    'devices.registered': 'Registered {time}',
    'devices.refreshCatalog': 'Refresh catalog',
    'devices.delete': 'Delete device',
    'devices.confirmDelete': 'Delete device {name} ({id}) and its channels? A device that is still running ' +
      'registers again as a new device.',
    'devices.catalogQueried': 'Catalog requested from {name}',
    'devices.catalogInProgress': '{name}: a catalog answer is already arriving',
    'devices.deleted': 'Device {id} deleted',
    'devices.channels': '{n} channels',
    'devices.oneChannel': '1 channel',
    'devices.noChannels': 'No channels yet',
    'devices.loadingChannels': 'Loading channels…',
    'devices.moreHidden': '{n} more devices: refine the search',
    'devices.loadFailed': 'Cannot load the devices: {msg}',
    'devices.channelOffline': 'offline',
    'devices.playHint': 'Play {name}',
    'devices.catalogRunning': 'catalog arriving…',

    'time.secondsAgo': '{n} s ago',
    'time.minutesAgo': '{n} min ago',
    'time.hoursAgo': '{n} h ago',
    'time.daysAgo': '{n} d ago',

    'live.layout': 'Layout',
    'live.protocol': 'Protocol',
    'live.closeAll': 'Close all',
    'live.emptyWindow': 'Select a channel to play it here',
    'live.starting': 'Asking the device for video…',
    'live.connecting': 'Connecting…',
    'live.close': 'Close',
    'live.mute': 'Mute',
    'live.unmute': 'Unmute',
    'live.fullscreen': 'Full screen',
    'live.retry': 'Retry',
    'live.viewers': '{n} viewers',
    'live.viewer': '1 viewer',
    'live.loss': 'loss {p}%',

    'err.device_offline': 'The device is offline.',
    'err.invite_refused': 'The device refused the play request (SIP {sip}).',
    'err.invite_refused_nosip': 'The device refused the play request.',
    'err.invite_timeout': 'The device did not answer the play request in time.',
    'err.no_media': 'The device accepted but sent no video.',
    'err.device_not_found': 'The gateway does not know this device.',
    'err.channel_not_found': 'The gateway does not know this channel (refresh the catalog).',
    'err.stream_not_found': 'The stream does not exist (any more).',
    'err.invite_failed': 'The play request could not be sent to the device ({msg}).',
    'err.no_ports': 'The gateway has no free media port (media.rtp_port_range).',
    'err.media_unavailable': 'The gateway could not open a media receiver ({msg}).',
    'err.network': 'Cannot reach the gateway.',
    'err.timeout': 'The gateway did not answer in time.',
    'err.unauthorized': 'The API token is missing or wrong.',
    'err.generic': 'Failed: {msg}',

    'play.stopped': 'The stream has stopped.',
    'play.h265': 'H.265 is not decodable in this browser.',
    'play.h265Hint': 'Use a browser with H.265 decoding, or open the stream in an external player (Streams page).',
    'play.noMse': 'This browser cannot play live streams (no Media Source Extensions).',
    'play.networkLost': 'The connection to the stream was lost.',
    'play.mediaError': 'The browser cannot decode this stream ({detail}).',
    'play.streamError': 'The stream reports: {msg}',

    'streams.title': 'Streams',
    'streams.empty': 'No active stream.',
    'streams.count': '{n} streams',
    'streams.col.stream': 'Stream',
    'streams.col.media': 'Media',
    'streams.col.traffic': 'Traffic',
    'streams.col.viewers': 'Viewers',
    'streams.rtmpPlayers': '{n} RTMP players',
    'streams.relay': 'RTMP relay: {state} ({reconnects} reconnects)',
    'streams.col.urls': 'URLs',
    'streams.col.actions': 'Actions',
    'streams.play': 'Play',
    'streams.stop': 'Stop',
    'streams.confirmStop': 'Stop stream {id}? Its viewers are disconnected; a GB28181 session is also ended ' +
      'with BYE.',
    'streams.stoppedToast': 'Stream {id} stopped',
    'streams.copy': 'Copy',
    'streams.copied': 'Copied {url}',
    'streams.copyFailed': 'The browser refused to copy: select the address and copy it by hand.',
    'streams.waitingMedia': 'waiting for media',
    'streams.packets': '{n} packets, {lost} lost',
    'streams.dropped': '{n} frames dropped',
    'streams.started': 'since {time}',
    'streams.from': 'from {addr}',
    'streams.loadFailed': 'Cannot load the streams: {msg}',
    'streams.source.api': 'API',
    'streams.source.gb': 'GB28181',
    'nav.records': 'Recordings',
    'ptz.toggle': 'PTZ',
    'ptz.title': 'PTZ',
    'ptz.noTarget': 'Select a window that plays a camera to control it.',
    'ptz.stop': 'Stop',
    'ptz.move.up': 'Tilt up (hold)',
    'ptz.move.down': 'Tilt down (hold)',
    'ptz.move.left': 'Pan left (hold)',
    'ptz.move.right': 'Pan right (hold)',
    'ptz.move.upleft': 'Up and left (hold)',
    'ptz.move.upright': 'Up and right (hold)',
    'ptz.move.downleft': 'Down and left (hold)',
    'ptz.move.downright': 'Down and right (hold)',
    'ptz.move.zoomin': 'Zoom in (hold)',
    'ptz.move.zoomout': 'Zoom out (hold)',
    'ptz.move.focusnear': 'Focus near (hold)',
    'ptz.move.focusfar': 'Focus far (hold)',
    'ptz.move.irisopen': 'Open iris (hold)',
    'ptz.move.irisclose': 'Close iris (hold)',
    'ptz.zoom': 'Zoom',
    'ptz.focus': 'Focus',
    'ptz.iris': 'Iris',
    'ptz.speed': 'Speed',
    'ptz.presets': 'Presets',
    'ptz.presetIndex': 'Preset number (1-255)',
    'ptz.presetRange': 'A preset number is 1 to 255.',
    'ptz.presetCall': 'Go to',
    'ptz.presetSet': 'Save here',
    'ptz.presetDelete': 'Delete',
    'ptz.presetLoad': 'Ask the camera for its presets',
    'ptz.commands': 'Device command…',
    'ptz.commandDone': '{command}: {result}',
    'ptz.cmd.keyframe': 'Force a keyframe',
    'ptz.cmd.record_start': 'Start recording',
    'ptz.cmd.record_stop': 'Stop recording',
    'ptz.cmd.guard': 'Arm (guard)',
    'ptz.cmd.unguard': 'Disarm',
    'ptz.cmd.alarm_reset': 'Reset alarm',
    'ptz.cmd.teleboot': 'Reboot the device',
    'ptz.records': 'Recordings of this channel',
    'records.title': 'Recordings',
    'records.device': 'Device',
    'records.channel': 'Channel',
    'records.date': 'Day',
    'records.search': 'Search',
    'records.searching': 'Asking the device for its recordings…',
    'records.count': '{n} recordings',
    'records.partial': '{n} recordings (the device did not send every page)',
    'records.noDevices': 'No device is online.',
    'records.pickHint': 'Click the timeline or a recording to play it back.',
    'records.col.start': 'Start',
    'records.col.end': 'End',
    'records.col.type': 'Type',
    'records.col.size': 'Size',
    'records.col.actions': 'Actions',
    'records.play': 'Play',
    'records.download': 'Download',
    'records.downloadStarted': 'Download started',
    'records.downloads': 'Downloads',
    'records.save': 'Save MP4',
    'records.state.downloading': 'downloading',
    'records.state.done': 'done',
    'records.state.failed': 'failed',
    'records.pause': 'Pause',
    'records.resume': 'Resume',
  },

  zh: {
    'app.title': 'gbgate 控制台',
    'nav.live': '实时预览',
    'nav.streams': '流列表',
    'lang.switch': 'English',
    'lang.switchTitle': 'Switch to English',
    'common.ok': '确定',
    'common.cancel': '取消',
    'common.delete': '删除',
    'common.stop': '停止',

    'token.button': 'API 令牌',
    'token.title': 'API 令牌',
    'token.explain': '当前控制台不是从本机打开的。来自其他主机的 API 调用需要 gbgate 的 API 令牌' +
      '（gbgate.conf 中的 http.api_token）。令牌只保存在当前浏览器标签页中。',
    'token.rejected': '网关拒绝了该令牌，请检查后重试。',
    'token.disabled': '网关没有设置 API 令牌，拒绝来自其他主机的 API 调用（请在 gbgate.conf 中设置 http.api_token）。',
    'token.placeholder': '令牌',
    'token.save': '保存',
    'token.clear': '清除令牌',

    'devices.title': '设备',
    'devices.search': '按编号或名称搜索',
    'devices.empty': '还没有设备注册。请在摄像机的 GB28181 平台接入设置中填写本网关。',
    'devices.noMatch': '没有与“{q}”匹配的设备或通道。',
    'devices.count': '在线 {online}/{total}',
    'devices.online': '在线',
    'devices.offline': '离线',
    'devices.keepalive': '心跳 {ago}',
    'devices.noKeepalive': '尚无心跳',
    'devices.registered': '注册于 {time}',
    'devices.refreshCatalog': '刷新目录',
    'devices.delete': '删除设备',
    'devices.confirmDelete': '删除设备 {name}（{id}）及其全部通道？仍在运行的设备会作为新设备重新注册。',
    'devices.catalogQueried': '已向 {name} 查询目录',
    'devices.catalogInProgress': '{name}：目录正在接收中',
    'devices.deleted': '已删除设备 {id}',
    'devices.channels': '{n} 个通道',
    'devices.oneChannel': '1 个通道',
    'devices.noChannels': '暂无通道',
    'devices.loadingChannels': '正在加载通道…',
    'devices.moreHidden': '还有 {n} 台设备，请缩小搜索范围',
    'devices.loadFailed': '无法加载设备：{msg}',
    'devices.channelOffline': '离线',
    'devices.playHint': '播放 {name}',
    'devices.catalogRunning': '目录接收中…',

    'time.secondsAgo': '{n} 秒前',
    'time.minutesAgo': '{n} 分钟前',
    'time.hoursAgo': '{n} 小时前',
    'time.daysAgo': '{n} 天前',

    'live.layout': '分屏',
    'live.protocol': '协议',
    'live.closeAll': '全部关闭',
    'live.emptyWindow': '选择通道后在此播放',
    'live.starting': '正在向设备请求视频…',
    'live.connecting': '正在连接…',
    'live.close': '关闭',
    'live.mute': '静音',
    'live.unmute': '取消静音',
    'live.fullscreen': '全屏',
    'live.retry': '重试',
    'live.viewers': '{n} 人观看',
    'live.viewer': '1 人观看',
    'live.loss': '丢包 {p}%',

    'err.device_offline': '设备离线。',
    'err.invite_refused': '设备拒绝了点播请求（SIP {sip}）。',
    'err.invite_refused_nosip': '设备拒绝了点播请求。',
    'err.invite_timeout': '设备没有及时响应点播请求。',
    'err.no_media': '设备已应答，但没有发送视频。',
    'err.device_not_found': '网关中没有这台设备。',
    'err.channel_not_found': '网关中没有这个通道（请刷新目录）。',
    'err.stream_not_found': '该流不存在或已关闭。',
    'err.invite_failed': '无法向设备发送点播请求（{msg}）。',
    'err.no_ports': '网关没有空闲的媒体端口（media.rtp_port_range）。',
    'err.media_unavailable': '网关无法打开媒体接收（{msg}）。',
    'err.network': '无法连接网关。',
    'err.timeout': '网关响应超时。',
    'err.unauthorized': 'API 令牌缺失或错误。',
    'err.generic': '失败：{msg}',

    'play.stopped': '该流已停止。',
    'play.h265': '此浏览器无法解码 H.265。',
    'play.h265Hint': '请使用支持 H.265 解码的浏览器，或在外部播放器中打开该流（见流列表）。',
    'play.noMse': '此浏览器不能播放直播流（缺少 Media Source Extensions）。',
    'play.networkLost': '与流的连接已断开。',
    'play.mediaError': '浏览器无法解码此流（{detail}）。',
    'play.streamError': '流报告错误：{msg}',

    'streams.title': '流列表',
    'streams.empty': '没有活动的流。',
    'streams.count': '共 {n} 路流',
    'streams.col.stream': '流',
    'streams.col.media': '媒体',
    'streams.col.traffic': '流量',
    'streams.col.viewers': '观看',
    'streams.rtmpPlayers': '{n} 个 RTMP 播放器',
    'streams.relay': 'RTMP 转推：{state}（重连 {reconnects} 次）',
    'streams.col.urls': '播放地址',
    'streams.col.actions': '操作',
    'streams.play': '播放',
    'streams.stop': '停止',
    'streams.confirmStop': '停止流 {id}？观看者将被断开，GB28181 会话也会以 BYE 结束。',
    'streams.stoppedToast': '已停止流 {id}',
    'streams.copy': '复制',
    'streams.copied': '已复制 {url}',
    'streams.copyFailed': '浏览器不允许复制，请手动选中地址复制。',
    'streams.waitingMedia': '等待媒体',
    'streams.packets': '{n} 个包，丢失 {lost}',
    'streams.dropped': '丢弃 {n} 帧',
    'streams.started': '开始于 {time}',
    'streams.from': '来自 {addr}',
    'streams.loadFailed': '无法加载流列表：{msg}',
    'streams.source.api': 'API',
    'streams.source.gb': 'GB28181',
    'nav.records': '录像回放',
    'ptz.toggle': '云台',
    'ptz.title': '云台控制',
    'ptz.noTarget': '请选择一个正在播放摄像机的窗口进行控制。',
    'ptz.stop': '停止',
    'ptz.move.up': '上（按住）',
    'ptz.move.down': '下（按住）',
    'ptz.move.left': '左（按住）',
    'ptz.move.right': '右（按住）',
    'ptz.move.upleft': '左上（按住）',
    'ptz.move.upright': '右上（按住）',
    'ptz.move.downleft': '左下（按住）',
    'ptz.move.downright': '右下（按住）',
    'ptz.move.zoomin': '放大（按住）',
    'ptz.move.zoomout': '缩小（按住）',
    'ptz.move.focusnear': '聚焦近（按住）',
    'ptz.move.focusfar': '聚焦远（按住）',
    'ptz.move.irisopen': '光圈开（按住）',
    'ptz.move.irisclose': '光圈关（按住）',
    'ptz.zoom': '变倍',
    'ptz.focus': '聚焦',
    'ptz.iris': '光圈',
    'ptz.speed': '速度',
    'ptz.presets': '预置位',
    'ptz.presetIndex': '预置位编号（1-255）',
    'ptz.presetRange': '预置位编号为 1 到 255。',
    'ptz.presetCall': '调用',
    'ptz.presetSet': '设置',
    'ptz.presetDelete': '删除',
    'ptz.presetLoad': '查询摄像机的预置位',
    'ptz.commands': '设备命令…',
    'ptz.commandDone': '{command}：{result}',
    'ptz.cmd.keyframe': '强制关键帧',
    'ptz.cmd.record_start': '开始录像',
    'ptz.cmd.record_stop': '停止录像',
    'ptz.cmd.guard': '布防',
    'ptz.cmd.unguard': '撤防',
    'ptz.cmd.alarm_reset': '报警复位',
    'ptz.cmd.teleboot': '远程重启设备',
    'ptz.records': '该通道的录像',
    'records.title': '录像回放',
    'records.device': '设备',
    'records.channel': '通道',
    'records.date': '日期',
    'records.search': '查询',
    'records.searching': '正在向设备查询录像…',
    'records.count': '共 {n} 段录像',
    'records.partial': '共 {n} 段录像（设备未发送全部分页）',
    'records.noDevices': '没有在线设备。',
    'records.pickHint': '点击时间轴或录像条目开始回放。',
    'records.col.start': '开始',
    'records.col.end': '结束',
    'records.col.type': '类型',
    'records.col.size': '大小',
    'records.col.actions': '操作',
    'records.play': '回放',
    'records.download': '下载',
    'records.downloadStarted': '已开始下载',
    'records.downloads': '下载',
    'records.save': '保存 MP4',
    'records.state.downloading': '下载中',
    'records.state.done': '完成',
    'records.state.failed': '失败',
    'records.pause': '暂停',
    'records.resume': '继续',
  },
};

const LANG_KEY = 'gbgate.lang';
const listeners = [];
let lang = initialLang();

function initialLang() {
  let saved = null;
  try { saved = localStorage.getItem(LANG_KEY); } catch (e) { saved = null; }
  if (saved && STRINGS[saved]) return saved;
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** The text of key in the current language with {name} placeholders filled from params. */
export function t(key, params) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (params[name] !== undefined ? String(params[name]) : m));
}

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!STRINGS[next] || next === lang) return;
  lang = next;
  try { localStorage.setItem(LANG_KEY, lang); } catch (e) { /* private mode: the choice lasts this page */ }
  applyStatic(document);
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.push(fn);
}

/** Fills every element under root that names a key in data-i18n / data-i18n-title / -placeholder / -aria-label. */
export function applyStatic(root) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app.title');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
}

/** "12 s ago" / "3 min ago" in the current language. */
export function ago(seconds) {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 90) return t('time.secondsAgo', { n: seconds });
  if (seconds < 90 * 60) return t('time.minutesAgo', { n: Math.round(seconds / 60) });
  if (seconds < 36 * 3600) return t('time.hoursAgo', { n: Math.round(seconds / 3600) });
  return t('time.daysAgo', { n: Math.round(seconds / 86400) });
}

/** Keys present in one language and missing in another (the browser test asserts this is empty). */
export function missingKeys() {
  const missing = [];
  for (const a of Object.keys(STRINGS)) {
    for (const b of Object.keys(STRINGS)) {
      for (const key of Object.keys(STRINGS[a])) if (!(key in STRINGS[b])) missing.push(`${b}:${key}`);
    }
  }
  return missing;
}

/** Maps an ApiError of a play or stream request to a translated sentence. */
export function describeError(error) {
  const code = error && error.code;
  if (code === 'invite_refused') {
    return error.sipStatus ? t('err.invite_refused', { sip: error.sipStatus }) : t('err.invite_refused_nosip');
  }
  if (code === 'unauthorized' || code === 'forbidden') return t('err.unauthorized');
  if (code && STRINGS.en['err.' + code]) return t('err.' + code, { msg: error.message });
  return t('err.generic', { msg: (error && error.message) || String(error) });
}
