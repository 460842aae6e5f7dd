// Statistics: success rate and duration over time per fraise/environment, as SVG bar charts
// drawn from the daily rollups.

import { clear, duration, field, h, select } from "./ui.js";

const FRAISES = `{ fraises { id environments { name } } }`;
const QUERY = `query Stats($fraise: String, $env: String, $days: Int!) {
  deploymentStatistics(fraiseId: $fraise, environment: $env, timeRangeDays: $days) {
    totalDeployments successful failed rolledBack rollbackFailed interrupted successRate
    averageDurationSeconds p95DurationSeconds }
  deploymentDailyStatistics(fraiseId: $fraise, environment: $env, timeRangeDays: $days) {
    day total successful successRate averageDurationSeconds } }`;

// One slot per day of the range, so a day's bar keeps its place and width.
function slots(range) {
  const out = [];
  const today = Date.parse(new Date().toISOString().slice(0, 10));
  for (let i = range - 1; i >= 0; i--) out.push(new Date(today - i * 86400000).toISOString().slice(0, 10));
  return out;
}

function chart(title, daily, range, value, label, cls) {
  const width = 960, height = 160, pad = 56;
  const all = slots(range);
  const index = new Map(all.map((day, i) => [day, i]));
  const days = daily.filter((d) => index.has(d.day));
  const max = Math.max(...days.map(value), 0) || 1;
  const bar = (width - pad) / all.length;
  return h("figure", { class: "chart" },
    h("figcaption", {}, title),
    h("svg", { viewBox: `0 0 ${width} ${height + 18}`, role: "img", "aria-label": title },
      h("line", { x1: pad, y1: height, x2: width, y2: height, class: "axis" }),
      h("text", { x: 0, y: 12, class: "tick" }, label(max)),
      days.map((d) => {
        const v = value(d);
        const barHeight = Math.max(1, (v / max) * (height - 20));
        const slot = index.get(d.day);
        return h("g", {}, h("rect", { x: pad + slot * bar + 1, y: height - barHeight, width: Math.max(1, bar - 2), height: barHeight, class: cls(d) },
          h("title", {}, `${d.day}: ${label(v)} (${d.total} deployments)`)));
      }),
      h("text", { x: pad, y: height + 16, class: "tick" }, all[0]),
      h("text", { x: width, y: height + 16, class: "tick end" }, all[all.length - 1]),
      days.length ? null : h("text", { x: width / 2, y: height / 2, class: "tick mid" }, "no finished deployment in this range")));
}

export async function render(ctx, params) {
  const { fraises } = await ctx.client.request(FRAISES);
  const fraise = params.fraise || "";
  const envs = (fraises.find((f) => f.id === fraise) || { environments: [] }).environments;
  const env = fraise ? params.env || "" : "";
  const days = Number(params.days || 30);
  const form = h("form", { class: "filters", "aria-label": "Filters" },
    field("Fraise", select("fraise", [["", "all"], ...fraises.map((f) => [f.id, f.id])], fraise)),
    field("Environment", select("env", [["", "all"], ...envs.map((e) => [e.name, e.name])], env)),
    field("Range", select("days", [["7", "7 days"], ["30", "30 days"], ["90", "90 days"]], String(days))));
  form.addEventListener("change", (event) => {
    const data = Object.fromEntries(new FormData(form));
    if (event.target.name === "fraise") data.env = "";
    ctx.go(`/stats?${new URLSearchParams(Object.entries(data).filter(([, v]) => v))}`);
  });
  const data = await ctx.client.request(QUERY, { fraise: fraise || null, env: env || null, days });
  const s = data.deploymentStatistics;
  const daily = data.deploymentDailyStatistics;
  const card = (label, value) => h("div", { class: "stat card" }, h("span", { class: "muted small" }, label), h("strong", {}, value));
  clear(ctx.main, h("h1", {}, "Statistics"), form,
    h("div", { class: "stats" },
      card("Deployments", String(s.totalDeployments)),
      card("Success rate", s.successRate == null ? "—" : `${(s.successRate * 100).toFixed(1)} %`),
      card("Failed / rolled back", `${s.failed} / ${s.rolledBack}`),
      card("Rollback failed", String(s.rollbackFailed)),
      card("Average duration", duration(s.averageDurationSeconds)),
      card("p95 duration", duration(s.p95DurationSeconds))),
    chart("Success rate per day", daily, days, (d) => d.successRate, (v) => `${Math.round(v * 100)} %`,
      (d) => (d.successRate >= 0.9 ? "good" : d.successRate >= 0.6 ? "warn" : "bad")),
    chart("Average duration per day", daily, days, (d) => d.averageDurationSeconds || 0, (v) => duration(v), () => "neutral"),
    chart("Deployments per day", daily, days, (d) => d.total, (v) => String(Math.round(v)), () => "neutral"));
  return null;
}
