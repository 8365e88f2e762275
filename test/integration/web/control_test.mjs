// Browser driver of test_web_control.py: the console's PTZ panel and Recordings page in Debian's chromium
// (headless, playwright-core). Like console_test.mjs it asserts nothing: it reports what it did and saw, one
// "RESULT {json}" line per step, and the Python test checks that against the device's own log and the API.
//
// Usage: node control_test.mjs CONFIG.json

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const require = createRequire(path.join(config.source, 'package.json'));
const { chromium } = require('playwright-core');

function emit(step, data) {
  process.stdout.write(`RESULT ${JSON.stringify({ step, ...data })}\n`);
}

const watchdog = setTimeout(() => {
  emit('watchdog', { ok: false, error: `driver ran longer than ${config.budgetMs} ms` });
  process.exit(3);
}, config.budgetMs);

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gbgate-web-'));
process.on('exit', () => fs.rmSync(userDataDir, { recursive: true, force: true }));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: config.chromium,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
    '--autoplay-policy=no-user-gesture-required'],
  viewport: { width: 1366, height: 768 },
  locale: 'en-US',
});
const page = context.pages()[0] || await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e.stack || e.message).slice(0, 800)));

async function shot(name) {
  try { await page.screenshot({ path: path.join(config.outDir, `${name}.png`) }); } catch (e) { /* evidence only */ }
}

async function step(name, fn) {
  try {
    const data = await fn();
    emit(name, { ok: true, ...data });
    return data;
  } catch (e) {
    emit(name, { ok: false, error: String(e && e.message ? e.message : e).slice(0, 600) });
    await shot(`control-fail-${name}`);
    return null;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- 1. live view: play the channel, then PTZ on its window ----
await step('play', async () => {
  await page.goto(config.base + '/');
  const row = page.locator(`.device[data-device-id="${config.deviceId}"]`);
  await row.waitFor({ timeout: 15000 });
  await row.locator('.device-row').click();
  await page.click(`.channel[data-device-id="${config.deviceId}"][data-channel-id="${config.channelId}"]`,
    { timeout: 10000 });
  await page.waitForFunction(() => window.gbConsole.grid.windows.some((w) => w.video.currentTime > 1),
    null, { timeout: 30000, polling: 250 });
  return {};
});

await step('ptz_panel', async () => {
  await page.click('#ptz-toggle');
  await page.locator('.ptz-pad [data-action="up"]').waitFor({ timeout: 5000 });
  return { target: await page.locator('.ptz-target').innerText() };
});

/** Holds a button for `ms` (pointer down, wait, pointer up) and waits for the panel's status line to settle. */
async function hold(selector, ms) {
  const box = await page.locator(selector).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await sleep(ms);
  await page.mouse.up();
  await sleep(400);
}

await step('ptz_moves', async () => {
  await page.locator('.ptz-speed input').fill('200');
  for (const action of config.holdActions) await hold(`.ptz-panel [data-action="${action}"]`, 300);
  return { status: await page.locator('.ptz-status').innerText() };
});

await step('ptz_presets', async () => {
  await page.locator('.ptz-preset-index').fill('7');
  await page.click('.ptz-panel [data-op="set"]');
  await page.locator('.ptz-preset[data-index="7"]').waitFor({ timeout: 10000 });
  await page.click('.ptz-preset[data-index="7"]');
  await sleep(500);
  const presets = await page.locator('.ptz-preset').evaluateAll((b) => b.map((e) => Number(e.dataset.index)));
  await shot('control-ptz');
  return { presets };
});

await step('device_command', async () => {
  await page.selectOption('.ptz-command', 'keyframe');
  const toast = page.locator('.toast').last();
  await toast.waitFor({ timeout: 10000 });
  return { toast: await toast.innerText() };
});

// ---- 2. recordings: search, timeline, playback with speed and pause, download ----
await step('records', async () => {
  await page.click('.ptz-panel button:has-text("Recordings of this channel")');
  await page.waitForFunction(() => location.hash === '#records');
  await page.locator('#page-records select').first().waitFor({ timeout: 5000 });
  await page.waitForFunction((ch) => document.querySelectorAll('#page-records select')[1].value === ch,
    config.channelId, { timeout: 10000 });
  await page.locator('#page-records input[type=date]').fill(config.day);
  await page.click('#page-records .records-head .btn.primary');
  await page.waitForFunction(() => Number(document.querySelector('.timeline').dataset.segments || 0) > 0,
    null, { timeout: 30000, polling: 250 });
  const rows = await page.locator('.records-table tbody tr').evaluateAll((trs) => trs.map((tr) =>
    [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
  return { segments: Number(await page.locator('.timeline').getAttribute('data-segments')), rows,
    note: await page.locator('.records-note').innerText() };
});

function playerState() {
  return page.evaluate(() => {
    const r = window.gbConsole.records;
    const v = r.player.video;
    const q = v.getVideoPlaybackQuality();
    return { stream: r.playback && r.playback.stream, currentTime: v.currentTime, frames: q.totalVideoFrames,
      width: v.videoWidth, height: v.videoHeight, state: r.player.el.dataset.state,
      message: r.player.el.dataset.message || null, speed: r.controls.dataset.speed || null,
      paused: r.controls.dataset.paused || null };
  });
}

await step('playback', async () => {
  await page.click('.records-table tbody tr:first-child [data-role=play]');
  await page.waitForFunction(() => window.gbConsole.records.player.video.currentTime > 2 ||
    window.gbConsole.records.player.el.dataset.state === 'message', null, { timeout: 40000, polling: 250 });
  await shot('control-playback');
  return playerState();
});

await step('speed', async () => {
  await page.click('.playback-controls [data-speed="4"]');
  await page.waitForFunction(() => window.gbConsole.records.controls.dataset.speed === '4', null, { timeout: 10000 });
  return playerState();
});

await step('pause', async () => {
  await page.click('.playback-controls [data-role=pause]');
  await page.waitForFunction(() => window.gbConsole.records.controls.dataset.paused === 'true', null,
    { timeout: 10000 });
  return playerState();
});

await step('download', async () => {
  await page.click('.records-table tbody tr:first-child [data-role=download]');
  const link = page.locator('.downloads .download[data-state="done"] a');
  await link.waitFor({ timeout: config.downloadWaitMs });
  return { href: await link.getAttribute('href') };
});

emit('done', { ok: true, pageErrors });
clearTimeout(watchdog);
await context.close();
process.exit(0);
