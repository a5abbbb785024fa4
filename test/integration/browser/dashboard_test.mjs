// Drives the dashboard in headless Chromium (run.sh sets up the server, users and jobs):
//   alice logs in with her token, sees her running job and her waiting job with the reason it
//   waits, opens the running job and sees its events and the tail of its log;
//   bob, of another project, sees neither.
// Any failed check throws: the process exits non-zero and ctest reports the failure.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(`${process.env.MODULES}/`);
const { chromium } = require('playwright-core');
const url = process.env.KUMO_URL;
const shots = process.env.SCREENSHOTS;
const running = process.env.RUNNING_JOB;
const waiting = process.env.WAITING_JOB;

const pageErrors = [];
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
});

// A fresh browser context (its own local storage) logged in with `token`.
async function logIn(token) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('main[data-loaded="#/queue"]');
  assert.equal(await page.locator('#error').count(), 0, await page.locator('main').innerText());
  return page;
}

// The page's text once `selector` shows `text` (the loop re-renders on hash change only, so
// reload until the server's state has caught up; bounded).
async function waitForText(page, selector, text) {
  for (let i = 0; i < 60; i++) {
    const shown = await page.locator(selector).innerText().catch(() => '');
    if (shown.includes(text)) return shown;
    await page.waitForTimeout(500);
    await page.reload();
    await page.waitForSelector('main[data-loaded]');
  }
  throw new Error(`"${text}" never appeared in ${selector}`);
}

try {
  const alice = await logIn(process.env.ALICE_TOKEN);
  assert.match(await alice.locator('#who').innerText(), /alice/);
  // The queue: the running job, and the waiting one with the sentence that says why.
  await waitForText(alice, `tr[data-job="${running}"]`, 'Running');
  const row = await alice.locator(`tr[data-job="${waiting}"]`).innerText();
  assert.match(row, /too-big/);
  assert.match(row, /Unschedulable/, row);
  assert.match(row, /64/, row);  // the message names what it asked for
  await alice.screenshot({ path: `${shots}/queue-alice.png`, fullPage: true });

  // The running job's page: its events and the last lines of its log.
  await alice.click(`tr[data-job="${running}"] a`);
  await alice.waitForSelector(`main[data-loaded="#/jobs/${running}"]`);
  const events = await alice.locator('#events').innerText();
  assert.match(events, /Submitted/);
  assert.match(events, /Started/);
  assert.match(await waitForText(alice, '#log', 'epoch 2 loss 0.71'), /epoch 1 loss 0.93/);
  assert.equal(await alice.locator('#cancel').count(), 1, 'the owner gets a cancel button');
  await alice.screenshot({ path: `${shots}/job-alice.png`, fullPage: true });

  await alice.goto(`${url}#/cluster`);
  await alice.waitForSelector('main[data-loaded="#/cluster"]');
  const cluster = await alice.locator('.nodes').innerText();
  assert.match(cluster, new RegExp(`job ${running}`));
  await alice.screenshot({ path: `${shots}/cluster-alice.png`, fullPage: true });
  await alice.goto(`${url}#/projects`);
  await alice.waitForSelector('main[data-loaded="#/projects"]');
  await alice.screenshot({ path: `${shots}/projects-alice.png`, fullPage: true });

  // bob is in another project: the jobs are not in his queue, nor on his cluster map, and their
  // page is refused.
  const bob = await logIn(process.env.BOB_TOKEN);
  const queue = await bob.locator('main').innerText();
  assert.doesNotMatch(queue, /resnet-train|too-big/, queue);
  await bob.screenshot({ path: `${shots}/queue-bob.png`, fullPage: true });
  await bob.goto(`${url}#/cluster`);
  await bob.waitForSelector('main[data-loaded="#/cluster"]');
  const map = await bob.locator('.nodes').innerText();
  assert.doesNotMatch(map, new RegExp(`job ${running}`), map);
  assert.match(map, /used by other projects/, map);
  await bob.goto(`${url}#/jobs/${running}`);
  await bob.waitForSelector(`main[data-loaded="#/jobs/${running}"]`);
  assert.match(await bob.locator('#error').innerText(), /not a member/);
  await bob.screenshot({ path: `${shots}/job-bob.png`, fullPage: true });
  assert.deepEqual(pageErrors, [], 'no script errors in the page');
  console.log(`browser test passed; screenshots in ${shots}`);
} finally {
  await browser.close();
}
