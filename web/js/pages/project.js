// A project: its counts, its sweeps with progress bars, its tasks, its jobs.
import { call, ApiError } from "../api.js";
import {
  h, fill, link, putTable, fields, counts, stackBar, stateName, badge, STATES, when, duration, mib, bytes,
  jobHref, sweepHref, queueHref, num, viewState, keepView,
} from "../dom.js";
import { tile } from "./overview.js";

const PAGE = 50;

export function mount(root, params) {
  const name = params.name;
  const head = h("div");
  const tiles = h("div", { class: "tiles" });
  const sweeps = h("div");
  const tasks = h("div");
  const jobs = h("div");
  const filter = h(
    "select",
    { "aria-label": "status", onchange: () => { pages = ["0"]; refresh(); } },
    h("option", { value: "" }, "any status"),
    STATES.map((st) => h("option", { value: `JOB_${st.toUpperCase()}` }, st)),
  );
  const kept = viewState({ pages: ["0"], status: "" });
  let pages = Array.isArray(kept.pages) && kept.pages.length ? kept.pages.map(String) : ["0"]; // after_id of each page seen, the last is shown
  filter.value = kept.status;
  if (filter.value !== kept.status) filter.value = "";
  let next = "0";
  const prevBtn = h("button", { type: "button", disabled: true, onclick: () => { if (pages.length > 1) { pages.pop(); refresh(); } } }, "← previous");
  const nextBtn = h("button", { type: "button", disabled: true, onclick: () => { if (next !== "0") { pages.push(next); refresh(); } } }, "next →");
  root.append(
    h("p", { class: "crumbs" }, link("#/", "Projects"), " / "),
    h("h1", null, name),
    head,
    tiles,
    h("section", null, h("h2", null, "Sweeps"), sweeps),
    h(
      "section",
      null,
      h("div", { class: "section-head" }, h("h2", null, "Jobs"), h("div", { class: "controls" }, filter, prevBtn, nextBtn)),
      h("p", { class: "muted" }, `In id order, ${PAGE} a page.`),
      jobs,
    ),
    h("section", null, h("h2", null, "Tasks"), tasks),
  );

  async function refresh() {
    let p;
    try {
      p = await call("ProjectService", "Get", { name });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        fill(head, h("p", { class: "error" }, e.message));
        return;
      }
      throw e;
    }
    keepView({ pages, status: filter.value, here: kept.here });
    const req = { project: name, pageSize: PAGE, afterId: pages[pages.length - 1] };
    if (filter.value) req.status = filter.value;
    const [stats, sw, tk, jl] = await Promise.all([
      call("QueueService", "Stats", { project: name }),
      call("SweepService", "List", { project: name }),
      call("TaskService", "List", { project: name }),
      call("JobService", "List", req),
    ]);
    fill(
      head,
      fields([
        ["status", stateName(p.status, "PROJECT_")],
        ["description", p.description],
        ["created", when(p.createdMs)],
        ["created by", p.createdBy],
        ["queue", link(queueHref(name), "dispatch order and why jobs wait")],
      ]),
    );
    const ps = (stats.projects || [])[0] || {};
    const c = counts(ps);
    fill(
      tiles,
      STATES.map((st) => tile(st, c[st], `st-${st}`)),
      num(ps.artifactBytes) ? tile("artifacts stored", bytes(ps.artifactBytes)) : null,
    );
    sweepTable(sweeps, sw.sweeps || []);
    putTable(
      tasks,
      ["task", "description", "resources", { label: "max attempts", num: true }, { label: "retries", num: true }, "timeout"],
        (tk.tasks || []).map((t) => [
          t.name,
          t.description || "",
          resources(t.resources),
          String(num(t.maxAttempts)),
          String(num(t.retries)),
          num(t.timeoutS) ? duration(num(t.timeoutS) * 1000) : "",
        ]),
    );
    next = jl.nextAfterId || "0";
    prevBtn.disabled = pages.length <= 1;
    nextBtn.disabled = next === "0";
    jobTable(jobs, jl.jobs || []);
  }
  return { title: name, refresh };
}

export function sweepTable(holder, list) {
  putTable(
    holder,
    [
      { label: "sweep", num: true },
      "name",
      "progress",
      { label: "done", num: true },
      { label: "running", num: true },
      { label: "pending", num: true },
      { label: "failed", num: true },
      { label: "max running", num: true },
      "created",
    ],
    list.map((s) => {
      const c = counts(s);
      const total = num(s.total);
      const done = c.completed + c.failed + c.cancelled;
      return [
        link(sweepHref(s.id), s.id),
        link(sweepHref(s.id), s.name || `sweep-${s.id}`),
        stackBar(c, total),
        `${done}/${total}`,
        String(c.running),
        String(c.pending + c.blocked),
        String(c.failed),
        num(s.maxRunning) ? String(num(s.maxRunning)) : "",
        when(s.createdMs),
      ];
    }),
    { class: "sweeps" },
  );
}

export function jobTable(holder, list) {
  putTable(
    holder,
    [{ label: "id", num: true }, "name", "task", "status", { label: "attempt", num: true }, "worker", "created", "ran", "reason"],
    list.map((j) => {
      const st = stateName(j.status);
      return [
        link(jobHref(j.id), j.id),
        link(jobHref(j.id), j.name || ""),
        j.task || "",
        badge(st),
        String(num(j.attempt)),
        j.worker || "",
        when(j.createdMs),
        num(j.durationMs) ? duration(j.durationMs) : "",
        h("span", { class: "reason" }, j.reason || j.waiting || ""),
      ];
    }),
    { class: "jobs" },
  );
}

export function resources(r) {
  if (!r) return "";
  const parts = [];
  if (num(r.cpu)) parts.push(`${num(r.cpu)} cpu`);
  if (num(r.gpu)) parts.push(`${num(r.gpu)} gpu`);
  if (num(r.memoryMb)) parts.push(mib(r.memoryMb));
  for (const [k, v] of Object.entries(r.labels || {})) parts.push(`${k}=${v}`);
  return parts.join(", ");
}
