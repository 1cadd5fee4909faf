// A job: what it is, its times, why it waits or ended, its dependencies, its
// results and their history, its output (live while it runs), its artifacts.
import { call, ApiError } from "../api.js";
import {
  h, fill, link, putTable, fields, stateName, badge, when, duration, bytes, num, resultValue,
  byteCompare, base64Bytes, jobHref, sweepHref, projectHref, queueHref,
} from "../dom.js";
import { plot } from "../chart.js";

const LOG_CHUNK = 256 * 1024;
const LOG_KEEP = 512 * 1024; // characters of output the page holds

export function mount(root, params) {
  const id = params.id;
  const crumbs = h("p", { class: "crumbs" }, link("#/", "Projects"), " / ");
  const title = h("h1", null, `Job ${id}`);
  const status = h("p", { class: "status-line" });
  const why = h("div");
  const summary = h("div");
  const times = h("div");
  const paramsBox = h("div");
  const resultsBox = h("div");
  const histBox = h("div", { class: "plot-box" });
  const kSel = h("select", { "aria-label": "key", onchange: () => drawHistory() });
  const histSection = h(
    "section",
    { hidden: true },
    h("h2", null, "Reported history"),
    h("div", { class: "controls" }, h("label", null, "key ", kSel)),
    histBox,
  );
  const depsSection = h("section", { hidden: true }, h("h2", null, "Dependencies"));
  const depsBox = h("div");
  depsSection.append(depsBox);
  const logInfo = h("p", { class: "muted" });
  const logPre = h("pre", { class: "log", tabindex: "0", "aria-label": "output" });
  const artBox = h("div");
  const artSection = h("section", { hidden: true }, h("h2", null, "Artifacts"), artBox);
  root.append(
    crumbs,
    title,
    status,
    why,
    h("div", { class: "columns" }, h("section", null, h("h2", null, "Job"), summary), h("section", null, h("h2", null, "Times"), times)),
    h("section", null, h("h2", null, "Parameters"), paramsBox),
    h("section", null, h("h2", null, "Results"), resultsBox),
    histSection,
    depsSection,
    h("section", null, h("h2", null, "Output"), logInfo, logPre),
    artSection,
  );

  let job = null;
  let history = null;
  let histStatus = "";
  let depsKey = "";
  // The output as read so far: the attempt it is of, where to ask next, the
  // text decoded, whether the job ended with all of it read.
  let log = { attempt: 0, next: "0", text: "", ended: false, decoder: null, status: "" };

  async function refresh() {
    if (!/^[0-9]+$/.test(id)) {
      fill(why, h("p", { class: "error" }, `no job ${id}: a job is named by its number`));
      return;
    }
    try {
      job = await call("JobService", "Get", { id });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        fill(why, h("p", { class: "error" }, e.message));
        return;
      }
      throw e;
    }
    const st = stateName(job.status);
    title.textContent = `Job ${job.id} · ${job.name || ""}`;
    fill(
      crumbs,
      link("#/", "Projects"),
      " / ",
      link(projectHref(job.project), job.project),
      " / ",
      num(job.sweepId) ? [link(sweepHref(job.sweepId), `sweep ${job.sweepId}`), " / "] : null,
    );
    fill(status, badge(st), job.worker && st === "running" ? ` on ${job.worker}` : null);
    const notes = [];
    if (job.reason) notes.push(h("p", { class: `reason-box st-border-${st}` }, h("strong", null, "reason: "), job.reason));
    if (job.stopping) {
      // cancelled while it ran: the run has not yet said that it ended
      notes.push(
        h(
          "p",
          { class: `reason-box st-border-${st}` },
          h("strong", null, "stopping: "),
          `the run of attempt ${num(job.attempt)} on worker ${job.worker}, ${await stopHow(job.worker)}`,
        ),
      );
    }
    if (st === "pending" && job.waiting) {
      notes.push(
        h(
          "p",
          { class: "reason-box st-border-pending" },
          h("strong", null, "waiting: "),
          job.waiting,
          " ",
          link(queueHref(job.project), "(queue)"),
        ),
      );
    }
    fill(why, notes);
    fill(
      summary,
      fields([
        ["project", link(projectHref(job.project), job.project)],
        ["task", job.task],
        ["sweep", num(job.sweepId) ? link(sweepHref(job.sweepId), job.sweepId) : ""],
        ["status", st],
        ["priority", String(num(job.priority))],
        ["attempt", String(num(job.attempt))],
        ["worker", job.worker],
        ["exit code", st === "completed" || st === "failed" ? String(num(job.exitCode)) : ""],
        ["position", st === "pending" && num(job.position) >= 0 ? String(num(job.position)) : ""],
        ["leases lost", num(job.lost) ? String(num(job.lost)) : ""],
        ["failures", num(job.failures) ? String(num(job.failures)) : ""],
        ["external id", job.externalId],
        ["submitter", job.submitter],
      ]),
    );
    const created = num(job.createdMs);
    const started = num(job.startedMs);
    const finished = num(job.finishedMs);
    fill(
      times,
      fields([
        ["created", when(job.createdMs)],
        ["started", started ? h("span", null, when(job.startedMs), ` (queued ${duration(started - created)})`) : ""],
        ["finished", finished ? when(job.finishedMs) : ""],
        ["ran", num(job.durationMs) ? duration(job.durationMs) : st === "running" && started ? `${duration(Date.now() - started)} so far` : ""],
        ["lease expires", st === "running" ? when(job.leaseExpiresMs) : ""],
      ]),
    );
    const pk = Object.keys(job.params || {}).sort(byteCompare);
    putTable(paramsBox, ["parameter", "value"], pk.map((k) => [k, h("span", { class: "value" }, job.params[k])]), { class: "kv" });
    const rk = Object.keys(job.results || {}).sort(byteCompare);
    putTable(
      resultsBox,
      ["result", { label: "value", num: true }],
      rk.map((k) => {
        const v = resultValue(job.results[k]);
        return [k, v.present ? h("span", { class: "value", dataset: { key: k } }, v.text) : "-"];
      }),
      { class: "kv" },
    );
    await Promise.all([refreshHistory(), refreshDeps(), refreshLog()]);
    drawArtifacts();
  }

  // ------------------------------------------------------------ history

  async function refreshHistory() {
    if (history && histStatus === job.status && job.status !== "JOB_RUNNING") return;
    history = await call("JobService", "History", { id });
    histStatus = job.status;
    drawHistory();
  }

  function drawHistory() {
    const keys = (history.series || []).map((se) => se.key).sort(byteCompare);
    histSection.hidden = keys.length === 0;
    if (!keys.length) return;
    const cur = kSel.value && keys.includes(kSel.value) ? kSel.value : keys.includes("loss") ? "loss" : keys[0];
    const same = kSel.options.length === keys.length && [...kSel.options].every((o, i) => o.value === keys[i]);
    if (!same) fill(kSel, keys.map((k) => h("option", { value: k }, k)));
    kSel.value = cur;
    fill(histBox, historyChart(history, cur, histBox.clientWidth));
  }

  // ------------------------------------------------------------ dependencies

  async function refreshDeps() {
    const deps = job.deps || [];
    depsSection.hidden = deps.length === 0;
    if (!deps.length) return;
    const key = JSON.stringify(deps);
    if (key === depsKey && ["JOB_COMPLETED", "JOB_FAILED", "JOB_CANCELLED"].includes(job.status)) return;
    const r = await call("JobService", "Deps", { id });
    depsKey = key;
    const byId = new Map((r.jobs || []).map((j) => [j.id, j]));
    const seen = new Set();
    const tree = (j) => {
      const ul = h("ul", { class: "tree" });
      for (const d of j.deps || []) {
        const dj = byId.get(d.jobId);
        const dst = stateName(d.status || (dj && dj.status));
        const li = h(
          "li",
          null,
          link(jobHref(d.jobId), `job ${d.jobId}`),
          dj && dj.name ? ` ${dj.name} ` : " ",
          badge(dst),
          h("span", { class: "muted" }, ` ${(d.condition || "AFTEROK").toLowerCase()}`),
        );
        if (dj && (dj.deps || []).length) {
          if (seen.has(dj.id)) li.append(h("span", { class: "muted" }, " (its dependencies above)"));
          else {
            seen.add(dj.id);
            li.append(tree(dj));
          }
        }
        ul.append(li);
      }
      return ul;
    };
    fill(depsBox, h("p", { class: "muted" }, "This job runs once each condition holds:"), tree(byId.get(job.id) || job));
  }

  // ------------------------------------------------------------ output

  async function refreshLog() {
    if (log.ended && log.status === job.status) return;
    for (let round = 0; round < 8; round++) {
      const r = await call("JobService", "Log", { id, offset: log.next, attempt: log.attempt, maxBytes: LOG_CHUNK });
      const attempt = num(r.attempt);
      if (attempt === 0) {
        // nothing shipped while it ran: the tail the worker reported is what there is
        log = { attempt: 0, next: "0", text: job.outputTail || "", ended: !!r.ended, decoder: null, status: job.status };
        logInfo.textContent = job.outputTail
          ? "The end of its output, as its worker reported it."
          : st(job) === "pending"
            ? "No output yet: the job has not run."
            : "No output.";
        showLog(false);
        return;
      }
      if (attempt !== log.attempt) {
        log = { attempt, next: "0", text: "", ended: false, decoder: new TextDecoder("utf-8"), status: "" };
      }
      const off = BigInt(r.offset || "0");
      const data = base64Bytes(r.data);
      if (off > BigInt(log.next)) log.text += `[… ${off - BigInt(log.next)} bytes not kept …]\n`;
      log.text += log.decoder.decode(data, { stream: !r.ended });
      log.next = r.nextOffset || String(off + BigInt(data.length));
      log.ended = !!r.ended;
      log.status = job.status;
      if (log.text.length > LOG_KEEP) log.text = "[… earlier output cut …]\n" + log.text.slice(-LOG_KEEP);
      logInfo.textContent =
        `Attempt ${attempt}: ${bytes(r.end)} of output` +
        (num(r.start) ? ` (the first ${bytes(r.start)} not kept)` : "") +
        (r.ended ? ", ended." : ", live.");
      showLog(data.length > 0);
      if (data.length < LOG_CHUNK || r.ended) return;
    }
  }

  function showLog(grew) {
    const atEnd = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 4;
    if (logPre.textContent !== log.text) logPre.textContent = log.text;
    logPre.hidden = log.text === "";
    if (grew && atEnd) logPre.scrollTop = logPre.scrollHeight;
  }

  // ------------------------------------------------------------ artifacts

  function drawArtifacts() {
    const arts = job.artifacts || [];
    artSection.hidden = arts.length === 0;
    if (!arts.length) return;
    const key = JSON.stringify(arts);
    if (artBox.dataset.arts === key) return; // keep a download's message
    artBox.dataset.arts = key;
    putTable(
      artBox,
      ["path", { label: "size", num: true }, "sha256", "content"],
      arts.map((a) => [
        a.path,
        h("span", { title: `${num(a.size)} bytes` }, bytes(a.size)),
        h("code", { class: "hash" }, a.sha256 || ""),
        a.stored ? downloadButton(a) : h("span", { class: "muted" }, a.note || "not stored"),
      ]),
    );
  }

  function downloadButton(a) {
    const msg = h("span", { class: "muted" });
    const b = h("button", { type: "button", onclick: () => download(a, b, msg) }, "download");
    return h("span", null, b, " ", msg);
  }

  async function download(a, button, msg) {
    button.disabled = true;
    msg.textContent = "reading…";
    try {
      const parts = [];
      let offset = 0;
      for (;;) {
        const r = await call("JobService", "GetArtifact", { jobId: id, path: a.path, offset: String(offset), maxBytes: 1048576 });
        const data = base64Bytes(r.data);
        parts.push(data);
        offset += data.length;
        if (r.eof || data.length === 0) break;
      }
      const blob = new Blob(parts, { type: "application/octet-stream" });
      if (crypto.subtle) {
        const sum = [...new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()))]
          .map((x) => x.toString(16).padStart(2, "0"))
          .join("");
        if (sum !== a.sha256) throw new Error(`sha256 ${sum} differs from the listed one`);
      }
      const url = URL.createObjectURL(blob);
      const save = h("a", { href: url, download: a.path.split("/").pop() });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      msg.textContent = crypto.subtle ? "saved, sha256 checked" : "saved";
    } catch (e) {
      msg.textContent = `failed: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  }

  return { title: `Job ${id}`, refresh };
}

// stopHow(worker): how the worker of a run cancelled while it ran learns of
// it, as `wnctl job show` says: an ACTIVE worker is told with its next
// heartbeat; one away (lost, gone, removed) only when it comes back under its
// name; for a token that may not read workers, either. (The list of the
// ACTIVE workers, rather than a Get that a removed worker would answer 404.)
async function stopHow(worker) {
  let r;
  try {
    r = await call("WorkerService", "List", { state: "WORKER_ACTIVE" });
  } catch (e) {
    // unreachable, or the token refused: the page says so as for any call
    if (!(e instanceof ApiError) || e.status === 0 || e.status === 401) throw e;
    return "told to stop with the worker's next heartbeat, or when it comes back";
  }
  if ((r.workers || []).some((w) => w.name === worker && w.state === "WORKER_ACTIVE")) return "told to stop";
  return `to be told to stop when worker ${worker} comes back`;
}

function st(j) {
  return stateName(j.status);
}

// historyChart(history, key): the chart of one key of a ResultHistory.
export function historyChart(history, key, width) {
  const se = (history.series || []).find((x) => x.key === key);
  if (!se || !(se.points || []).length) return h("p", { class: "muted" }, "No numbers reported.");
  const pts = se.points.map((p) => ({
    x: num(p.seq),
    y: typeof p.value === "number" ? p.value : Number(p.value || 0),
    title: `report ${p.seq}: ${key}=${p.value ?? 0}`,
  }));
  const note = h(
    "p",
    { class: "muted" },
    `Attempt ${num(history.attempt)}: ${num(se.reported)} point${num(se.reported) === 1 ? "" : "s"} reported` +
      (num(se.stride) > 1 ? `, one kept of every ${num(se.stride)}` : "") +
      ".",
  );
  return h("div", null, plot({
      width,
      series: [{ name: "", points: pts, line: true }],
      x: { label: "report", kind: "linear", integer: true },
      y: { label: key, kind: "linear" },
    }), note);
}
