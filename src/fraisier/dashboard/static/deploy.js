// Deploy: choose a target, a commit (or the branch head) and force; then follow it live.

import { clear, field, h, notice, select } from "./ui.js";

const FRAISES = `{ fraises { id environments { name branch } } }`;
const DEPLOY = `mutation($fraise: String!, $env: String!, $sha: String, $force: Boolean!) {
  deploy(fraiseId: $fraise, environment: $env, commitSha: $sha, force: $force) { id } }`;

export async function render(ctx, params) {
  const { fraises } = await ctx.client.request(FRAISES);
  const targets = fraises.flatMap((f) => f.environments.map((e) => [`${f.id}/${e.name}`,
    `${f.id} / ${e.name} (branch ${e.branch})`]));
  const chosen = params.fraise && params.env ? `${params.fraise}/${params.env}` : targets[0]?.[0];
  const target = select("target", targets, chosen, { required: true });
  const sha = h("input", { name: "sha", placeholder: "head of the branch", autocomplete: "off",
    pattern: "[0-9a-fA-F]{7,40}", title: "a commit SHA (7 to 40 hex digits)" });
  const force = h("input", { type: "checkbox", name: "force", id: "force" });
  const error = h("div", {});
  const submit = h("button", { type: "submit" }, "Deploy");
  const form = h("form", { class: "card deploy" },
    field("Target", target),
    field("Commit", sha),
    h("p", { class: "muted small" }, "Leave empty to deploy the head of the environment's branch."),
    h("p", {}, h("label", { class: "check" }, force, " Force (deploy even if this commit is already live)")),
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(error);
    submit.disabled = true;
    const [fraise, env] = target.value.split("/");
    try {
      const data = await ctx.client.request(DEPLOY,
        { fraise, env, sha: sha.value.trim() || null, force: force.checked });
      ctx.go(`/deployment/${data.deploy.id}`);
    } catch (e) {
      submit.disabled = false;
      clear(error, notice("error", e.message));
    }
  });
  clear(ctx.main, h("h1", {}, "Deploy"), form);
  return null;
}
