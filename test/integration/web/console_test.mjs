// Browser driver of test_web_console.py: drives the gbgate console in Debian's chromium (headless, through
// playwright-core, never a downloaded browser) and reports what it saw, one "RESULT {json}" line per step.
// It asserts nothing itself: the Python test owns the assertions, so a failed step is still reported with
// everything it measured, and every later step still runs. Screenshots go to config.outDir.
//
// Usage: node console_test.mjs CONFIG.json   (the config is written by test_web_console.py)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const require = createRequire(path.join(config.source, 'package.json'));
const { chromium } = require('playwright-core');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'];

function emit(step, data) {
  process.stdout.write(`RESULT ${JSON.stringify({ step, ...data })}\n`);
}

// The whole run is bounded: whatever hangs, the driver reports and exits before the Python timeout.
const watchdog = setTimeout(() => {
  emit('watchdog', { ok: false, error: `driver ran longer than ${config.budgetMs} ms` });
  process.exit(3);
}, config.budgetMs);

// A fresh profile per run, removed however the driver ends (chromium itself exits with its control pipe).
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gbgate-web-'));
process.on('exit', () => fs.rmSync(userDataDir, { recursive: true, force: true }));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: config.chromium,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1366, height: 768 },
  locale: 'en-US',
});
const page = context.pages()[0] || await context.newPage();
// Uncaught exceptions are bugs of the console; console errors are kept as context (mpegts.js logs a stream
// that ends as an error, which the stop step does on purpose).
const pageErrors = [];
const consoleErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e.stack || e.message).slice(0, 800)));
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text().slice(0, 300)); });

async function shot(name) {
  try {
    await page.screenshot({ path: path.join(config.outDir, `${name}.png`) });
  } catch (e) { /* a screenshot is evidence, not a step */ }
}

async function step(name, fn) {
  try {
    const data = await fn();
    emit(name, { ok: true, ...data });
    return data;
  } catch (e) {
    emit(name, { ok: false, error: String(e && e.message ? e.message : e).slice(0, 600) });
    await shot(`fail-${name}`);
    return null;
  }
}

/** What one grid window shows and what its <video> has decoded. */
function windowState(index) {
  return page.evaluate((i) => {
    const w = window.gbConsole.grid.windows[i];
    const v = w.video;
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
    return {
      index: i, state: w.el.dataset.state, message: w.el.dataset.message || null,
      errorCode: w.el.dataset.errorCode || null, text: w.messageText.textContent, stream: w.el.dataset.stream || null,
      currentTime: v.currentTime, frames: q.totalVideoFrames ?? null, width: v.videoWidth, height: v.videoHeight,
      audioBytes: v.webkitAudioDecodedByteCount ?? null, hasAudio: w.el.dataset.hasAudio ?? null,
      audioCodec: w.el.dataset.audioCodec ?? null, videoCodec: w.el.dataset.videoCodec ?? null,
      stats: w.statsEl.textContent, title: w.titleEl.textContent,
    };
  }, index);
}

/** Index of the window showing a play target (channel or stream), or -1. */
function windowOf(target) {
  return page.evaluate((t) => window.gbConsole.grid.windows.findIndex((w) => w.source && (t.channelId
    ? w.source.channelId === t.channelId && w.source.deviceId === t.deviceId
    : w.source.streamId === t.streamId)), target);
}

/** Waits until the window plays past `seconds` with `frames` decoded, or shows a message (then returns). */
async function waitPlaying(index, seconds, frames, timeoutMs) {
  try {
    await page.waitForFunction(([i, s, f]) => {
      const w = window.gbConsole.grid.windows[i];
      const q = w.video.getVideoPlaybackQuality();
      return w.el.dataset.state === 'message' || (w.video.currentTime > s && q.totalVideoFrames > f);
    }, [index, seconds, frames], { timeout: timeoutMs, polling: 250 });
  } catch (e) { /* reported through the state below */ }
  return windowState(index);
}

async function expandDevice(deviceId) {
  const row = page.locator(`.device[data-device-id="${deviceId}"]`);
  await row.waitFor({ timeout: 15000 });
  if (await row.locator('.channel-tree, .tree-note').count() === 0) await row.locator('.device-row').click();
  await row.locator('.channel').first().waitFor({ timeout: 10000 });
}

async function clickTarget(target) {
  if (target.kind === 'channel') {
    await expandDevice(target.deviceId);
    await page.click(`.channel[data-device-id="${target.deviceId}"][data-channel-id="${target.channelId}"]`);
  } else {
    await page.goto(`${config.base}/#streams`);
    await page.click(`#stream-table tr[data-stream="${target.streamId}"] [data-action=play]`, { timeout: 10000 });
    await page.waitForFunction(() => location.hash === '#live');
  }
  await page.waitForFunction((t) => window.gbConsole.grid.windows.some((w) => w.source && (t.channelId
    ? w.source.channelId === t.channelId : w.source.streamId === t.streamId)), target, { timeout: 5000 });
  return windowOf(target);
}

// ---- 1. devices and channels ----
await step('open', async () => {
  await page.goto(config.base + '/');
  return { title: await page.title() };
});
await step('devices', async () => {
  for (const d of config.devices) await page.locator(`.device[data-device-id="${d.id}"]`).waitFor({ timeout: 15000 });
  const seen = {};
  for (const d of config.devices) {
    await expandDevice(d.id);
    const box = page.locator(`.device[data-device-id="${d.id}"]`);
    seen[d.id] = {
      online: await box.locator('.dot.on').count() > 0,
      text: await box.locator('.device-row').innerText(),
      channels: await box.locator('.channel').evaluateAll((rows) => rows.map((r) => ({
        id: r.dataset.channelId, name: r.querySelector('.name').textContent, playable: r.classList.contains('playable'),
      }))),
    };
  }
  const count = await page.locator('#device-count').innerText();
  await shot('01-devices');
  const hevcDecodable = await page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L93.B0"'));
  return { seen, count, hevcDecodable };
});

// ---- 1b. the channel tree builder on a catalog with groups, path ParentIDs, a cycle and a self-parent ----
await step('tree', async () => page.evaluate(async (catalog) => {
  const tree = await import('/js/tree.js');
  const shape = (nodes) => nodes.map((n) => ({ id: n.channel.id, playable: tree.isPlayable(n.channel),
    children: shape(n.children) }));
  const roots = tree.buildTree(catalog);
  const kept = tree.matchingIds(roots, (c) => c.id.endsWith('0002'));
  return { shape: shape(roots), kept: [...kept].sort() };
}, config.treeCatalog));

// ---- 2. search by device ID, by channel ID and by channel name ----
await step('search', async () => {
  const visible = () => page.evaluate(() => ({
    devices: [...document.querySelectorAll('.device')].map((d) => d.dataset.deviceId),
    channels: [...document.querySelectorAll('.channel')].map((c) => c.dataset.channelId),
    note: [...document.querySelectorAll('.list-note')].map((n) => n.textContent).join(' '),
  }));
  const result = {};
  for (const [key, query] of Object.entries(config.search)) {
    await page.fill('#device-search', query);
    await page.waitForTimeout(400); // channel lists of collapsed devices are fetched for a search
    result[key] = { query, ...(await visible()) };
  }
  await page.fill('#device-search', '');
  return result;
});

// ---- 3. play every target (HTTP-FLV), then check each window ----
const windows = {};
await step('start_plays', async () => {
  for (const target of config.plays) windows[target.label] = await clickTarget(target);
  return { windows };
});
for (const target of config.plays) {
  await step(`play_${target.label}`, async () => {
    const index = windows[target.label];
    if (index === undefined || index < 0) throw new Error('no window for this target');
    if (target.expect === 'h265_message') {
      await page.waitForFunction((i) => window.gbConsole.grid.windows[i].el.dataset.message === 'h265',
        index, { timeout: 15000 }).catch(() => {});
      return windowState(index);
    }
    return waitPlaying(index, 3.2, 50, 25000);
  });
}
// stats are polled every 2 s: give them one round so viewers/bitrate are filled in
await page.waitForTimeout(2300);
await step('window_stats', async () => {
  const out = {};
  for (const [label, index] of Object.entries(windows)) out[label] = await windowState(index);
  await shot('02-playing');
  return { windows: out };
});

// ---- 4. WS-FLV: replay one target over WebSocket ----
if (config.wsPlay) {
  await step('play_ws', async () => {
    const target = config.plays.find((p) => p.label === config.wsPlay);
    const old = windows[target.label];
    await page.click(`.win[data-index="${old}"] .win-close`);
    await page.click('#protocol-buttons [data-protocol="ws-flv"]');
    const index = await clickTarget(target);
    const state = await waitPlaying(index, 2.2, 30, 20000);
    const badge = await page.locator(`.win[data-index="${index}"] .win-badge`).innerText();
    await page.click('#protocol-buttons [data-protocol="flv"]');
    windows[target.label] = index;
    return { ...state, badge };
  });
}

// ---- 5. the Streams page: rows, URLs, stop button; the stopped window says so ----
await step('streams_page', async () => {
  await page.goto(`${config.base}/#streams`);
  await page.locator('#stream-table tbody tr[data-stream]').first().waitFor({ timeout: 10000 });
  await page.waitForTimeout(300);
  const rows = await page.locator('#stream-table tbody tr[data-stream]').evaluateAll((trs) => trs.map((tr) => ({
    id: tr.dataset.stream, text: tr.innerText, urls: [...tr.querySelectorAll('input.url')].map((i) => i.value),
    viewers: tr.querySelector('.col-viewers').textContent,
  })));
  await shot('03-streams');
  return { rows };
});
if (config.stopStream) {
  await step('stop_stream', async () => {
    const target = config.plays.find((p) => p.label === config.stopStream.label);
    const index = windows[target.label];
    await page.click(`#stream-table tr[data-stream="${config.stopStream.streamId}"] [data-action=stop]`);
    const dialogText = await page.locator('#confirm-dialog .dialog-text').innerText();
    await page.click('#confirm-dialog [data-role=ok]');
    await page.locator(`#stream-table tr[data-stream="${config.stopStream.streamId}"]`)
      .waitFor({ state: 'detached', timeout: 8000 });
    await page.goto(`${config.base}/#live`);
    await page.waitForFunction((i) => window.gbConsole.grid.windows[i].el.dataset.message === 'stopped', index,
      { timeout: 8000 }).catch(() => {});
    const state = await windowState(index);
    await shot('04-stopped');
    return { dialogText, ...state };
  });
}

// ---- 6. a channel that cannot play: the window explains why (in the 9-window layout, so earlier windows stay) ----
if ((config.failures || []).length) {
  await step('layout9', async () => {
    await page.click('#layout-buttons [data-layout="9"]');
    return { visible: await page.locator('.win:visible').count() };
  });
}
for (const failing of config.failures || []) {
  await step(`fail_${failing.label}`, async () => {
    if (failing.waitOffline) {
      await page.locator(`.device.offline[data-device-id="${failing.deviceId}"]`)
        .waitFor({ timeout: failing.waitOffline });
    }
    const index = await clickTarget({ kind: 'channel', ...failing });
    await page.waitForFunction((i) => window.gbConsole.grid.windows[i].el.dataset.state === 'message', index,
      { timeout: failing.timeoutMs || 20000 }).catch(() => {});
    const state = await windowState(index);
    await shot(`05-fail-${failing.label}`);
    return state;
  });
}

// ---- 7. device buttons: catalog refresh, delete ----
if (config.catalogDevice) {
  await step('catalog_refresh', async () => {
    await page.click(`.device[data-device-id="${config.catalogDevice}"] [data-action=catalog]`);
    const toast = page.locator('.toast').last();
    await toast.waitFor({ timeout: 5000 });
    return { toast: await toast.innerText() };
  });
}
if (config.deleteDevice) {
  await step('delete_device', async () => {
    await page.click(`.device[data-device-id="${config.deleteDevice}"] [data-action=delete]`);
    const dialogText = await page.locator('#confirm-dialog .dialog-text').innerText();
    await page.click('#confirm-dialog [data-role=ok]');
    await page.locator(`.device[data-device-id="${config.deleteDevice}"]`)
      .waitFor({ state: 'detached', timeout: 8000 });
    const remaining = await page.locator('.device').evaluateAll((d) => d.map((e) => e.dataset.deviceId));
    return { dialogText, remaining };
  });
}

// ---- 8. Chinese ----
await step('chinese', async () => {
  await page.click('#lang-button');
  await page.waitForTimeout(300);
  const out = {
    lang: await page.evaluate(() => document.documentElement.lang),
    tabs: await page.locator('.tabs a').allInnerTexts(),
    search: await page.getAttribute('#device-search', 'placeholder'),
    missing: await page.evaluate(() => window.gbConsole.missingKeys()),
    messages: await page.evaluate(() => window.gbConsole.grid.windows.filter((w) => w.el.dataset.state === 'message')
      .map((w) => ({ kind: w.el.dataset.message, text: w.messageText.textContent }))),
  };
  await shot('06-chinese');
  await page.click('#lang-button');
  return out;
});

// ---- 9. opened from a non-loopback address: the console asks for the token ----
if (config.remote) {
  await step('token', async () => {
    const remotePage = await context.newPage();
    await remotePage.goto(config.remote.url);
    const dialog = remotePage.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible', timeout: 8000 });
    const explain = await remotePage.locator('#token-message').innerText();
    await remotePage.screenshot({ path: path.join(config.outDir, '07-token-prompt.png') });
    await remotePage.fill('#token-input', 'wrong-token');
    await remotePage.click('#token-save');
    await remotePage.waitForFunction(() => document.getElementById('token-dialog').open, null, { timeout: 8000 });
    await remotePage.waitForTimeout(300);
    const rejected = await remotePage.locator('#token-message').innerText();
    await remotePage.fill('#token-input', config.remote.token);
    await remotePage.click('#token-save');
    await remotePage.locator(`.device[data-device-id="${config.remote.deviceId}"]`).waitFor({ timeout: 10000 });
    const stored = await remotePage.evaluate(() => sessionStorage.getItem('gbgate.apiToken'));
    const dialogOpen = await remotePage.evaluate(() => document.getElementById('token-dialog').open);
    await remotePage.screenshot({ path: path.join(config.outDir, '08-remote-with-token.png') });
    await remotePage.close();
    return { explain, rejected, stored, dialogOpen };
  });
}

emit('page_errors', {
  ok: pageErrors.length === 0, errors: pageErrors.slice(0, 20), console: consoleErrors.slice(0, 20),
});
await context.close();
clearTimeout(watchdog);
emit('done', { ok: true });
