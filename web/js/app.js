// Entry point of the console: wires the pages (live view, streams) to the hash in the address bar, the language
// switch, the API token prompt and the gateway status in the top bar. No framework and no build step: the
// modules load as they are from gbgate's static file server, and mpegts.js from /vendor/mpegts.js.

import { getToken, gateway, onAuthNeeded, setToken } from './api.js';
import { DeviceList } from './devices.js';
import { Grid, bindToolbar } from './grid.js';
import { applyStatic, getLang, missingKeys, onLangChange, setLang, t } from './i18n.js';
import { PtzPanel } from './ptz.js';
import { RecordsPage } from './records.js';
import { StreamsPage } from './streams.js';
import { isLoopbackHost } from './util.js';

const $ = (id) => document.getElementById(id);
const PAGES = ['live', 'streams', 'records'];
const HEALTH_POLL_MS = 10000;

const ptz = new PtzPanel($('ptz-panel'), $('ptz-toggle'), (source) => {
  location.hash = '#records';
  records.select(source.deviceId, source.channelId);
});
const grid = new Grid($('grid'), (w) => ptz.setTarget(w.source));
bindToolbar(grid, $('layout-buttons'), $('protocol-buttons'), $('close-all'));
const records = new RecordsPage($('page-records'));

const devices = new DeviceList($('device-list'), $('device-count'), $('device-search'),
  (channel) => grid.playChannel(channel));

const streams = new StreamsPage($('stream-table'), $('stream-count'), (source) => {
  location.hash = '#live';
  grid.playStream(source);
}, (streamId) => devices.namesFor(streamId));

function showPage() {
  const page = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'live';
  for (const name of PAGES) {
    $(`page-${name}`).hidden = name !== page;
    const tab = document.querySelector(`[data-page="${name}"]`);
    tab.classList.toggle('active', name === page);
    if (name === page) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  if (page === 'streams') streams.show();
  else streams.hide();
  if (page === 'records') records.show();
  else records.hide();
}

// ---- the API token (only needed when the console is opened through a non-loopback address) ----

const tokenDialog = $('token-dialog');
const tokenInput = $('token-input');
const tokenMessage = $('token-message');
let tokenProblemKey = null;
let tokenDismissed = false; // the user closed the prompt: do not reopen it on every poll, the button is there

function askToken(problemKey) {
  tokenProblemKey = problemKey || null;
  tokenMessage.textContent = t(problemKey || 'token.explain');
  tokenMessage.classList.toggle('error', Boolean(problemKey));
  tokenInput.value = getToken();
  if (!tokenDialog.open) tokenDialog.showModal();
  tokenInput.focus();
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setToken(tokenInput.value.trim());
  tokenDismissed = false;
  tokenDialog.close();
  reloadAll();
});
$('token-cancel').addEventListener('click', () => {
  tokenDismissed = true;
  tokenDialog.close();
});
$('token-clear').addEventListener('click', () => {
  setToken('');
  tokenInput.value = '';
  tokenInput.focus();
});
$('token-button').addEventListener('click', () => askToken(null));

onAuthNeeded((error) => {
  // 401 without a token is the normal first contact (the explanation says it all); 401 with one means it is
  // wrong; 403 means the gateway has no token at all, which no input here can fix.
  const problem = error.status === 403 ? 'token.disabled' : getToken() ? 'token.rejected' : null;
  if (tokenDialog.open) {
    if (problem) {
      tokenProblemKey = problem;
      tokenMessage.textContent = t(problem);
      tokenMessage.classList.add('error');
    }
    return;
  }
  if (!tokenDismissed) askToken(problem);
});

// ---- top bar: gateway status and language ----

async function refreshHealth() {
  const el = $('gw-status');
  try {
    const health = await gateway.health();
    el.textContent = `gbgate ${health.version}`;
    el.className = 'status ok';
    el.title = `uptime ${health.uptime_s} s · ${health.workers} workers · ${health.streams} streams`;
  } catch (error) {
    el.textContent = error.isAuth ? t('err.unauthorized') : t('err.network');
    el.className = 'status bad';
  }
}

function reloadAll() {
  refreshHealth();
  devices.refresh();
  if (!$('page-streams').hidden) streams.refresh();
}

$('lang-button').addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
onLangChange(() => {
  devices.render();
  grid.relabel();
  streams.relabel();
  ptz.render();
  records.relabel();
  refreshHealth();
  if (tokenDialog.open) tokenMessage.textContent = t(tokenProblemKey || 'token.explain');
});

// ---- start ----

applyStatic(document);
const remote = !isLoopbackHost(location.hostname);
$('token-button').hidden = !remote;
if (remote && !getToken()) askToken(null);
window.addEventListener('hashchange', showPage);
showPage();
refreshHealth();
setInterval(refreshHealth, HEALTH_POLL_MS);
devices.start();

// Handles for debugging from the browser console and for the browser test (test/integration/web/).
window.gbConsole = { grid, devices, streams, ptz, records, setLang, missingKeys };
