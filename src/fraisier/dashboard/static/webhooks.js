// Webhook deliveries: every request with its outcome, the reason, and what to fix when it
// was refused or ignored. Answers "my push did nothing".

import { clear, commitLink, debounce, field, h, link, notice, select, status, table,
  when } from "./ui.js";

const OUTCOMES = ["QUEUED", "IGNORED", "DUPLICATE", "REJECTED"];
const QUERY = `query Webhooks($outcome: WebhookOutcome, $provider: String) {
  webhookEvents(limit: 100, outcome: $outcome, provider: $provider) {
    id provider eventType deliveryId repository branch tag commitSha sender receivedAt outcome
    reason hint deploymentIds } }`;
const SUB = `subscription($after: Int) { webhookReceived(after: $after) { eventId } }`;

export async function render(ctx, params) {
  const filters = { outcome: params.outcome || "", provider: params.provider || "" };
  const form = h("form", { class: "filters", "aria-label": "Filters" },
    field("Outcome", select("outcome", [["", "all"], ...OUTCOMES.map((o) => [o, o.toLowerCase()])], filters.outcome)),
    field("Provider", select("provider", [["", "all"], ...["github", "gitlab", "gitea", "bitbucket"].map((p) => [p, p])], filters.provider)));
  form.addEventListener("change", () => {
    const data = Object.entries(Object.fromEntries(new FormData(form))).filter(([, v]) => v);
    ctx.go(`/webhooks${data.length ? `?${new URLSearchParams(data)}` : ""}`);
  });
  const body = h("div", {});
  clear(ctx.main, h("h1", {}, "Webhook deliveries"), form, body);

  async function draw() {
    const rows = (await ctx.client.request(QUERY, {
      outcome: filters.outcome || null, provider: filters.provider || null })).webhookEvents;
    clear(body, table(["Received", "Provider / event", "Repository", "Branch", "Commit", "Outcome", "Reason and what to fix", "Deployments"],
      rows.map((w) => [
        when(w.receivedAt),
        h("div", { class: "stack" }, w.provider, h("span", { class: "muted small" }, w.eventType)),
        w.repository || "—", w.branch || (w.tag ? `tag ${w.tag}` : "—"), commitLink(w.commitSha, null),
        status(w.outcome),
        h("div", { class: "stack" }, w.reason || "—", w.hint ? h("span", { class: "hint" }, w.hint) : null),
        w.deploymentIds.length ? h("span", {}, w.deploymentIds.map((id) => [link(`/deployment/${id}`, `#${id}`), " "])) : "—",
      ]), { caption: "Webhook deliveries, newest first", empty: "No webhook request received yet." }));
  }
  const eventCursor = await ctx.client.eventCursor();  // before the rows
  await draw();
  const refresh = debounce(() => draw().catch((e) => clear(body, notice("error", e.message))), 150);
  return ctx.client.subscribe(SUB, { after: eventCursor }, {
    cursor: (d) => d.webhookReceived.eventId, next: refresh, onResume: refresh,
  });
}
