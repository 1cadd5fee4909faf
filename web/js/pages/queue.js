// The queue: each project's PENDING jobs in dispatch order, then those that
// cannot run now with the reason why (as `wnctl queue show`).
import { call, ApiError, orDenied } from "../api.js";
import { h, fill, putTable, link, num, jobHref, projectHref, queueHref, deniedNote } from "../dom.js";

const LIMIT = 200;
// Sections on the queue of every project: thousands of them, each asked for
// and drawn again at each refresh, held the browser for seconds.
const SECTIONS = 50;

export function mount(root, params) {
  const only = params.project || "";
  const pick = h("select", {
    "aria-label": "project",
    onchange: () => {
      location.hash = queueHref(pick.value);
    },
  });
  const box = h("div");
  const rest = h("p", { class: "muted rest", hidden: true });
  root.append(
    h("h1", null, only ? `Queue of ${only}` : "Queue"),
    h("div", { class: "controls" }, h("label", null, "project ", pick)),
    h("p", { class: "muted" }, "PENDING jobs in the order workers get them (higher priority first, then by id), then those that cannot run now and why."),
    box,
    rest,
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
    // Every project: one Stats call says which have PENDING jobs, and only
    // those are listed (a token limited to some projects gets the counts of
    // those: each other project is listed, and its queue refused); at most
    // SECTIONS of them, the others named below.
    let pending = null;
    if (!only) {
      const st = await orDenied(call("QueueService", "Stats", {}));
      if (!st.denied) pending = new Map((st.projects || []).map((x) => [x.project, num(x.pending)]));
    }
    const busy = only ? [only] : pending && names.length > SECTIONS ? names.filter((p) => !pending.has(p) || pending.get(p)) : names;
    const shown = busy.slice(0, SECTIONS);
    const inBusy = new Set(busy);
    const some = (list) => `${list.slice(0, 100).join(", ")}${list.length > 100 ? ", …" : ""}`;
    const more = busy.slice(SECTIONS);
    const quiet = names.filter((p) => !inBusy.has(p));
    rest.hidden = only !== "" || (more.length === 0 && quiet.length === 0);
    fill(
      rest,
      more.length ? h("span", null, `${more.length} more projects with PENDING jobs, not shown here (pick one above): ${some(more)}. `) : null,
      quiet.length ? `${quiet.length} project${quiet.length === 1 ? "" : "s"} with no PENDING job: ${some(quiet)}.` : null,
    );
    // null: a project the token may not see (one limited to some projects
    // lists them all), said in its section rather than hiding the others
    const lists = await Promise.all(
      shown.map((p) =>
        pending && pending.has(p) && !pending.get(p) ? { jobs: [], total: "0", waitingTotal: "0" } :
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
    box.querySelector(":scope > .none")?.remove();
    if (!shown.length) box.append(h("p", { class: "muted none" }, names.length ? "No PENDING jobs." : "No projects."));
  }
  return { title: only ? `Queue of ${only}` : "Queue", refresh };
}
