// The queue: each project's PENDING jobs in dispatch order, then those that
// cannot run now with the reason why (as `wnctl queue show`).
import { call, ApiError, orDenied } from "../api.js";
import { h, fill, putTable, link, num, jobHref, projectHref, queueHref, deniedNote } from "../dom.js";

const LIMIT = 200;

export function mount(root, params) {
  const only = params.project || "";
  const pick = h("select", {
    "aria-label": "project",
    onchange: () => {
      location.hash = queueHref(pick.value);
    },
  });
  const box = h("div");
  root.append(
    h("h1", null, only ? `Queue of ${only}` : "Queue"),
    h("div", { class: "controls" }, h("label", null, "project ", pick)),
    h("p", { class: "muted" }, "PENDING jobs in the order workers get them (higher priority first, then by id), then those that cannot run now and why."),
    box,
  );
  const sections = new Map(); // project -> {section, info, table}

  async function refresh() {
    const pl = await orDenied(call("ProjectService", "List", {}));
    if (pl.denied) {
      for (const x of sections.values()) x.section.remove();
      sections.clear();
      fill(box, deniedNote("projects", pl.denied));
      return;
    }
    box.querySelector(":scope > .denied")?.remove();
    const names = (pl.projects || []).map((p) => p.name);
    const want = ["", ...names];
    if (pick.options.length !== want.length || [...pick.options].some((o, i) => o.value !== want[i])) {
      fill(pick, want.map((n) => h("option", { value: n }, n || "all projects")));
    }
    pick.value = only;
    const shown = only ? [only] : names;
    // Every project shown: one Stats call says which have PENDING jobs, and
    // only those are listed (a token limited to some projects may not ask
    // for all counts: then each project is listed).
    let pending = null;
    if (!only) {
      const st = await orDenied(call("QueueService", "Stats", {}));
      if (!st.denied) pending = new Map((st.projects || []).map((x) => [x.project, num(x.pending)]));
    }
    // null: a project the token may not see (one limited to some projects
    // lists them all), said in its section rather than hiding the others
    const lists = await Promise.all(
      shown.map((p) =>
        pending && !pending.get(p) ? { jobs: [], total: "0", waitingTotal: "0" } :
        call("QueueService", "List", { project: p, limit: LIMIT, includeWaiting: true }).catch((e) => {
          if (e instanceof ApiError && e.status === 403) return null;
          throw e;
        }),
      ),
    );
    for (const [p, s] of sections) if (!shown.includes(p)) { s.section.remove(); sections.delete(p); }
    shown.forEach((p, i) => {
      let s = sections.get(p);
      if (!s) {
        s = { info: h("span", { class: "muted" }), table: h("div") };
        s.section = h("section", null, h("h2", null, link(projectHref(p), p), " ", s.info), s.table);
        sections.set(p, s);
      }
      box.append(s.section); // keeps the order of `shown`
      const r = lists[i];
      if (r === null) {
        s.info.textContent = "not for this token";
        s.table.replaceChildren();
        return;
      }
      const jobs = r.jobs || [];
      const ready = num(r.total);
      const waiting = num(r.waitingTotal);
      s.info.textContent = `${ready} ready, ${waiting} waiting` + (jobs.length < ready + waiting ? ` (the first ${jobs.length} shown)` : "");
      putTable(
        s.table,
        [{ label: "position", num: true }, { label: "job", num: true }, "name", "task", { label: "priority", num: true }, "why not running"],
        jobs.map((j) => [
          num(j.position) >= 0 ? String(num(j.position)) : "waiting",
          link(jobHref(j.id), j.id),
          link(jobHref(j.id), j.name || ""),
          j.task || "",
          String(num(j.priority)),
          h("span", { class: "reason" }, j.waiting || ""),
        ]),
        { class: "queue" },
      );
    });
    if (!shown.length) fill(box, h("p", { class: "muted" }, "No projects."));
  }
  return { title: only ? `Queue of ${only}` : "Queue", refresh };
}
