// API tokens (admin): list, create (shown once), revoke.

import { clear, field, h, notice, select, table, when } from "./ui.js";

const LIST = `{ apiTokens { name scope createdAt lastUsedAt revokedAt } }`;
const CREATE = `mutation($name: String!, $scope: TokenScope!) { createApiToken(name: $name, scope: $scope) { name token } }`;
const REVOKE = `mutation($name: String!) { revokeApiToken(name: $name) }`;

export async function render(ctx) {
  const message = h("div", { "aria-live": "polite" });
  const body = h("div", {});
  const name = h("input", { name: "name", required: true, pattern: "[a-z0-9][a-z0-9_-]*", autocomplete: "off" });
  const form = h("form", { class: "filters" }, field("Name", name),
    field("Scope", select("scope", [["READ", "read"], ["DEPLOY", "deploy"], ["ADMIN", "admin"]], "READ")),
    h("button", { type: "submit" }, "Create token"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = Object.fromEntries(new FormData(form));
      const made = (await ctx.client.request(CREATE, data)).createApiToken;
      clear(message, notice("info", `Token ${made.name} (shown once): `, h("code", { class: "secret" }, made.token)));
      form.reset();
      await draw();
    } catch (e) { clear(message, notice("error", e.message)); }
  });
  clear(ctx.main, h("h1", {}, "API tokens"), form, message, body);
  async function draw() {
    const { apiTokens } = await ctx.client.request(LIST);
    clear(body, table(["Name", "Scope", "Created", "Last used", "Revoked", ""],
      apiTokens.map((t) => [t.name, t.scope.toLowerCase(), when(t.createdAt), when(t.lastUsedAt), when(t.revokedAt),
        t.revokedAt ? null : h("button", { type: "button", class: "danger small", onclick: async () => {
          try { await ctx.client.request(REVOKE, { name: t.name }); await draw(); }
          catch (e) { clear(message, notice("error", e.message)); }
        } }, "Revoke")]), { caption: "API tokens" }));
  }
  await draw();
  return null;
}
