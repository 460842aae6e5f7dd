// Small DOM helpers shared by the views. Text always goes in as text nodes (never innerHTML),
// so nothing from the API can become markup.

export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "rect", "line", "text", "title", "g", "polyline", "circle"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return el;
}

const UNITS = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600],
  ["minute", 60], ["second", 1]];
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function ago(iso) {
  if (!iso) return "—";
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return relative.format(Math.round(seconds / size), unit);
    }
  }
  return iso;
}

// A relative time with the absolute one on hover (and for screen readers, in <time>).
export function when(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const absolute = new Date(iso).toLocaleString(undefined, { timeZoneName: "short" });
  return h("time", { datetime: iso, title: absolute, class: "rel" }, ago(iso));
}

// Who asked for a deployment: the token, the local user or the pusher; where from on hover.
export function requester(by) {
  if (!by) return null;
  const label = by.kind === "pusher" ? `${by.name} (push)` : by.kind === "token"
    ? `${by.name} (token)` : by.name;
  return h("span", { class: "requester", title: by.source }, label);
}

// Keep relative times current without redrawing the views.
setInterval(() => {
  for (const el of document.querySelectorAll("time.rel")) el.textContent = ago(el.dateTime);
}, 15000);

export function duration(seconds) {
  if (seconds == null) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function elapsedSince(iso) {
  return iso ? (Date.now() - Date.parse(iso)) / 1000 : null;
}

export function status(value) {
  const text = (value || "none").toLowerCase();
  return h("span", { class: `badge s-${text}` }, text.replace(/_/g, " "));
}

export function shortSha(sha) {
  return sha ? sha.slice(0, 10) : "—";
}

export function commitLink(sha, url) {
  if (!sha) return h("span", { class: "muted" }, "—");
  const code = h("code", {}, shortSha(sha));
  return url ? h("a", { href: url, rel: "noopener noreferrer", target: "_blank", title: sha }, code)
    : h("span", { title: sha }, code);
}

export function link(route, ...children) {
  return h("a", { href: `#${route}` }, ...children);
}

export function table(headers, rows, { caption, empty = "Nothing yet." } = {}) {
  const body = rows.length ? rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))
    : [h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, empty))];
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption || headers.join(", ") },
    h("table", {}, caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, body)));
}

export function field(label, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

export function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs },
    options.map(([v, text]) => h("option", { value: v, selected: v === (value ?? "") }, text)));
}

export function notice(kind, ...text) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...text);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// ANSI SGR colours (30–37, 90–97, bold, reset) into spans; any other escape is dropped.
const ANSI = /\x1b\[([0-9;]*)m/g;
export function ansi(line) {
  const out = [];
  let classes = [];
  let last = 0;
  const push = (text) => {
    if (!text) return;
    const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    out.push(classes.length ? h("span", { class: classes.join(" ") }, clean) : clean);
  };
  for (const match of line.matchAll(ANSI)) {
    push(line.slice(last, match.index));
    last = match.index + match[0].length;
    for (const code of (match[1] || "0").split(";").map(Number)) {
      if (code === 0) classes = [];
      else if (code === 1) classes.push("a-bold");
      else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) {
        classes = classes.filter((c) => !c.startsWith("a-c"));
        classes.push(`a-c${code}`);
      } else if (code === 39) classes = classes.filter((c) => !c.startsWith("a-c"));
    }
  }
  push(line.slice(last));
  return out;
}

export const FAILED = ["FAILED", "ROLLED_BACK", "ROLLBACK_FAILED", "INTERRUPTED"];
export const FINAL = ["SUCCEEDED", "CANCELLED", "SUPERSEDED", ...FAILED];
