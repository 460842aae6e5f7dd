// Overview: every fraise × environment, what is live, what happened last, what runs now, and
// what needs attention. Redrawn on every status change (subscription) and, while something
// runs, every two seconds for its current step.

import { FAILED, clear, commitLink, debounce, duration, elapsedSince, h, link, notice,
  status, table, when } from "./ui.js";

const QUERY = `query Overview($since: Int!) {
  fraises { id type description environments {
    name branch status strategy health { ok detail since }
    liveRelease { releaseId activatedAt deployment { id trigger commitSha commitUrl
      commit { message author } } }
    lastDeployment { id status trigger errorMessage completedAt queuedAt durationSeconds }
  } }
  running: deploymentHistory(status: RUNNING, limit: 100) {
    id fraiseId environment startedAt steps { name status } }
  queued: deploymentHistory(status: QUEUED, limit: 100) { id fraiseId environment queuedAt }
  rejected: webhookEvents(outcome: REJECTED, limit: $since) {
    id provider reason hint receivedAt }
}`;

const STATUS_SUB = `subscription($after: Int) { deploymentStatusChanged(after: $after) {
  eventId deploymentId status } }`;
const HEALTH_SUB = `subscription($after: Int) { healthChanged(after: $after) { eventId ok } }`;
const WEBHOOK_SUB = `subscription($after: Int) { webhookReceived(after: $after) {
  eventId outcome } }`;

function current(running, queued, fraise, env) {
  const run = running.find((d) => d.fraiseId === fraise && d.environment === env);
  if (run) {
    const step = run.steps.find((s) => s.status === "RUNNING");
    return h("span", {}, status("RUNNING"), " ", link(`/deployment/${run.id}`, `#${run.id}`),
      step ? [" · ", h("strong", {}, step.name)] : null, " · ",
      h("span", { class: "elapsed", dataset: { since: run.startedAt || "" } },
        duration(elapsedSince(run.startedAt))));
  }
  const waiting = queued.filter((d) => d.fraiseId === fraise && d.environment === env);
  if (waiting.length) {
    return h("span", {}, status("QUEUED"), " ",
      waiting.map((d) => link(`/deployment/${d.id}`, `#${d.id}`)));
  }
  return h("span", { class: "muted" }, "idle");
}

function live(env) {
  const release = env.liveRelease;
  if (!release) return h("span", { class: "muted" }, "nothing live yet");
  const d = release.deployment;
  const commit = d && d.commit;
  return h("div", { class: "stack" },
    h("span", {}, d ? commitLink(d.commitSha, d.commitUrl) : null, " ",
      h("span", { class: "muted" }, "live "), when(release.activatedAt)),
    commit ? h("span", { class: "msg" }, commit.message.split("\n")[0],
      h("span", { class: "muted" }, ` — ${commit.author}`)) : null);
}

function last(env) {
  const d = env.lastDeployment;
  if (!d) return h("span", { class: "muted" }, "never deployed");
  return h("div", { class: "stack" },
    h("span", {}, status(d.status), " ", link(`/deployment/${d.id}`, `#${d.id}`), " ",
      h("span", { class: "muted" }, d.trigger.toLowerCase()), " ", when(d.completedAt || d.queuedAt)),
    d.errorMessage ? h("span", { class: "error-text" }, d.errorMessage) : null);
}

function attention(data) {
  const items = [];
  for (const fraise of data.fraises) {
    for (const env of fraise.environments) {
      const d = env.lastDeployment;
      if (d && FAILED.includes(d.status)) {
        items.push(h("li", {}, status(d.status), " ",
          link(`/deployment/${d.id}`, `${fraise.id}/${env.name} #${d.id}`), " ",
          when(d.completedAt), d.errorMessage ? h("span", { class: "error-text" }, ` ${d.errorMessage}`) : null));
      }
      if (env.health && !env.health.ok) {
        items.push(h("li", {}, h("span", { class: "badge s-failed" }, "health failing"), " ",
          link(`/releases?fraise=${fraise.id}&env=${env.name}`, `${fraise.id}/${env.name}`),
          " since ", when(env.health.since), h("span", { class: "error-text" }, ` ${env.health.detail}`)));
      }
    }
  }
  const hourAgo = Date.now() - 3600 * 1000;
  const rejected = data.rejected.filter((w) => Date.parse(w.receivedAt) >= hourAgo);
  if (rejected.length) {
    items.push(h("li", {}, status("REJECTED"), " ",
      link("/webhooks?outcome=REJECTED", `${rejected.length} webhook request(s) refused in the last hour`),
      ": ", rejected[0].reason, rejected[0].hint ? h("span", { class: "muted" }, ` — ${rejected[0].hint}`) : null));
  }
  return h("section", { class: "card attention", "aria-labelledby": "attention-title" },
    h("h2", { id: "attention-title" }, "Needs attention"),
    items.length ? h("ul", {}, items)
      : h("p", { class: "muted" }, "Nothing: every last deployment went fine, and every live release answers."));
}

export async function render(ctx, _params) {
  const body = h("div", { class: "overview" });
  clear(ctx.main, h("h1", {}, "Overview"), body);
  let timer = null;

  async function draw() {
    const data = await ctx.client.request(QUERY, { since: 50 });
    const sections = data.fraises.map((fraise) => h("section", { class: "fraise", "aria-label": fraise.id },
      h("h2", {}, fraise.id, " ", h("span", { class: "tag" }, fraise.type.toLowerCase()),
        fraise.description ? h("span", { class: "muted small" }, ` ${fraise.description}`) : null),
      table(["Environment", "Live release", "Last deployment", "Now", ""],
        fraise.environments.map((env) => [
          h("div", { class: "stack" }, h("strong", {}, env.name),
            h("span", { class: "muted small" }, `branch ${env.branch}`,
              env.strategy ? ` · ${env.strategy}` : "")),
          live(env), last(env), current(data.running, data.queued, fraise.id, env.name),
          h("span", { class: "actions" },
            link(`/releases?fraise=${fraise.id}&env=${env.name}`, "Releases"),
            ctx.can("DEPLOY") ? link(`/deploy?fraise=${fraise.id}&env=${env.name}`, "Deploy") : null),
        ]), { caption: `${fraise.id} environments` })));
    clear(body, attention(data), sections);
    clearInterval(timer);
    timer = data.running.length ? setInterval(() => refresh(), 2000) : null;
  }

  const refresh = debounce(() => draw().catch((e) => clear(body, notice("error", e.message))), 30);
  // The cursor is read before the data: a change committed after it reaches the page
  // through the subscriptions below, even one committed while the page draws.
  const eventCursor = await ctx.client.eventCursor();
  await draw();
  const tick = setInterval(() => {
    for (const el of body.querySelectorAll(".elapsed")) el.textContent = duration(elapsedSince(el.dataset.since));
  }, 1000);
  const stops = [
    ctx.client.subscribe(STATUS_SUB, { after: eventCursor }, {
      cursor: (d) => d.deploymentStatusChanged.eventId, next: refresh, onResume: refresh,
    }),
    ctx.client.subscribe(HEALTH_SUB, { after: eventCursor }, {
      cursor: (d) => d.healthChanged.eventId, next: refresh, onResume: refresh,
    }),
    ctx.client.subscribe(WEBHOOK_SUB, { after: eventCursor }, {
      cursor: (d) => d.webhookReceived.eventId,
      next: (d) => { if (d.webhookReceived.outcome === "REJECTED") refresh(); },
    }),
  ];
  return () => { clearInterval(timer); clearInterval(tick); stops.forEach((s) => s()); };
}
