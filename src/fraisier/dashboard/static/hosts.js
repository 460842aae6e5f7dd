// Hosts and rollouts of fleet environments: per host (or slot) its live release, its wave,
// whether it takes the traffic, what the last deployment did there.

import { clear, commitLink, h, link, notice, table } from "./ui.js";

const QUERY = `{ fraises { id environments { name strategy
  hosts { host region wave address liveRelease serving commitSha lastDeploymentId lastOutcome error canaryWeights } } } }`;

export async function render(ctx) {
  const { fraises } = await ctx.client.request(QUERY);
  const parts = [];
  for (const f of fraises) {
    for (const e of f.environments) {
      if (!e.strategy) continue;
      const weights = e.hosts.find((x) => x.canaryWeights.length)?.canaryWeights;
      parts.push(h("section", { class: "fraise" },
        h("h2", {}, `${f.id} / ${e.name} `, h("span", { class: "tag" }, e.strategy.replace("_", "-")),
          weights ? h("span", { class: "muted small" }, ` canary steps ${weights.join("% → ")}%`) : null),
        table(["Host", "Region / wave", "Address", "Live release", "Traffic", "Last deployment", "Error"],
          e.hosts.map((x) => [h("strong", {}, x.host), `${x.region || "—"}${x.wave ? ` · wave ${x.wave}` : ""}`,
            x.address || "—", h("span", {}, h("code", {}, x.liveRelease || "—"), " ", commitLink(x.commitSha, null)),
            x.serving ? h("span", { class: "badge s-succeeded" }, "serving") : h("span", { class: "muted" }, "idle"),
            x.lastDeploymentId ? h("span", {}, link(`/deployment/${x.lastDeploymentId}`, `#${x.lastDeploymentId}`), ` ${x.lastOutcome || ""}`) : "—",
            x.error ? h("span", { class: "error-text" }, x.error) : "—"]),
          { caption: `Hosts of ${f.id}/${e.name}` })));
    }
  }
  clear(ctx.main, h("h1", {}, "Hosts and rollouts"),
    parts.length ? parts : notice("info", "No environment deploys to hosts or slots: every environment deploys on this machine."));
  return null;
}
