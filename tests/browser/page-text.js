// Prints what a person reads on one dashboard page, in the system's headless
// Chromium: the text of the element SELECTOR (default main) once the page has
// drawn from the server, table cells apart by tabs. Exits 1, saying why, when
// the page does not draw within 15 s or answer within 60 s, throws, logs an
// error or warning, or opens a dialog (alert: a script injected through the
// server's data ran).
//
//   node page-text.js URL [SELECTOR]
//
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   WN_SECRET     a token's secret, logged in as the login form does
//   WN_ALLOW      HTTP statuses the page's calls may answer without it being an
//                 error, such as 403 for a token limited to some projects
//   WN_THEN       a shell command run once the page has drawn, such as one that
//                 revokes its token; then the text is read once WN_WAIT_FOR (a
//                 selector) is on the page
//   WN_STEPS      what a person does once the page has drawn, a step a line:
//                 "click SELECTOR", "back" or "forward" (the browser's
//                 buttons); after each, the page draws twice more
"use strict";
const puppeteer = require("puppeteer-core");

async function main() {
  const [url, selector = "main"] = process.argv.slice(2);
  if (!url) throw new Error("usage: node page-text.js URL [SELECTOR]");
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    const allowed = (process.env.WN_ALLOW || "").split(",").filter(Boolean);
    page.on("console", (m) => {
      const expected = allowed.some((st) => m.text().includes(`responded with a status of ${st} `));
      if ((m.type() === "error" || m.type() === "warn") && !expected) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    if (process.env.WN_SECRET) {
      await page.evaluateOnNewDocument((t) => sessionStorage.setItem("wn.token", t), process.env.WN_SECRET);
    }
    page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
    page.on("dialog", async (d) => {
      problems.push(`a dialog opened: ${d.type()} ${JSON.stringify(d.message())}`);
      await d.dismiss();
    });
    await page.goto(url, { waitUntil: "load" });
    await page
      .waitForFunction(() => Number(document.body.dataset.refreshes || 0) > 0, { timeout: 15000, polling: 50 })
      .catch(() => problems.push("the page did not draw from the server within 15 s"));
    for (const st of (process.env.WN_STEPS || "").split("\n").filter(Boolean)) {
      const n = await page.evaluate(() => Number(document.body.dataset.refreshes || 0));
      if (st.startsWith("click ")) await page.click(st.slice(6));
      else if (st === "back") await page.evaluate(() => history.back());
      else if (st === "forward") await page.evaluate(() => history.forward());
      else throw new Error(`no such step: ${st}`);
      await page
        .waitForFunction((k) => Number(document.body.dataset.refreshes || 0) > k + 1, { timeout: 15000, polling: 50 }, n)
        .catch(() => problems.push(`the page did not draw twice within 15 s of ${st}`));
    }
    if (process.env.WN_THEN) {
      require("child_process").execSync(process.env.WN_THEN, { stdio: ["ignore", "ignore", "inherit"] });
      await page
        .waitForSelector(process.env.WN_WAIT_FOR, { timeout: 30000 })
        .catch(() => problems.push(`no ${process.env.WN_WAIT_FOR} within 30 s of ${process.env.WN_THEN}`));
    }
    const text = await page.$eval(selector, (e) => e.innerText).catch(() => null);
    if (text === null) problems.push(`no element ${selector}`);
    else process.stdout.write(text + "\n");
  } finally {
    await browser.close();
  }
  if (problems.length) throw new Error(problems.join("\n  "));
}

// a page stuck in a loop of its own answers no evaluation: give up on it,
// after 60 s and the 15 s that each step and the last wait may take
const steps = (process.env.WN_STEPS || "").split("\n").filter(Boolean).length;
const limit = 60 + 15 * (steps + (process.env.WN_THEN ? 2 : 0));
setTimeout(() => {
  console.error(`page-text: the page did not answer within ${limit} s (a script stuck in a loop?)`);
  process.exit(1);
}, limit * 1000).unref();

main().catch((e) => {
  console.error(`page-text: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
