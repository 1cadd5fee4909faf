// The dashboard's shell: routes (#/...), the live refresh loop, the login.
import * as api from "./api.js";
import { h, fill } from "./dom.js";
import * as overview from "./pages/overview.js";
import * as project from "./pages/project.js";
import * as sweep from "./pages/sweep.js";
import * as job from "./pages/job.js";
import * as workers from "./pages/workers.js";
import * as queue from "./pages/queue.js";

const PERIOD_MS = 2000;

// Routes: a pattern of path segments (":x" takes one) and its page.
const routes = [
  { path: [], page: overview, nav: "projects" },
  { path: ["projects", ":name"], page: project, nav: "projects" },
  { path: ["sweeps", ":id"], page: sweep, nav: "projects" },
  { path: ["jobs", ":id"], page: job, nav: "projects" },
  { path: ["workers"], page: workers, nav: "workers" },
  { path: ["queue"], page: queue, nav: "queue" },
  { path: ["queue", ":project"], page: queue, nav: "queue" },
];

const $ = (id) => document.getElementById(id);
let view = null; // {page, refresh, gen}
let gen = 0; // bumped at every route change and login: stale refreshes stop
let timer = null;
let busy = false;
let needLogin = false;

function match(hash) {
  const parts = hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter((p) => p !== "")
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  for (const r of routes) {
    if (r.path.length !== parts.length) continue;
    const params = {};
    let ok = true;
    r.path.forEach((seg, i) => {
      if (seg.startsWith(":")) params[seg.slice(1)] = parts[i];
      else if (seg !== parts[i]) ok = false;
    });
    if (ok) return { route: r, params };
  }
  return null;
}

function route() {
  gen++;
  clearTimeout(timer);
  const main = $("main");
  const m = match(location.hash);
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", !!m && a.dataset.nav === m.route.nav);
  }
  if (!m) {
    view = null;
    fill(main, h("h1", null, "Not found"), h("p", null, "No page here. ", h("a", { href: "#/" }, "Projects")));
    setLive("");
    return;
  }
  const root = h("div", { class: "page" });
  fill(main, root);
  const v = m.route.page.mount(root, m.params);
  view = { refresh: v.refresh, gen };
  document.title = v.title ? `${v.title} · WhatsNext` : "WhatsNext";
  window.scrollTo(0, 0);
  tick();
}

// tick refreshes the page now, then every PERIOD_MS while it is shown.
async function tick() {
  clearTimeout(timer);
  if (!view || needLogin || document.hidden || busy) {
    setLive(document.hidden ? "paused" : needLogin ? "" : null);
    return;
  }
  const mine = view;
  const g = gen;
  busy = true;
  const t0 = performance.now();
  try {
    await mine.refresh(() => g === gen);
    if (g === gen) {
      banner("");
      // how many times the page has drawn from the server (tests wait on it)
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
      setLive(document.hidden ? "paused" : `live · ${new Date().toLocaleTimeString()}`);
    }
  } catch (e) {
    if (g === gen && !(e instanceof api.ApiError && e.status === 401)) {
      banner(e instanceof api.ApiError ? e.message : `error: ${e && e.message ? e.message : e}`);
      setLive(e instanceof api.ApiError && e.status === 0 ? "offline" : "error");
    }
  } finally {
    busy = false;
  }
  if (g !== gen) return tick();
  if (!needLogin && !document.hidden) {
    timer = setTimeout(tick, Math.max(250, PERIOD_MS - (performance.now() - t0)));
  }
}

function setLive(text) {
  if (text === null) return;
  const el = $("live");
  el.textContent = text;
  el.classList.toggle("paused", text === "paused" || text === "offline" || text === "error");
}

function banner(text) {
  const b = $("banner");
  b.textContent = text;
  b.hidden = !text;
}

// ---------------------------------------------------------------- login

function showLogin(err) {
  if (needLogin) return;
  needLogin = true;
  clearTimeout(timer);
  setLive("");
  // what the refused token read goes with it (the form's backdrop is see-through);
  // the login draws the page again
  gen++;
  view = null;
  fill($("main"));
  const hadToken = !!api.token();
  api.setToken("");
  updateLogout();
  $("login").hidden = false;
  loginError(hadToken ? `token refused: ${err.message}` : "");
  $("login-token").value = "";
  $("login-token").focus();
}

function loginError(text) {
  const e = $("login-error");
  e.textContent = text;
  e.hidden = !text;
}

async function submitLogin(ev) {
  ev.preventDefault();
  const secret = $("login-token").value.trim();
  if (!secret) return;
  const button = ev.target.querySelector("button");
  button.disabled = true;
  loginError("");
  try {
    await api.call("ProjectService", "List", {}, { token: secret, quiet: true });
    api.setToken(secret);
    needLogin = false;
    $("login").hidden = true;
    updateLogout();
    route();
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) loginError(`token refused: ${e.message}`);
    else if (e instanceof api.ApiError && e.status === 403) {
      // a token that may not list projects is still a token: let the pages say what it may see
      api.setToken(secret);
      needLogin = false;
      $("login").hidden = true;
      updateLogout();
      route();
    } else loginError(e && e.message ? e.message : String(e));
  } finally {
    button.disabled = false;
  }
}

function updateLogout() {
  $("logout").hidden = !api.token();
}

function logout(ev) {
  ev.preventDefault();
  api.setToken("");
  updateLogout();
  needLogin = false;
  route();
}

// ---------------------------------------------------------------- start

api.setUnauthenticatedHandler(showLogin);
$("login-form").addEventListener("submit", submitLogin);
$("logout").addEventListener("click", logout);
window.addEventListener("hashchange", route);
// a new width (a phone turned, a window resized): draw the charts for it now
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (!busy) tick();
  }, 150);
});
document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(timer);
    setLive("paused");
  } else tick();
});
updateLogout();
route();
