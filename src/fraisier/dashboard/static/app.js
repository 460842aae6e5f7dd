// The dashboard shell: sign-in, navigation, the connection indicator and a hash router.
// Every view is a module exporting `render(ctx, params)`, which fills ctx.main and returns
// a function that stops its subscriptions and timers.

import { Client } from "./gql.js";
import { clear, field, h, notice } from "./ui.js";

const GRAPHQL = "/graphql";
const SCOPES = ["READ", "DEPLOY", "ADMIN"];

// Views load when first shown: the first page fetches the shell and one view, not all ten.
const ROUTES = [
  { path: "/", load: () => import("./overview.js"), title: "Overview", nav: true },
  { path: "/deployments", load: () => import("./deployments.js"), title: "Deployments", nav: true },
  { path: "/deployment", load: () => import("./deployment.js"), title: "Deployment" },
  { path: "/releases", load: () => import("./releases.js"), title: "Releases", nav: true },
  { path: "/deploy", load: () => import("./deploy.js"), title: "Deploy", nav: true, scope: "DEPLOY" },
  { path: "/webhooks", load: () => import("./webhooks.js"), title: "Webhooks", nav: true },
  { path: "/jobs", load: () => import("./jobs.js"), title: "Jobs & backups", nav: true },
  { path: "/stats", load: () => import("./stats.js"), title: "Statistics", nav: true },
  { path: "/hosts", load: () => import("./hosts.js"), title: "Hosts", nav: true },
  { path: "/tokens", load: () => import("./tokens.js"), title: "Tokens", nav: true, scope: "ADMIN" },
];

const main = document.getElementById("main");
const client = new Client(GRAPHQL);
const ctx = {
  client, main, viewer: null,
  can(scope) {
    return !!this.viewer && !this.viewer.anonymous
      && SCOPES.indexOf(this.viewer.scope) >= SCOPES.indexOf(scope);
  },
  go(route) { location.hash = `#${route}`; },
};
let stop = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean);
  const params = Object.fromEntries(new URLSearchParams(query));
  let route = ROUTES.find((r) => r.path === `/${parts[0] || ""}`);
  if (parts[1]) params.id = decodeURIComponent(parts[1]);
  return { route: route || ROUTES[0], params };
}

function drawNav(active) {
  const nav = document.getElementById("nav");
  const links = ROUTES.filter((r) => r.nav && (!r.scope || ctx.can(r.scope))).map((r) =>
    h("a", { href: `#${r.path}`, "aria-current": r === active ? "page" : null }, r.title));
  links.push(h("a", { href: GRAPHQL }, "Query"));
  clear(nav, links);
  const viewer = ctx.viewer;
  clear(document.getElementById("viewer"), viewer
    ? h("span", { class: "muted" }, viewer.anonymous ? "anonymous (read)"
      : `${viewer.name} · ${viewer.scope.toLowerCase()}`) : null);
  const signout = document.getElementById("signout");
  signout.hidden = !viewer;
  signout.textContent = viewer && viewer.anonymous ? "Sign in" : "Sign out";
}

async function route() {
  if (stop) { stop(); stop = null; }
  if (!ctx.viewer && !client.gate) return;
  const { route: current, params } = parseHash();
  const loading = current.load();
  // On the first load the token is still being checked: a view that needs a scope waits
  // for the answer; the others start their requests now (their answers wait for it).
  if (!ctx.viewer && current.scope && !(await client.gate)) return;
  Promise.resolve(client.gate).then(() => { if (ctx.viewer) drawNav(current); });
  document.title = `${current.title} · Fraisier`;
  if (current.scope && !ctx.can(current.scope)) {
    clear(main, notice("error", `This view needs a token with the ${current.scope.toLowerCase()} scope.`));
    return;
  }
  clear(main, h("p", { class: "muted" }, "Loading…"));
  try {
    const view = await loading;
    if (!ctx.viewer && !client.gate) return;
    stop = (await view.render(ctx, params)) || null;
    // For benchmarks/dashboard: when the view's data was first drawn.
    if (!performance.getEntriesByName("fraisier:first-view").length) performance.mark("fraisier:first-view");
  } catch (error) {
    if (!ctx.viewer) return;  // signed out meanwhile
    clear(main, notice("error", error.message));
  }
}

function signIn(message) {
  if (stop) { stop(); stop = null; }
  ctx.viewer = null;
  drawNav(null);
  clear(document.getElementById("nav"));
  const token = h("input", { type: "password", name: "token", autocomplete: "off",
    required: true, placeholder: "frs_…", "aria-describedby": "signin-help" });
  const form = h("form", { class: "signin card", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    message ? notice("error", message) : null,
    field("API token", token),
    h("p", { id: "signin-help", class: "muted" },
      "Create one with ", h("code", {}, "fraisier tokens create NAME --scope read|deploy|admin"),
      ". It is kept in this tab only and sent as a Bearer header."),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = await client.request("{ viewer { name scope anonymous } }", {},
        { token: token.value.trim() });
      client.setToken(token.value.trim());
      ctx.viewer = data.viewer;
      route();
    } catch (error) {
      signIn(error.unauthenticated ? "That token is not valid (unknown or revoked)." : error.message);
    }
  });
  clear(main, form);
  token.focus();
}

client.onUnauthenticated = () => {
  if (!ctx.viewer) return;  // already back at sign-in (several requests may fail at once)
  const hadToken = !!client.token;
  client.setToken(null);
  signIn(hadToken ? "Your token has expired or was revoked. Sign in again."
    : "This server needs an API token to read.");
};

client.onConnection = (state) => {
  const el = document.getElementById("connection");
  el.className = `connection c-${state}`;
  el.textContent = state === "reconnecting" ? "Connection lost — reconnecting…"
    : state === "live" ? "Live" : "";
};

document.getElementById("signout").addEventListener("click", () => {
  client.setToken(null);
  signIn(null);
});

window.addEventListener("hashchange", route);

async function boot() {
  const checking = client.request("{ viewer { name scope anonymous } }", {},
    { token: client.token || "" });
  client.gate = checking.then((data) => { ctx.viewer = data.viewer; return true; }, () => false);
  route();
  try {
    await checking;
  } catch (error) {
    if (client.token) {
      client.setToken(null);
      signIn("Your token has expired or was revoked. Sign in again.");
    } else {
      signIn(error.unauthenticated ? null : error.message);
    }
  } finally {
    client.gate = null;
  }
}

boot();
