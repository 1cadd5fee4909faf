// Holds the dashboard open in the system's headless Chromium, for
// bench/dashboard.sh: each URL given in a page of its own, polling as a
// person's open tab does. Prints "open" once every page has drawn from the
// server; on SIGTERM prints how many calls the pages made and exits.
//
//   node hold-open.js URL...        (CHROMIUM: the browser, default /usr/bin/chromium)
"use strict";
const puppeteer = require("puppeteer-core");

async function main() {
  const urls = process.argv.slice(2);
  if (!urls.length) throw new Error("usage: node hold-open.js URL...");
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
  });
  let calls = 0;
  let errors = 0;
  const t0 = Date.now();
  const pages = [];
  for (const url of urls) {
    // a window of its own: a background tab would be hidden, and a hidden
    // dashboard page stops polling
    const page = await browser.newPage({ type: "window" });
    await page.setViewport({ width: 1280, height: 800 });
    page.on("response", (r) => {
      if (r.request().method() === "POST") calls++;
      if (r.status() >= 400) errors++;
    });
    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(() => Number(document.body.dataset.refreshes || 0) > 0, { timeout: 30000 });
    pages.push(page);
  }
  // every page keeps polling: a hidden one would pause
  const hidden = await Promise.all(pages.map((p) => p.evaluate(() => document.hidden)));
  if (hidden.some(Boolean)) throw new Error("a page is hidden: it would not poll");
  console.log("open");
  const start = { calls, t: Date.now() };
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    const secs = (Date.now() - start.t) / 1000;
    console.log(
      `dashboard: ${pages.length} page(s) open ${secs.toFixed(1)} s: ${calls - start.calls} calls ` +
        `(${((calls - start.calls) / secs).toFixed(1)}/s), ${errors} errors, ${((Date.now() - t0) / 1000).toFixed(1)} s in all`,
    );
    await browser.close();
    process.exit(errors ? 1 : 0);
  };
  process.on("SIGTERM", finish);
  process.on("SIGINT", finish);
  setInterval(() => {}, 1 << 30); // stay until a signal
}

main().catch((e) => {
  console.error(`hold-open: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
