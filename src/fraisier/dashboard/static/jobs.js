// Jobs, runs and backups: scheduled jobs with their last and next run, recorded runs (ETL,
// jobs, backups) and backups with their verification and the command that restores them.

import { clear, duration, field, h, select, status, table, when } from "./ui.js";

const FRAISES = `{ fraises { id environments { name } } }`;
const QUERY = `query Jobs($fraise: String!, $env: String!) {
  jobs(fraiseId: $fraise) { environment name kind scheduler schedule lastRun lastStatus lastExitCode nextRun }
  runs(fraiseId: $fraise, environment: $env, limit: 50) { id kind name trigger status startedAt durationSeconds exitCode error }
  backups(fraiseId: $fraise, environment: $env, limit: 50) { id job kind status sizeBytes verify verified verifyDetail startedAt error restoreCommand }
}`;

function copyButton(text) {
  const button = h("button", { type: "button", class: "secondary small" }, "Copy");
  button.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; }
    catch { button.textContent = "Select and copy"; }
  });
  return button;
}

export async function render(ctx, params) {
  const { fraises } = await ctx.client.request(FRAISES);
  const fraise = params.fraise || (fraises[0] && fraises[0].id) || "";
  const envs = (fraises.find((f) => f.id === fraise) || { environments: [] }).environments;
  const env = params.env || (envs[0] && envs[0].name) || "";
  const form = h("form", { class: "filters", "aria-label": "Environment" },
    field("Fraise", select("fraise", fraises.map((f) => [f.id, f.id]), fraise)),
    field("Environment", select("env", envs.map((e) => [e.name, e.name]), env)));
  form.addEventListener("change", (event) => {
    const data = Object.fromEntries(new FormData(form));
    if (event.target.name === "fraise") delete data.env;
    ctx.go(`/jobs?${new URLSearchParams(data)}`);
  });
  clear(ctx.main, h("h1", {}, "Jobs, runs and backups"), form);
  if (!fraise || !env) return null;
  const data = await ctx.client.request(QUERY, { fraise, env });
  ctx.main.append(
    h("h2", {}, "Scheduled jobs"),
    table(["Environment", "Job", "Kind", "Schedule (UTC)", "Scheduler", "Last run", "Next run"],
      data.jobs.map((j) => [j.environment, j.name, j.kind, j.schedule ? h("code", {}, j.schedule) : "—",
        j.scheduler, h("span", {}, j.lastStatus ? status(j.lastStatus) : null, " ", when(j.lastRun)), when(j.nextRun)]),
      { caption: "Scheduled jobs", empty: "No scheduled job." }),
    h("h2", {}, "Runs"),
    table(["#", "Kind", "Name", "Trigger", "Status", "Started", "Duration", "Exit"],
      data.runs.map((r) => [String(r.id), r.kind, r.name, r.trigger, h("span", { title: r.error || null }, status(r.status)),
        when(r.startedAt), duration(r.durationSeconds), r.exitCode == null ? "—" : String(r.exitCode)]),
      { caption: "Recorded runs", empty: "No run recorded." }),
    h("h2", {}, "Backups"),
    table(["#", "Job", "Status", "Size", "Verification", "Taken", "Restore"],
      data.backups.map((b) => [String(b.id), `${b.job} (${b.kind})`, status(b.status),
        b.sizeBytes == null ? "—" : `${Math.round(b.sizeBytes / 1024).toLocaleString()} KiB`,
        h("div", { class: "stack" }, `${b.verify}: ${b.verified || "not verified"}`,
          b.verifyDetail ? h("span", { class: "muted small" }, b.verifyDetail) : null),
        when(b.startedAt),
        b.status === "GOOD" || b.status === "good"
          ? h("div", { class: "copy" }, h("code", {}, b.restoreCommand), copyButton(b.restoreCommand))
          : h("span", { class: "error-text" }, b.error || "—")]),
      { caption: "Backups", empty: "No backup taken." }));
  return null;
}
