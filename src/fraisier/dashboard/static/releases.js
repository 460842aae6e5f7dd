// Releases of one environment: the live one marked, each with its commit and the deployment
// that built it; "Roll back to this" asks for confirmation and says what will happen.

import { clear, commitLink, field, h, link, notice, requester, select, status, table, when }
  from "./ui.js";

const FRAISES = `{ fraises { id environments { name } } }`;
const QUERY = `query Releases($fraise: String!, $env: String!) {
  releases(fraiseId: $fraise, environment: $env) {
    releaseId status commitSha createdAt activatedAt host
    deployment { id trigger commitUrl commit { message author }
      requestedBy { name kind source } } } }`;
const ROLLBACK = `mutation($fraise: String!, $env: String!, $to: String, $down: Boolean!) {
  rollback(fraiseId: $fraise, environment: $env, toRelease: $to, migrateDown: $down) { id } }`;

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
    ctx.go(`/releases?${new URLSearchParams(data)}`);
  });
  const body = h("div", {});
  const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title" });
  clear(ctx.main, h("h1", {}, "Releases"), form, body, dialog);
  if (!fraise || !env) { clear(body, notice("info", "No environment configured.")); return null; }

  const { releases } = await ctx.client.request(QUERY, { fraise, env });
  const live = releases.find((r) => r.status === "ACTIVE");

  function confirm(release) {
    const down = h("input", { type: "checkbox", id: "migrate-down" });
    const error = h("div", {});
    const go = h("button", { type: "button", class: "danger" }, `Roll back to ${release.releaseId}`);
    clear(dialog,
      h("h2", { id: "confirm-title" }, `Roll back ${fraise}/${env}?`),
      h("p", {}, "This queues a rollback deployment. A worker switches ", h("code", {}, "current"),
        ` from ${live ? live.releaseId : "the live release"}`,
        live ? [" (commit ", h("code", {}, live.commitSha.slice(0, 10)), ")"] : null,
        ` back to ${release.releaseId} (commit `, h("code", {}, release.commitSha.slice(0, 10)),
        "), restarts the app and checks its health. If that fails, the live release is put back."),
      h("p", {}, h("label", { class: "check" }, down,
        " Also migrate the database down (runs the live release's migrate.down to the revision ",
        release.releaseId, " was built with)")),
      error,
      h("div", { class: "actions" },
        go, h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Keep the live release")));
    go.addEventListener("click", async () => {
      go.disabled = true;
      try {
        const data = await ctx.client.request(ROLLBACK,
          { fraise, env, to: release.releaseId, down: down.checked });
        dialog.close();
        ctx.go(`/deployment/${data.rollback.id}`);
      } catch (e) {
        go.disabled = false;
        clear(error, notice("error", e.message));
      }
    });
    dialog.showModal();
    go.focus();
  }

  clear(body, table(["Release", "Status", "Commit", "Built", "Live since", "By", ""],
    releases.map((r) => [
      h("span", {}, h("code", {}, r.releaseId), r.status === "ACTIVE" ? h("span", { class: "badge current" }, "current") : null,
        r.host ? h("span", { class: "muted" }, ` on ${r.host}`) : null),
      status(r.status),
      h("div", { class: "stack" }, commitLink(r.commitSha, r.deployment && r.deployment.commitUrl),
        r.deployment && r.deployment.commit ? h("span", { class: "msg" }, r.deployment.commit.message.split("\n")[0]) : null),
      when(r.createdAt), when(r.activatedAt),
      r.deployment ? h("span", {}, link(`/deployment/${r.deployment.id}`, `#${r.deployment.id}`), " ",
        r.deployment.trigger.toLowerCase(),
        r.deployment.requestedBy ? [" by ", requester(r.deployment.requestedBy)] : null,
        r.deployment.commit ? ` · author ${r.deployment.commit.author}` : "") : "—",
      ctx.can("DEPLOY") && r.status === "PREVIOUS" && !r.host
        ? h("button", { type: "button", onclick: () => confirm(r) }, "Roll back to this") : null,
    ]), { caption: `Releases of ${fraise}/${env}`, empty: "No release yet." }));
  return () => { if (dialog.open) dialog.close(); };
}
