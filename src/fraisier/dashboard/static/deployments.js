// Deployments: history filtered by fraise, environment, status and trigger, newest first,
// paged by keyset (`after` = the last id shown), so page N costs what page 1 costs.

import { clear, commitLink, debounce, duration, field, h, link, notice, select, status, table,
  when } from "./ui.js";

const STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "ROLLED_BACK", "ROLLBACK_FAILED",
  "CANCELLED", "SUPERSEDED", "INTERRUPTED"];
const TRIGGERS = ["WEBHOOK", "CLI", "API", "RETRY", "ROLLBACK", "SCHEDULE"];
const PAGE = 50;

const QUERY = `query History($fraise: String, $env: String, $status: DeploymentStatus,
    $trigger: Trigger, $after: ID, $limit: Int!) {
  deploymentHistory(fraiseId: $fraise, environment: $env, status: $status, trigger: $trigger,
      after: $after, limit: $limit) {
    id fraiseId environment status trigger commitSha commitUrl branch queuedAt durationSeconds
    errorMessage }
}`;
const FRAISES = `{ fraises { id environments { name } } }`;
const STATUS_SUB = `subscription($after: Int) { deploymentStatusChanged(after: $after) { eventId } }`;

function hashFor(params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  return `/deployments${query ? `?${query}` : ""}`;
}

export async function render(ctx, params) {
  const after = params.after ? Number(params.after) : null;
  const variables = {
    fraise: params.fraise || null, env: params.env || null, status: params.status || null,
    trigger: params.trigger || null, after, limit: PAGE,
  };
  // Before the rows; an older page does not follow changes and needs none.
  const eventCursor = after ? null : await ctx.client.eventCursor();
  // The filters' choices and the first page at once: one round trip, not two.
  const [{ fraises }, first] = await Promise.all([
    ctx.client.request(FRAISES), ctx.client.request(QUERY, variables)]);
  const envs = [...new Set(fraises.flatMap((f) => f.environments.map((e) => e.name)))];
  const filters = { fraise: params.fraise || "", env: params.env || "",
    status: params.status || "", trigger: params.trigger || "" };
  const form = h("form", { class: "filters", "aria-label": "Filters" },
    field("Fraise", select("fraise", [["", "all"], ...fraises.map((f) => [f.id, f.id])], filters.fraise)),
    field("Environment", select("env", [["", "all"], ...envs.map((e) => [e, e])], filters.env)),
    field("Status", select("status", [["", "all"], ...STATUSES.map((s) => [s, s.toLowerCase()])], filters.status)),
    field("Trigger", select("trigger", [["", "all"], ...TRIGGERS.map((t) => [t, t.toLowerCase()])], filters.trigger)));
  form.addEventListener("change", () => {
    const data = Object.fromEntries(new FormData(form));
    ctx.go(hashFor(data));
  });
  const results = h("div", { class: "results" });
  clear(ctx.main, h("h1", {}, "Deployments"), form, results);

  async function draw(ready) {
    const data = ready || await ctx.client.request(QUERY, variables);
    const rows = data.deploymentHistory;
    const pager = h("nav", { class: "pager", "aria-label": "Pages" },
      after ? link(hashFor(filters), "← Newest") : null,
      rows.length === PAGE ? link(hashFor({ ...filters, after: rows[rows.length - 1].id }), "Older →") : null);
    clear(results, table(["#", "Fraise / env", "Status", "Trigger", "Commit", "Queued", "Duration"],
      rows.map((d) => [
        link(`/deployment/${d.id}`, `#${d.id}`), `${d.fraiseId} / ${d.environment}`,
        h("span", { title: d.errorMessage || null }, status(d.status)), d.trigger.toLowerCase(),
        h("span", {}, commitLink(d.commitSha, d.commitUrl), " ", h("span", { class: "muted" }, d.branch)),
        when(d.queuedAt), duration(d.durationSeconds),
      ]), { caption: "Deployment history", empty: "No deployment matches these filters." }), pager);
  }
  await draw(first);
  if (after) return null;  // an older page does not move
  const refresh = debounce(() => draw(null).catch((e) => clear(results, notice("error", e.message))), 150);
  return ctx.client.subscribe(STATUS_SUB, { after: eventCursor }, {
    cursor: (d) => d.deploymentStatusChanged.eventId, next: refresh, onResume: refresh,
  });
}
