// One deployment: its step timeline (with undo steps), its log streaming live (follow or
// pause, search, ANSI colours, failing lines highlighted), and cancel / retry / roll back.

import { FINAL, ansi, clear, commitLink, debounce, duration, h, link, notice, status,
  requester, when } from "./ui.js";

const QUERY = `query Deployment($id: ID!) { deployment(id: $id) {
  id fraiseId environment status trigger commitSha commitUrl branch release previousRelease
  queuedAt startedAt completedAt durationSeconds errorMessage retryOf supersededBy cancelRequested
  requestedBy { name kind source }
  commit { message author committedAt }
  steps { position name status startedAt completedAt error compensationStatus compensationError }
} }`;
const LOGS = `query Logs($id: ID!, $after: Int!) { deployment(id: $id) {
  logs(after: $after, limit: 500) { id stream line } } }`;
const LIVE = `subscription Live($id: ID!, $after: Int!) { deploymentLogs(id: $id, after: $after) {
  eventId kind line stream stepName stepStatus status errorMessage } }`;
const CANCEL = `mutation($id: ID!) { cancelDeployment(deploymentId: $id) { id status cancelRequested } }`;
const RETRY = `mutation($id: ID!) { retryDeployment(deploymentId: $id) { id } }`;

const BAD_LINE = /\b(error|failed|failure|fatal|traceback|exception|refused)\b/i;

function stepDuration(step) {
  if (!step.startedAt) return "";
  const end = step.completedAt ? Date.parse(step.completedAt) : Date.now();
  return duration((end - Date.parse(step.startedAt)) / 1000);
}

function timeline(steps) {
  if (!steps.length) return h("p", { class: "muted" }, "No step has started yet.");
  return h("ol", { class: "steps" }, steps.map((s) => h("li", { class: `step st-${s.status.toLowerCase()}` },
    h("span", { class: "step-name" }, s.name), " ", status(s.status), " ",
    h("span", { class: "muted" }, stepDuration(s)),
    s.error ? h("div", { class: s.status === "SKIPPED" ? "muted small" : "error-text" }, s.error) : null,
    s.compensationStatus ? h("div", { class: "undo" }, "↩ undo: ", status(s.compensationStatus),
      s.compensationError ? h("span", { class: "error-text" }, ` ${s.compensationError}`) : null) : null)));
}

class LogView {
  constructor() {
    this.lines = [];
    this.follow = true;
    this.pre = h("pre", { class: "log", tabindex: "0", "aria-label": "Deployment log", role: "log" });
    this.search = h("input", { type: "search", placeholder: "Search the log", "aria-label": "Search the log" });
    this.count = h("span", { class: "muted small", "aria-live": "polite" });
    this.followBox = h("input", { type: "checkbox", checked: true, id: "follow" });
    this.followBox.addEventListener("change", () => { this.follow = this.followBox.checked; this.scroll(); });
    this.pre.addEventListener("wheel", () => this.pauseIfScrolledUp());
    this.pre.addEventListener("keydown", () => this.pauseIfScrolledUp());
    this.search.addEventListener("input", debounce(() => this.filter(), 120));
    this.el = h("section", { class: "card", "aria-labelledby": "log-title" },
      h("div", { class: "log-bar" }, h("h2", { id: "log-title" }, "Log"),
        h("label", { class: "check" }, this.followBox, " Follow"), this.search, this.count),
      this.pre);
  }

  pauseIfScrolledUp() {
    setTimeout(() => {
      const atEnd = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
      if (!atEnd && this.follow) { this.follow = false; this.followBox.checked = false; }
    }, 50);
  }

  add(line, stream) {
    const bad = stream === "stderr" || BAD_LINE.test(line);
    const row = h("div", { class: `line${bad ? " bad" : ""}`, dataset: { text: line.toLowerCase() } }, ansi(line));
    this.lines.push(row);
    const term = this.search.value.trim().toLowerCase();
    if (term && !row.dataset.text.includes(term)) row.hidden = true;
    this.pre.append(row);
    this.scroll();
    this.updateCount();
  }

  marker(text, kind) {
    this.pre.append(h("div", { class: `line marker ${kind || ""}` }, text));
    this.scroll();
  }

  filter() {
    const term = this.search.value.trim().toLowerCase();
    for (const row of this.lines) row.hidden = !!term && !row.dataset.text.includes(term);
    this.updateCount();
  }

  updateCount() {
    const term = this.search.value.trim();
    const shown = term ? this.lines.filter((r) => !r.hidden).length : this.lines.length;
    this.count.textContent = term ? `${shown} of ${this.lines.length} lines` : `${this.lines.length} lines`;
  }

  scroll() {
    if (this.follow) this.pre.scrollTop = this.pre.scrollHeight;
  }
}

export async function render(ctx, params) {
  const id = Number(params.id);
  if (!Number.isInteger(id)) throw new Error("no deployment id in the address");
  const head = h("div", {});
  const steps = h("section", { class: "card", "aria-labelledby": "steps-title" });
  const actions = h("div", { class: "actions", role: "group", "aria-label": "Actions" });
  const message = h("div", { "aria-live": "polite" });
  const log = new LogView();
  clear(ctx.main, head, actions, message, h("div", { class: "split" }, steps, log.el));
  let d = null;

  async function draw() {
    d = (await ctx.client.request(QUERY, { id })).deployment;
    document.title = `#${d.id} ${d.fraiseId}/${d.environment} · Fraisier`;
    clear(head,
      h("h1", {}, `Deployment #${d.id} `, status(d.status)),
      h("dl", { class: "facts" },
        h("dt", {}, "Target"), h("dd", {}, `${d.fraiseId} / ${d.environment}`),
        h("dt", {}, "Commit"), h("dd", {}, commitLink(d.commitSha, d.commitUrl), " ",
          h("span", { class: "muted" }, d.branch),
          d.commit ? h("span", {}, ` ${d.commit.message.split("\n")[0]} — ${d.commit.author}`) : null),
        h("dt", {}, "Trigger"), h("dd", {}, d.trigger.toLowerCase(),
          d.retryOf ? [" of ", link(`/deployment/${d.retryOf}`, `#${d.retryOf}`)] : null,
          d.requestedBy ? [" by ", requester(d.requestedBy)] : null),
        h("dt", {}, "Release"), h("dd", {}, d.release || "—",
          d.previousRelease ? h("span", { class: "muted" }, ` (before: ${d.previousRelease})`) : null),
        h("dt", {}, "Queued"), h("dd", {}, when(d.queuedAt)),
        h("dt", {}, "Duration"), h("dd", {}, d.durationSeconds != null ? duration(d.durationSeconds)
          : d.startedAt ? "running" : "—"),
        d.supersededBy ? [h("dt", {}, "Superseded by"), h("dd", {}, link(`/deployment/${d.supersededBy}`, `#${d.supersededBy}`))] : null),
      d.errorMessage ? notice("error", d.errorMessage) : null,
      d.cancelRequested && !FINAL.includes(d.status) ? notice("info", "Cancel requested: the worker is stopping it and undoing its steps.") : null);
    clear(steps, h("h2", { id: "steps-title" }, "Steps"), timeline(d.steps));
    drawActions();
  }

  function drawActions() {
    const buttons = [];
    if (ctx.can("DEPLOY")) {
      if (["QUEUED", "RUNNING"].includes(d.status) && !d.cancelRequested) {
        buttons.push(h("button", { type: "button", class: "danger", onclick: () => act(CANCEL) }, "Cancel"));
      }
      if (FINAL.includes(d.status) && !["SUCCEEDED", "SUPERSEDED"].includes(d.status) && d.trigger !== "ROLLBACK") {
        buttons.push(h("button", { type: "button", onclick: () => act(RETRY, "retryDeployment") }, "Retry"));
      }
      buttons.push(link(`/releases?fraise=${d.fraiseId}&env=${d.environment}`, "Roll back…"));
    }
    clear(actions, buttons);
  }

  async function act(mutation, field) {
    clear(message);
    try {
      const data = await ctx.client.request(mutation, { id });
      if (field) ctx.go(`/deployment/${data[field].id}`);
      else await draw();
    } catch (error) {
      clear(message, notice("error", error.message));
    }
  }

  await draw();
  const refresh = debounce(() => draw().catch(() => {}), 150);
  if (FINAL.includes(d.status)) {
    // Finished: the recorded lines, page by page.
    let after = 0;
    for (;;) {
      const lines = (await ctx.client.request(LOGS, { id, after })).deployment.logs;
      for (const l of lines) log.add(l.line, l.stream);
      if (lines.length < 500) break;
      after = lines[lines.length - 1].id;
    }
    if (!log.lines.length) log.marker("(no output recorded)");
    return null;
  }
  // Running or queued: everything so far from the outbox, then live; on a reconnect the
  // client resumes after the last eventId it saw.
  return ctx.client.subscribe(LIVE, { id, after: 0 }, {
    cursor: (data) => data.deploymentLogs.eventId,
    next: (data) => {
      const e = data.deploymentLogs;
      if (e.kind === "LOG") log.add(e.line || "", e.stream);
      else if (e.kind === "STEP") {
        if (e.stepStatus === "RUNNING") log.marker(`▶ ${e.stepName}`);
        refresh();
      } else if (e.kind === "STATUS") {
        log.marker(`● ${e.status.toLowerCase()}${e.errorMessage ? `: ${e.errorMessage}` : ""}`,
          FINAL.includes(e.status) && e.status !== "SUCCEEDED" ? "bad" : "");
        refresh();
      }
    },
    onResume: refresh,
    complete: refresh,
    error: (error) => clear(message, notice("error", error.message)),
  });
}
