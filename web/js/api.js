// The console's only way to talk to gbgate's JSON API (docs/API.md, docs/API_DEVICES.md).
// Requests from loopback need no token; from anywhere else gbgate wants "Authorization: Bearer <http.api_token>".
// The token lives in sessionStorage: it survives a reload but not the browser tab, and is never written to disk
// by the console. Every failure becomes an ApiError carrying gbgate's machine code, so pages can map codes to
// translated messages instead of showing raw server text.

const TOKEN_KEY = 'gbgate.apiToken';
const DEFAULT_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, code, message, sipStatus) {
    super(message || code);
    this.status = status; // HTTP status, 0 when the gateway could not be reached
    this.code = code; // gbgate's "code" ("device_offline", ...) or a console code ("network", "timeout")
    this.sipStatus = sipStatus ?? null;
  }

  get isAuth() {
    return this.status === 401 || (this.status === 403 && this.code === 'forbidden');
  }
}

let authHandler = null;

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch (e) { /* storage disabled: the token then lasts until reload */ }
}

/** fn(error) is called when gbgate refuses a request for want of a (right) token. */
export function onAuthNeeded(fn) {
  authHandler = fn;
}

/**
 * Calls the API and returns the parsed JSON body (null for 204). Options: body (JSON-encoded), timeoutMs,
 * signal (an AbortSignal that cancels the request, e.g. when the user closes a window while it starts).
 */
export async function api(method, path, options = {}) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  let body;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs || DEFAULT_TIMEOUT_MS;
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; controller.abort(); }, timeoutMs);
  const cancel = () => controller.abort();
  if (options.signal) options.signal.addEventListener('abort', cancel, { once: true });
  let response;
  let text;
  try {
    response = await fetch(path, { method, headers, body, cache: 'no-store', signal: controller.signal });
    text = await response.text();
  } catch (e) {
    if (options.signal && options.signal.aborted) throw new ApiError(0, 'aborted', 'cancelled');
    if (timedOut) throw new ApiError(0, 'timeout', `no answer within ${timeoutMs / 1000} s`);
    throw new ApiError(0, 'network', e.message);
  } finally {
    clearTimeout(timer);
    if (options.signal) options.signal.removeEventListener('abort', cancel);
  }
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, (data && data.code) || `http_${response.status}`,
      (data && data.error) || response.statusText, data && data.sip_status);
    if (error.isAuth && authHandler) authHandler(error);
    throw error;
  }
  return data;
}

const enc = encodeURIComponent;

export const gateway = {
  health: () => api('GET', '/api/v1/health'),
  devices: () => api('GET', '/api/v1/devices'),
  channels: (deviceId) => api('GET', `/api/v1/devices/${enc(deviceId)}/channels`),
  refreshCatalog: (deviceId) => api('POST', `/api/v1/devices/${enc(deviceId)}/catalog`),
  deleteDevice: (deviceId) => api('DELETE', `/api/v1/devices/${enc(deviceId)}`),
  // The gateway answers a play once the first keyframe is in: INVITE timeout plus first-frame timeout.
  play: (deviceId, channelId, signal) =>
    api('POST', `/api/v1/devices/${enc(deviceId)}/channels/${enc(channelId)}/play`, { timeoutMs: 45000, signal }),
  streams: () => api('GET', '/api/v1/streams'),
  stream: (id) => api('GET', `/api/v1/streams/${enc(id)}`),
  stopStream: (id) => api('DELETE', `/api/v1/streams/${enc(id)}`),
  // Device control (docs/API_DEVICES.md "Device control"): PTZ bodies are {action, speed} | {preset: {op,
  // index}} | {cmd}; the gateway answers once the device took the MESSAGE.
  ptz: (deviceId, channelId, body) =>
    api('POST', `/api/v1/devices/${enc(deviceId)}/channels/${enc(channelId)}/ptz`, { body }),
  presets: (deviceId, channelId) =>
    api('GET', `/api/v1/devices/${enc(deviceId)}/channels/${enc(channelId)}/presets`, { timeoutMs: 20000 }),
  control: (deviceId, channelId, command) =>
    api('POST', `/api/v1/devices/${enc(deviceId)}/channels/${enc(channelId)}/control`, { body: { command } }),
  // Recordings on the device (RecordInfo, assembled over every page) and their playback/download.
  records: (deviceId, channelId, start, end) =>
    api('GET', `/api/v1/devices/${enc(deviceId)}/channels/${enc(channelId)}/records?start=${enc(start)}` +
      `&end=${enc(end)}`, { timeoutMs: 40000 }),
  playback: (deviceId, channelId, body, signal) =>
    api('POST', `/api/v1/devices/${enc(deviceId)}/channels/${enc(channelId)}/playback`,
      { body, timeoutMs: 45000, signal }),
  playbackControl: (streamId, body) => api('POST', `/api/v1/streams/${enc(streamId)}/playback`, { body }),
  download: (deviceId, channelId, body) =>
    api('POST', `/api/v1/devices/${enc(deviceId)}/channels/${enc(channelId)}/download`, { body, timeoutMs: 45000 }),
  downloads: () => api('GET', '/api/v1/downloads'),
  deleteDownload: (id) => api('DELETE', `/api/v1/downloads/${enc(id)}`),
};

/** The live URL of a stream for this page: same host and port as the console, so it also works behind a
 * reverse proxy (https -> wss) where the gateway's own view of its address would be wrong. */
export function liveUrl(streamId, protocol) {
  const path = `/live/${enc(streamId)}.flv`;
  if (protocol === 'ws-flv') return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
  return `${location.protocol}//${location.host}${path}`;
}
