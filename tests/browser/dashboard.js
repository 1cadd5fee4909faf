// The dashboard in the system's headless Chromium, driven by puppeteer-core:
// run by tests/integration/http_dashboard.sh, which starts wnd (with tokens
// and --http), a worker and the jobs, and passes what to check in the
// environment:
//
//   WN_URL       the dashboard, http://127.0.0.1:PORT/
//   WN_SECRET    the admin token's secret
//   WN_SWEEP     a finished sweep's id; WN_RESULTS its `wnctl --json sweep results`
//   WN_JOB       a finished job of it with an artifact; WN_JOB_JSON its `wnctl --json job show`
//   WN_BIG       a job no worker can run (64 GPUs); WN_AFTER one waiting for it (afterany)
//   WN_LIVE      a RUNNING job that prints and reports until the file WN_GATE exists
//   WN_SHOTS     where the screenshots go
//   CHROMIUM     the browser (default /usr/bin/chromium)
//
// It prints one line per step and exits 1 with "FAIL: ..." at the first
// check that does not hold.
"use strict";
const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const env = (k) => {
  const v = process.env[k];
  if (!v) fail(`${k} is not set`);
  return v;
};
const BASE = env("WN_URL").replace(/\/?$/, "/");
const SECRET = env("WN_SECRET");
const SWEEP = env("WN_SWEEP");
const JOB = env("WN_JOB");
const LIVE = env("WN_LIVE");
const BIG = env("WN_BIG");
const AFTER = env("WN_AFTER");
const GATE = env("WN_GATE");
const SHOTS = env("WN_SHOTS");
const RESULTS = JSON.parse(fs.readFileSync(env("WN_RESULTS"), "utf8"));
const JOB_JSON = JSON.parse(fs.readFileSync(env("WN_JOB_JSON"), "utf8"));

const SIZES = {
  laptop: { width: 1280, height: 800, deviceScaleFactor: 1 },
  // a phone's width (isMobile or hasTouch would make puppeteer reload the page)
  phone: { width: 390, height: 844, deviceScaleFactor: 1 },
};

function fail(msg) {
  console.log(`FAIL: ${msg}`);
  process.exit(1);
}

const START = Date.now();
function step(msg) {
  console.log(`dashboard: ${((Date.now() - START) / 1000).toFixed(1)} s: ${msg}`);
}

// Everything the page does wrong: console errors and warnings, uncaught
// exceptions, requests that failed or answered an error status.
let problems = [];
function watch(page) {
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warn") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => {
    // a poll cut short by the next navigation is not the page's fault
    const f = r.failure();
    if (f && f.errorText === "net::ERR_ABORTED") return;
    problems.push(`request failed: ${r.method()} ${r.url()}: ${f ? f.errorText : "?"}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
}

function noProblems(where) {
  if (problems.length) fail(`${where}:\n  ${problems.join("\n  ")}`);
}

async function waitText(page, selector, re, what, timeout = 10000) {
  try {
    await page.waitForFunction(
      (sel, src, flags) => {
        const e = document.querySelector(sel);
        return e && !e.closest("[hidden]") && new RegExp(src, flags).test(e.textContent);
      },
      { timeout, polling: 100 },
      selector,
      re.source,
      re.flags,
    );
  } catch {
    const got = await page.$eval(selector, (e) => e.textContent).catch(() => "(no such element)");
    fail(`${what}: ${selector} did not show ${re} within ${timeout} ms; it shows: ${got.slice(0, 300)}`);
  }
}

// open(page, hash): go to #hash as a click on a link does (the first time,
// load the page afresh) and wait until it has drawn from the server's data.
let loaded = false;
async function open(page, hash, ready) {
  const t0 = Date.now();
  if (!loaded) {
    await page.goto("about:blank");
    await page.goto(BASE + hash, { waitUntil: "load" });
    loaded = true;
    await waitText(page, "#live", /^live/, `${hash} never came live`);
  } else {
    const n = await refreshes(page);
    await page.evaluate((h) => (location.hash = h), hash);
    await page
      .waitForFunction((k) => Number(document.body.dataset.refreshes || 0) > k, { timeout: 10000, polling: 50 }, n)
      .catch(() => fail(`${hash} did not draw within 10 s`));
  }
  if (ready) await ready();
  return Date.now() - t0;
}

function refreshes(page) {
  return page.evaluate(() => Number(document.body.dataset.refreshes || 0));
}

async function shoot(page, name) {
  const t0 = Date.now();
  // the page was drawn at the laptop's size; the phone's needs a new drawing
  // (the charts take their width from the page's, at each refresh and resize)
  await page.screenshot({ path: path.join(SHOTS, `${name}-laptop.png`), fullPage: true, optimizeForSpeed: true });
  const n = await refreshes(page);
  await page.setViewport(SIZES.phone);
  await page.waitForFunction((k) => Number(document.body.dataset.refreshes || 0) > k, { timeout: 10000, polling: 50 }, n);
  await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true, optimizeForSpeed: true });
  await page.setViewport(SIZES.laptop);
  step(`${name}: screenshots in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // root in CI has no user namespaces for the sandbox; /dev/shm may be small
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    watch(page);
    await page.setViewport(SIZES.laptop);

    // ---- login: the server has tokens, so the first call answers 401
    await page.goto(BASE, { waitUntil: "load" });
    await page.waitForSelector("#login:not([hidden])", { timeout: 10000 }).catch(() => fail("no login form on a server with tokens"));
    await page.type("#login-token", "wn_not_a_token");
    await page.click("#login-form button");
    await waitText(page, "#login-error", /refused/, "a wrong token");
    await page.screenshot({ path: path.join(SHOTS, "login-laptop.png") });
    step("a wrong token is refused with a message");
    // the 401s of the login were expected; nothing else may have gone wrong
    problems = problems.filter((p) => !/HTTP 401|status of 401/.test(p));
    noProblems("the login form");
    await page.$eval("#login-token", (e) => (e.value = ""));
    await page.type("#login-token", SECRET);
    await page.click("#login-form button");
    await page.waitForSelector("#login[hidden]", { timeout: 10000 }).catch(() => fail("the right token did not log in"));
    await waitText(page, "main", /sw/, "the projects after the login");
    step("the right token logs in");
    problems = [];
    // the pages from here on: a load of the whole page, then links followed
    loaded = false;

    // ---- every page loads, with no console error nor failed request
    await open(page, "#/", () => waitText(page, "main table", /sw/, "the projects"));
    await shoot(page, "projects");
    await open(page, "#/projects/sw", () => waitText(page, "main table", /train/, "the project's sweeps"));
    await shoot(page, "project");
    await open(page, `#/sweeps/${SWEEP}`, () => waitText(page, "table.results", /completed/, "the sweep's results"));
    await checkSweep(page);
    await shoot(page, "sweep");
    await open(page, `#/jobs/${JOB}`, () => waitText(page, "main", /Artifacts/, "the job's artifacts"));
    await checkJob(page);
    await shoot(page, "job");
    await open(page, "#/workers", () => waitText(page, "main table", /w1/, "the worker"));
    await shoot(page, "workers");
    await open(page, "#/queue", () => waitText(page, "main table", /needs-gpus/, "the queue"));
    await waitText(page, "main", /needs 64 gpu/, "why the job that needs GPUs waits");
    await waitText(page, "main", new RegExp(`waiting for job ${BIG} \\(afterany`), "why the job after it waits");
    await shoot(page, "queue");
    await open(page, `#/jobs/${AFTER}`, () => waitText(page, "ul.tree", new RegExp(`job ${BIG}[\\s\\S]*pending[\\s\\S]*afterany`), "the job's dependency"));
    await waitText(page, ".reason-box", new RegExp(`waiting for job ${BIG}`), "why the job waits, on its page");
    await shoot(page, "job-waiting");
    noProblems("the pages");
    step("every page loads with no console error and no failed request");

    // ---- a state change followed live, without a reload
    await open(page, `#/jobs/${LIVE}`, () => waitText(page, ".status-line", /running/, "the live job"));
    await waitText(page, "pre.log", /step \d+/, "the live job's output");
    await page.waitForSelector("svg.chart polyline", { timeout: 10000 }).catch(() => fail("no history chart of the running job"));
    const before = await page.$eval("pre.log", (e) => e.textContent.length);
    await waitText(page, "pre.log", new RegExp(`[\\s\\S]{${before + 1}}`), "the live output growing");
    await shoot(page, "job-running");
    await page.evaluate(() => (window.__noReload = true));
    fs.writeFileSync(GATE, "");
    // when wnd has it completed (the worker's part, which a loaded machine
    // may slow), then how long the open page takes to show it
    const t0 = await serverSees(LIVE, "JOB_COMPLETED", 60000);
    await waitText(page, ".status-line", /completed/, "the job ending while its page is open", 6000);
    const secs = (Date.now() - t0) / 1000;
    if (!(await page.evaluate(() => window.__noReload === true))) fail("the page reloaded to show the change");
    await waitText(page, "#main", /ended\./, "the end of the live output");
    noProblems("the live job's page");
    step(`a running job's page showed it completed ${secs.toFixed(1)} s after wnd had it so, without a reload`);

    // ---- a hidden page stops asking, and starts again when shown
    const other = await browser.newPage(); // a tab in front: this one is hidden
    await waitText(page, "#live", /paused/, "a hidden page");
    await new Promise((r) => setTimeout(r, 1500)); // a refresh under way ends
    const n = await refreshes(page);
    await new Promise((r) => setTimeout(r, 4000));
    const m = await refreshes(page);
    if (m > n) fail(`a hidden page refreshed ${m - n} times in 4 s`);
    await other.close();
    await page.bringToFront();
    await page
      .waitForFunction((k) => Number(document.body.dataset.refreshes || 0) > k, { timeout: 10000, polling: 50 }, m)
      .catch(() => fail("the page did not refresh again once shown"));
    step("a hidden page stops polling and starts again when shown");

    // ---- log out: the form comes back
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])", { timeout: 10000 }).catch(() => fail("no login form after logging out"));
    step("logging out asks for the token again");
  } finally {
    await browser.close();
  }
  step(`screenshots in ${SHOTS}`);
}

// serverSees(id, status, ms): the time at which JobService/Get first answers
// job id in status, asked over HTTP every 50 ms.
async function serverSees(id, status, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await fetch(`${BASE}v1/JobService/Get`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${SECRET}` },
      body: JSON.stringify({ id }),
    });
    const j = await r.json();
    if (j.status === status) return Date.now();
    if (Date.now() > deadline) fail(`job ${id} is ${j.status} after ${ms} ms, not ${status}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

// checkSweep: the results table shows what `wnctl --json sweep results` gives.
async function checkSweep(page) {
  const rows = await page.$$eval("table.results tbody tr", (trs) =>
    trs.map((tr) => {
      const cells = {};
      for (const td of tr.querySelectorAll("td")) cells[td.dataset.key] = td.textContent.trim();
      return { job: tr.dataset.job, cells };
    }),
  );
  if (rows.length !== RESULTS.length) fail(`the sweep page shows ${rows.length} jobs, wnctl ${RESULTS.length}`);
  const byId = new Map(rows.map((r) => [r.job, r.cells]));
  let numbers = 0;
  for (const want of RESULTS) {
    const got = byId.get(String(want.id));
    if (!got) fail(`the sweep page lacks job ${want.id}`);
    const where = `sweep page, job ${want.id}`;
    if (got.name !== want.name) fail(`${where}: name ${got.name}, wnctl says ${want.name}`);
    if (got.status !== want.status) fail(`${where}: status ${got.status}, wnctl says ${want.status}`);
    for (const [k, v] of Object.entries(want.params)) {
      if (got[`p:${k}`] !== v) fail(`${where}: parameter ${k} is ${got[`p:${k}`]}, wnctl says ${v}`);
    }
    for (const [k, v] of Object.entries(want.results)) {
      const cell = got[`r:${k}`];
      if (typeof v === "number") {
        if (Number(cell) !== v) fail(`${where}: result ${k} is ${cell}, wnctl says ${v}`);
        numbers++;
      } else if (cell !== v) fail(`${where}: result ${k} is ${cell}, wnctl says ${v}`);
    }
    for (const key of Object.keys(got)) {
      if (key.startsWith("r:") && !(key.slice(2) in want.results) && got[key] !== "-") {
        fail(`${where}: result ${key.slice(2)} is ${got[key]}, wnctl has none`);
      }
    }
  }
  if (numbers === 0) fail("the sweep reported no numbers to compare");
  // the plot of a result against a parameter has a point per job that reported it
  const points = await page.$$eval("figure.plot circle", (c) => c.length);
  if (points === 0) fail("the sweep's plot has no points");
  step(`the sweep page shows the ${RESULTS.length} jobs and ${numbers} numbers wnctl gives, and a plot of ${points} points`);
}

// checkJob: the job page lists its artifacts with the size and sha256 wnctl gives.
async function checkJob(page) {
  const text = await page.$eval("main", (e) => e.textContent);
  for (const a of JOB_JSON.artifacts || []) {
    if (!text.includes(a.path) || !text.includes(a.sha256)) fail(`the job page lacks artifact ${a.path} ${a.sha256}`);
  }
  if (!(JOB_JSON.artifacts || []).length) fail(`job ${JOB} has no artifact to show`);
  // its download: the content read from wnd in chunks, checked against its
  // sha256 in the page, saved as a file with the same bytes
  const a = JOB_JSON.artifacts.find((x) => x.stored);
  if (!a) fail(`job ${JOB} has no stored artifact`);
  const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "wn-dl-"));
  try {
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: dir });
    await page.click("main button");
    await waitText(page, "main", /sha256 checked/, "the artifact's download");
    const file = path.join(dir, path.basename(a.path));
    const deadline = Date.now() + 10000;
    while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!fs.existsSync(file)) fail(`the download of ${a.path} left no file ${file}`);
    const sum = require("crypto").createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    if (sum !== a.sha256) fail(`the downloaded ${a.path} has sha256 ${sum}, not ${a.sha256}`);
    await cdp.detach();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const [k, v] of Object.entries(JOB_JSON.params || {})) {
    if (!text.includes(k) || !text.includes(v)) fail(`the job page lacks parameter ${k}=${v}`);
  }
  step(`the job page shows job ${JOB}'s parameters and artifacts, and downloads ${a.path} whole`);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
