// A small GraphQL client: queries and mutations over HTTP POST, subscriptions over one
// WebSocket speaking `graphql-transport-ws`. After a lost connection it reconnects with
// backoff and re-subscribes each subscription from the last event it saw (the API's `after`
// cursors), so no status change is missed.

const TOKEN_KEY = "fraisier.token";

export class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    this.codes = errors.map((e) => (e.extensions || {}).code);
  }
  get unauthenticated() {
    return this.codes.includes("UNAUTHENTICATED");
  }
}

export class Client {
  constructor(url) {
    this.url = url;
    this.token = sessionStorage.getItem(TOKEN_KEY) || null;
    this.onUnauthenticated = () => {};
    this.onConnection = () => {};
    this.live = null;
    // While the page's token is being checked, answers wait for the check (the requests
    // themselves go out at once): nothing is drawn for a token that turns out bad.
    this.gate = null;
  }

  setToken(token) {
    this.token = token || null;
    if (this.token) sessionStorage.setItem(TOKEN_KEY, this.token);
    else sessionStorage.removeItem(TOKEN_KEY);
    if (this.live) this.live.restart();
  }

  headers() {
    const headers = { "Content-Type": "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  async request(query, variables = {}, { token } = {}) {
    const headers = this.headers();
    if (token !== undefined) {
      if (token) headers.Authorization = `Bearer ${token}`;
      else delete headers.Authorization;
    }
    const response = await fetch(this.url, {
      method: "POST", headers, body: JSON.stringify({ query, variables }),
      credentials: "omit", cache: "no-store",
    });
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiError([{ message: `HTTP ${response.status} from the API` }]);
    }
    if (token === undefined && this.gate) await this.gate;
    if (body.errors && body.errors.length) {
      const error = new ApiError(body.errors);
      if (error.unauthenticated && token === undefined) this.onUnauthenticated(error);
      throw error;
    }
    return body.data;
  }

  // The newest event id. A view reads it before its data and subscribes with `after:` it,
  // so a change committed while the view draws still reaches it.
  async eventCursor() {
    return (await this.request("{ eventCursor }")).eventCursor;
  }

  subscribe(query, variables, handlers) {
    if (!this.live) this.live = new Live(this);
    return this.live.add(query, variables, handlers);
  }
}

// One WebSocket for every subscription of the page.
class Live {
  constructor(client) {
    this.client = client;
    this.subs = new Map();
    this.nextId = 1;
    this.socket = null;
    this.ready = false;
    this.delay = 250;
    this.timer = null;
    this.everConnected = false;
    this.connect();
  }

  wsUrl() {
    const url = new URL(this.client.url, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  state(value) {
    this.client.onConnection(value);
  }

  connect() {
    clearTimeout(this.timer);
    const socket = new WebSocket(this.wsUrl(), "graphql-transport-ws");
    this.socket = socket;
    this.ready = false;
    socket.onopen = () => {
      const payload = this.client.token ? { Authorization: `Bearer ${this.client.token}` } : {};
      socket.send(JSON.stringify({ type: "connection_init", payload }));
    };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.ready = false;
      if (event.code === 4403 || event.code === 4401) {
        this.client.onUnauthenticated(new ApiError([{ message: event.reason || "token refused" }]));
        return;
      }
      if (this.subs.size === 0) { this.socket = null; this.state("idle"); return; }
      this.state("reconnecting");
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 4000);
    };
  }

  restart() {
    const old = this.socket;
    this.socket = null;
    if (old) old.close();
    if (this.subs.size) this.connect();
  }

  receive(message) {
    if (message.type === "connection_ack") {
      this.ready = true;
      this.delay = 250;
      const resumed = this.everConnected;
      this.everConnected = true;
      this.state("live");
      for (const sub of this.subs.values()) {
        this.start(sub);
        if (resumed && sub.handlers.onResume) sub.handlers.onResume();
      }
    } else if (message.type === "ping") {
      this.socket.send(JSON.stringify({ type: "pong" }));
    } else if (message.type === "next") {
      const sub = this.subs.get(message.id);
      if (!sub) return;
      const data = message.payload.data;
      if (message.payload.errors && message.payload.errors.length) {
        this.failed(sub, message.payload.errors);
        return;
      }
      if (sub.handlers.cursor) {
        const cursor = sub.handlers.cursor(data);
        if (cursor != null) sub.after = cursor;
      }
      sub.handlers.next(data);
    } else if (message.type === "error") {
      const sub = this.subs.get(message.id);
      if (sub) this.failed(sub, message.payload);
    } else if (message.type === "complete") {
      const sub = this.subs.get(message.id);
      if (!sub) return;
      this.subs.delete(message.id);
      if (sub.handlers.complete) sub.handlers.complete();
    }
  }

  failed(sub, errors) {
    this.subs.delete(sub.id);
    const error = new ApiError(Array.isArray(errors) ? errors : [errors]);
    if (error.unauthenticated) this.client.onUnauthenticated(error);
    else if (sub.handlers.error) sub.handlers.error(error);
  }

  start(sub) {
    const variables = { ...sub.variables };
    if (sub.after != null) variables.after = sub.after;
    this.socket.send(JSON.stringify({
      id: sub.id, type: "subscribe", payload: { query: sub.query, variables },
    }));
  }

  add(query, variables, handlers) {
    const id = String(this.nextId++);
    const sub = { id, query, variables: variables || {}, handlers, after: variables?.after ?? null };
    this.subs.set(id, sub);
    if (!this.socket) this.connect();
    else if (this.ready) this.start(sub);
    return () => {
      if (!this.subs.delete(id)) return;
      if (this.ready) this.socket.send(JSON.stringify({ id, type: "complete" }));
    };
  }
}
