// A sweep: its progress, its results table (as `wnctl sweep results`), a plot
// of a result against a parameter, and the reported history of one of its jobs.
import { call, listJobs, ApiError } from "../api.js";
import {
  h, fill, link, fields, counts, stackBar, stateName, badge, when, num, byteCompare,
  resultValue, sortedKeys, own, jobHref, projectHref, STATES, viewState, keepView,
} from "../dom.js";
import { plot } from "../chart.js";
import { tile } from "./overview.js";
import { historyChart } from "./job.js";

// Rows of the results table a page: a sweep of thousands of jobs drawn whole
// held the browser for many seconds.
const ROWS = 500;

export function mount(root, params) {
  const id = params.id;
  const head = h("div");
  const tiles = h("div", { class: "tiles" });
  const progress = h("div");
  const results = h("div", { class: "scroll" });
  const count = h("p", { class: "muted" });
  const plotBox = h("div", { class: "plot-box" });
  const histBox = h("div", { class: "plot-box" });
  const title = h("h1", null, `Sweep ${id}`);
  const crumbs = h("p", { class: "crumbs" }, link("#/", "Projects"), " / ");

  // The results table's sort: a column key ("id", "name", "status", "p:NAME", "r:KEY").
  const kept = viewState({ key: "id", desc: false, firstRow: 0 });
  let sort = { key: String(kept.key), desc: kept.desc === true };
  let firstRow = Math.max(0, Math.floor(num(kept.firstRow))); // the first of the sorted rows shown
  const rowsInfo = h("span", { class: "muted" });
  const prevBtn = h("button", { type: "button", onclick: () => { firstRow = Math.max(0, firstRow - ROWS); drawTable(); } }, "← previous");
  const nextBtn = h("button", { type: "button", onclick: () => { firstRow += ROWS; drawTable(); } }, "next →");
  const pager = h("div", { class: "controls", hidden: true }, rowsInfo, prevBtn, nextBtn);
  const ySel = h("select", { "aria-label": "result", onchange: redraw });
  const xSel = h("select", { "aria-label": "parameter", onchange: redraw });
  const gSel = h("select", {
    "aria-label": "series by",
    onchange: () => {
      gSel.dataset.touched = "1";
      redraw();
    },
  });
  const logX = h("input", { type: "checkbox", onchange: () => { logXTouched = true; redraw(); } });
  let logXTouched = false;
  const jSel = h("select", { "aria-label": "job", onchange: () => { histJob = jSel.value; histCache = null; refreshHistory(); } });
  const kSel = h("select", { "aria-label": "key", onchange: () => { histKey = kSel.value; drawHistory(); } });
  let histJob = "";
  let histKey = "";
  let histCache = null; // {job, status, history}
  let jobs = [];
  let listedKey = "";
  let listedAt = 0;
  let drawnWidth = -1;

  root.append(
    crumbs,
    title,
    head,
    progress,
    tiles,
    h("section", null, h("h2", null, "Results"), count, pager, results),
    h(
      "section",
      null,
      h("h2", null, "A result against a parameter"),
      h(
        "div",
        { class: "controls" },
        h("label", null, "result ", ySel),
        h("label", null, "against ", xSel),
        h("label", null, "lines by ", gSel),
        h("label", null, logX, " log scale"),
      ),
      plotBox,
    ),
    h(
      "section",
      null,
      h("h2", null, "Reported history of a job"),
      h("div", { class: "controls" }, h("label", null, "job ", jSel), h("label", null, "key ", kSel)),
      histBox,
    ),
  );

  async function refresh() {
    if (!/^[0-9]+$/.test(id)) {
      fill(head, h("p", { class: "error" }, `no sweep ${id}: a sweep is named by its number`));
      return;
    }
    let sw;
    try {
      sw = await call("SweepService", "Get", { id });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        fill(head, h("p", { class: "error" }, e.message));
        return;
      }
      throw e;
    }
    // Its jobs change only while some run (they report results) or when the
    // counts move (a job ended, was retried or removed): a sweep at rest is
    // not listed again at every refresh (a List of its jobs costs wnd most).
    // A large sweep that runs is listed every 10 s (its counts every 2 s).
    const key = JSON.stringify([sw.total, ...STATES.map((st) => sw[st] || 0)]);
    const age = Date.now() - listedAt;
    const every = num(sw.total) > 1000 ? 10000 : 0;
    let listed = false;
    if ((key !== listedKey && age >= every) || (num(sw.running) > 0 && age >= every) || age > 30000) {
      jobs = await listJobs({ sweepId: id });
      listedKey = key;
      listedAt = Date.now();
      listed = true;
    }
    const name = sw.name || `sweep-${sw.id}`;
    title.textContent = `Sweep ${sw.id} · ${name}`;
    fill(crumbs, link("#/", "Projects"), " / ", link(projectHref(sw.project), sw.project), " / ");
    const c = counts(sw);
    // the counts are of the jobs still stored: retention and job remove take some away
    const gone = num(sw.total) - STATES.reduce((a, st) => a + c[st], 0);
    fill(
      head,
      fields([
        ["project", link(projectHref(sw.project), sw.project)],
        [
          "jobs",
          `${num(sw.total)} (ids ${sw.id}–${BigInt(sw.id) + BigInt(sw.total || 0) - 1n}` +
            (gone > 0 ? `; ${gone} removed)` : ")"),
        ],
        ["max running", num(sw.maxRunning) ? String(num(sw.maxRunning)) : "no cap"],
        ["created", when(sw.createdMs)],
      ]),
    );
    fill(progress, stackBar(c, num(sw.total)));
    fill(tiles, STATES.map((st) => tile(st, c[st], `st-${st}`)));
    // the table and the plot again only when the jobs or the page's width changed
    if (listed || plotBox.clientWidth !== drawnWidth) {
      if (listed) drawTable();
      fillSelects();
      redraw();
      drawnWidth = plotBox.clientWidth;
    }
    await refreshHistory();
  }

  // ------------------------------------------------------------ results table

  function columns() {
    const pk = sortedKeys(jobs, "params");
    const rk = sortedKeys(jobs, "results");
    return [
      { key: "id", label: "ID", num: true },
      { key: "name", label: "NAME" },
      ...pk.map((k) => ({ key: `p:${k}`, label: k, num: jobs.every((j) => isNum(own(j.params, k))) })),
      { key: "status", label: "STATUS" },
      ...rk.map((k) => ({
        key: `r:${k}`,
        label: k,
        num: jobs.every((j) => !own(j.results, k) || resultValue(own(j.results, k)).isNumber),
      })),
    ];
  }

  // cell(j, key): {text, sortNum, sortText, present} of job j in column key.
  function cell(j, key) {
    if (key === "id") return { text: j.id, n: Number(j.id), present: true };
    if (key === "name") return { text: j.name || "", present: true };
    if (key === "status") return { text: stateName(j.status), present: true };
    if (key.startsWith("p:")) {
      const v = own(j.params, key.slice(2));
      return { text: v === undefined ? "" : v, n: isNum(v) ? Number(v) : NaN, present: v !== undefined };
    }
    const rv = resultValue(own(j.results, key.slice(2)));
    return { text: rv.text, n: rv.number, present: rv.present, isNumber: rv.isNumber };
  }

  function drawTable() {
    const cols = columns();
    if (!cols.some((c) => c.key === sort.key)) sort = { key: "id", desc: false };
    const rows = [...jobs];
    rows.sort((a, b) => {
      const x = cell(a, sort.key);
      const y = cell(b, sort.key);
      // jobs lacking the key come last, either way
      if (x.present !== y.present) return x.present ? -1 : 1;
      let d = 0;
      if (Number.isFinite(x.n) && Number.isFinite(y.n)) d = x.n - y.n;
      else d = byteCompare(x.text, y.text);
      if (sort.desc) d = -d;
      return d || Number(a.id) - Number(b.id);
    });
    const thead = h(
      "thead",
      null,
      h(
        "tr",
        null,
        cols.map((c) => {
          const active = c.key === sort.key;
          const arrow = active ? (sort.desc ? " ▼" : " ▲") : "";
          return h(
            "th",
            {
              class: c.num ? "num" : null,
              scope: "col",
              "aria-sort": active ? (sort.desc ? "descending" : "ascending") : null,
            },
            h(
              "button",
              {
                type: "button",
                class: "sort",
                title: `sort by ${c.label}`,
                onclick: () => {
                  sort = { key: c.key, desc: sort.key === c.key ? !sort.desc : false };
                  firstRow = 0;
                  drawTable();
                },
              },
              c.label + arrow,
            ),
          );
        }),
      ),
    );
    if (firstRow >= rows.length) firstRow = Math.max(0, Math.floor((rows.length - 1) / ROWS) * ROWS);
    pager.hidden = rows.length <= ROWS;
    rowsInfo.textContent = `jobs ${firstRow + 1}–${Math.min(rows.length, firstRow + ROWS)} of ${rows.length}`;
    prevBtn.disabled = firstRow === 0;
    nextBtn.disabled = firstRow + ROWS >= rows.length;
    keepView({ key: sort.key, desc: sort.desc, firstRow, here: kept.here });
    const tbody = h("tbody");
    for (const j of rows.slice(firstRow, firstRow + ROWS)) {
      const tr = h("tr", { dataset: { job: j.id } });
      for (const c of cols) {
        const v = cell(j, c.key);
        let content = v.text;
        if (c.key === "id" || c.key === "name") content = link(jobHref(j.id), v.text);
        else if (c.key === "status") content = badge(v.text);
        else if (!v.present && c.key.startsWith("r:")) content = "-";
        tr.append(h("td", { class: c.num ? "num" : null, dataset: { key: c.key } }, content));
      }
      tbody.append(tr);
    }
    const old = results.querySelector("table");
    const t = h("table", { class: "results" }, thead, tbody);
    if (old) old.replaceWith(t);
    else results.append(t);
    count.textContent = `${jobs.length} job${jobs.length === 1 ? "" : "s"}; click a column to sort by it (jobs lacking the value last)`;
  }

  // ------------------------------------------------------------ result plot

  function setOptions(sel, values, keep, first) {
    const want = [...(first || []), ...values.map((v) => [v, v])];
    const same =
      sel.options.length === want.length && [...sel.options].every((o, i) => o.value === want[i][0]);
    if (!same) {
      fill(sel, want.map(([v, label]) => h("option", { value: v }, label)));
    }
    if (want.some(([v]) => v === keep)) sel.value = keep;
  }

  function numericResults() {
    return sortedKeys(jobs, "results").filter((k) =>
      jobs.some((j) => resultValue(own(j.results, k)).isNumber),
    );
  }

  // the parameters that vary across the sweep, the most varied first (ties:
  // the widest numeric range, then by name): the first is the default x
  function varying() {
    const pk = sortedKeys(jobs, "params");
    const info = pk.map((k) => {
      const vals = [...new Set(jobs.map((j) => own(j.params, k)).filter((v) => v !== undefined))];
      const nums = vals.every(isNum) ? vals.map(Number) : [];
      const pos = nums.length && nums.every((x) => x > 0);
      const ratio = pos ? most(nums) / least(nums) : 1;
      return { k, n: vals.length, numeric: nums.length > 0, ratio };
    });
    return info
      .filter((i) => i.n > 1)
      .sort((a, b) => b.numeric - a.numeric || b.n - a.n || b.ratio - a.ratio || byteCompare(a.k, b.k))
      .map((i) => i.k);
  }

  function fillSelects() {
    const rk = numericResults();
    const pk = sortedKeys(jobs, "params");
    const vary = varying();
    const y = ySel.value || (rk.includes("loss") ? "loss" : rk[0] || "");
    setOptions(ySel, rk, y);
    const x = xSel.value || vary[0] || pk[0] || "";
    setOptions(xSel, pk, x);
    // lines by the parameter that varies least among the others
    const g = gSel.dataset.touched ? gSel.value : [...vary].reverse().find((k) => k !== xSel.value) || "";
    setOptions(gSel, pk, g, [["", "none"]]);
  }

  function redraw() {
    const yk = ySel.value;
    const xk = xSel.value;
    if (!yk || !xk) {
      fill(plotBox, h("p", { class: "muted" }, jobs.length ? "No job has reported a number yet." : "No jobs."));
      return;
    }
    const gk = gSel.value && gSel.value !== xk ? gSel.value : "";
    const numericX = jobs.every((j) => isNum(own(j.params, xk)));
    const xs = jobs.map((j) => own(j.params, xk));
    let kind = "category";
    let categories = [];
    if (numericX) {
      const v = xs.map(Number);
      const pos = v.every((x) => x > 0);
      if (!logXTouched) logX.checked = pos && most(v) / least(v) >= 100;
      kind = logX.checked && pos ? "log" : "linear";
    } else {
      categories = [...new Set(xs.filter((x) => x !== undefined))].sort(byteCompare);
    }
    logX.disabled = !numericX;
    const groups = new Map();
    for (const j of jobs) {
      const rv = resultValue(own(j.results, yk));
      const xv = own(j.params, xk);
      if (!rv.isNumber || xv === undefined) continue;
      const g = gk ? `${gk}=${own(j.params, gk) ?? ""}` : "";
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push({
        x: numericX ? Number(xv) : xv,
        y: rv.number,
        title: `job ${j.id} ${j.name || ""}: ${xk}=${xv}, ${yk}=${rv.text} (${stateName(j.status)})`,
        href: jobHref(j.id),
      });
    }
    const names = [...groups.keys()].sort((a, b) => {
      const na = Number(a.slice(gk.length + 1));
      const nb = Number(b.slice(gk.length + 1));
      return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : byteCompare(a, b);
    });
    if (!names.length) {
      fill(plotBox, h("p", { class: "muted" }, `No job has reported ${yk} yet.`));
      return;
    }
    fill(
      plotBox,
      plot({
        width: plotBox.clientWidth,
        series: names.map((n) => ({ name: n, points: groups.get(n), line: !!gk })),
        x: { label: xk, kind, categories },
        y: { label: yk, kind: "linear" },
      }),
    );
  }

  // ------------------------------------------------------------ history

  async function refreshHistory() {
    const withNumbers = jobs.filter(
      (j) => j.status === "JOB_RUNNING" || Object.values(j.results || {}).some((v) => resultValue(v).isNumber),
    );
    const opts = withNumbers.map((j) => [j.id, `${j.id} ${j.name || ""} (${stateName(j.status)})`]);
    if (!histJob || !jobs.some((j) => j.id === histJob)) {
      const running = withNumbers.find((j) => j.status === "JOB_RUNNING");
      histJob = running ? running.id : withNumbers.length ? withNumbers[0].id : "";
    }
    const want = opts.map(([v]) => v);
    const same = jSel.options.length === want.length && [...jSel.options].every((o, i) => o.value === want[i] && o.textContent === opts[i][1]);
    if (!same) fill(jSel, opts.map(([v, l]) => h("option", { value: v }, l)));
    jSel.value = histJob;
    if (!histJob) {
      fill(histBox, h("p", { class: "muted" }, "No job has reported numbers yet."));
      return;
    }
    const j = jobs.find((x) => x.id === histJob);
    // a finished job's history no longer changes: ask once
    if (!histCache || histCache.job !== histJob || histCache.status === "JOB_RUNNING" || histCache.status !== j.status) {
      const hist = await call("JobService", "History", { id: histJob });
      histCache = { job: histJob, status: j.status, history: hist };
    }
    drawHistory();
  }

  function drawHistory() {
    if (!histCache) return;
    const series = histCache.history.series || [];
    const keys = series.map((se) => se.key).sort(byteCompare);
    if (!keys.includes(histKey)) histKey = keys.includes(ySel.value) ? ySel.value : keys[0] || "";
    setOptions(kSel, keys, histKey);
    fill(histBox, historyChart(histCache.history, histKey, histBox.clientWidth));
  }

  return { title: `Sweep ${id}`, refresh };
}

// most(a), least(a): the largest and smallest of numbers a (Math.max(...a)
// throws a RangeError past the engine's limit of arguments).
function most(a) {
  return a.reduce((m, x) => (x > m ? x : m), -Infinity);
}
function least(a) {
  return a.reduce((m, x) => (x < m ? x : m), Infinity);
}

function isNum(v) {
  return v !== undefined && v !== "" && Number.isFinite(Number(v));
}
