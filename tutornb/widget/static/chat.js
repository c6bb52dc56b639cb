// tutornb chat panel — the browser half of tutornb.widget.ChatPanel (plain ESM for anywidget, no build).
//
// One controller per widget model (created in `initialize`) owns the session, the transport and the
// outbox; `render` only builds DOM and follows the controller. The controller speaks the chat frames of
// docs/architecture.md through one of two pipes with the same shape:
//   - RestPipe: the server extension's REST API and chat WebSocket (JupyterLab / Notebook 7),
//   - CommPipe: the widget's kernel comm, for places where the extension cannot be reached (VS Code, Colab).

const HOOK = "data-tutornb";
const OUTBOX_KEY = "tutornb:outbox:";
const REQUEST_TIMEOUT_MS = 60000;
const HISTORY_DEBOUNCE_MS = 200;
// Refusals that sending again cannot fix: the message leaves the outbox and goes back to the input
// box for the learner to edit. Any other error (STORE_UNAVAILABLE, QUOTA_EXCEEDED, RATE_LIMITED, a
// paused session, …) keeps it in the outbox for the next retry.
const PERMANENT_REFUSALS = new Set(["PAYLOAD_TOO_LARGE", "INVALID_REQUEST"]);
// Refusals that pass by themselves: the outbox is sent again after a pause, without waiting for
// the learner to press Retry.
const RETRY_SOON = new Set(["RATE_LIMITED", "STORE_UNAVAILABLE"]);
const RETRY_SOON_MS = 5000;

// ------------------------------------------------------------------------------------------------------
// small helpers

function uuid() {
  if (globalThis.crypto && typeof globalThis.crypto.randomUUID === "function") {
    return globalThis.crypto.randomUUID();
  }
  // Insecure contexts (plain http on a remote host) have no randomUUID; getRandomValues still exists.
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "hook") node.setAttribute(HOOK, value);
    else if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export function relativeTime(iso, now = Date.now()) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "";
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 45) return "just now";
  const minutes = seconds / 60;
  if (minutes < 90) return `${Math.max(1, Math.round(minutes))} min ago`;
  const hours = minutes / 60;
  if (hours < 36) return `${Math.round(hours)} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

function basename(path) {
  const parts = String(path || "").split("/");
  return parts[parts.length - 1] || String(path || "");
}

/** Markdown as a one-line preview: the markers go, the words stay. */
function plainText(markdown) {
  return String(markdown || "")
    .replace(/```[a-z]*\n?/gi, " ")
    .replace(/[*_`]+/g, "")
    .replace(/^#+\s*/gm, "")
    .replace(/\s+/g, " ")
    .trim();
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export class TutorError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code || "INTERNAL_ERROR";
  }
}

function asError(err) {
  if (err instanceof TutorError) return { code: err.code, message: err.message };
  if (err && typeof err === "object" && "code" in err) {
    return { code: String(err.code), message: String(err.message || err.code) };
  }
  return { code: "NETWORK_ERROR", message: "The tutor could not be reached." };
}

// ------------------------------------------------------------------------------------------------------
// HTML sanitizing. The server already sanitizes (nh3), but the page never trusts it blindly: the HTML is
// parsed in an inert document and rebuilt from an allowlist, so scripts, event handlers, javascript: URLs,
// ids, names, forms, styles and data-* attributes cannot reach the live page.

const ALLOWED_TAGS = new Set([
  "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt", "em",
  "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
  "s", "samp", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
  "tr", "u", "ul", "var",
]);
// Dropped together with everything inside them.
const DROPPED_TAGS = new Set([
  "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "template", "noscript",
  "link", "meta", "base", "form", "input", "button", "select", "option", "textarea", "svg", "math", "audio",
  "video", "source", "track", "canvas", "portal", "title", "head", "dialog",
]);
const GLOBAL_ATTRS = new Set(["class", "title", "lang", "dir"]);
const TAG_ATTRS = {
  a: ["href"],
  img: ["src", "alt", "width", "height"],
  td: ["colspan", "rowspan", "align"],
  th: ["colspan", "rowspan", "align", "scope"],
  ol: ["start"],
};
const URL_ATTRS = new Set(["href", "src"]);
const XHTML = "http://www.w3.org/1999/xhtml";

function isSafeUrl(value, attr) {
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"): so do we.
  const compact = String(value).replace(/[\u0000-\u0020\u007f-\u009f]/g, "").toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(compact);
  if (!scheme) return true; // relative URL or fragment
  if (scheme[1] === "http" || scheme[1] === "https") return true;
  return attr === "href" && scheme[1] === "mailto";
}

function cleanNode(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
  if (node.nodeType !== Node.ELEMENT_NODE) return null; // comments, processing instructions
  const tag = node.localName;
  if (node.namespaceURI !== XHTML || DROPPED_TAGS.has(tag)) return null;
  if (!ALLOWED_TAGS.has(tag)) {
    // Unknown but harmless wrappers (font, center, …): keep their content, lose the element.
    const fragment = document.createDocumentFragment();
    cleanChildren(node, fragment);
    return fragment;
  }
  const out = document.createElement(tag);
  const allowed = TAG_ATTRS[tag] || [];
  for (const attr of Array.from(node.attributes)) {
    const name = attr.name.toLowerCase();
    if (!GLOBAL_ATTRS.has(name) && !allowed.includes(name)) continue;
    if (URL_ATTRS.has(name) && !isSafeUrl(attr.value, name)) continue;
    out.setAttribute(name, attr.value);
  }
  if (tag === "a") {
    out.setAttribute("target", "_blank");
    out.setAttribute("rel", "noopener noreferrer nofollow");
  }
  if (tag === "img") out.setAttribute("referrerpolicy", "no-referrer");
  cleanChildren(node, out);
  return out;
}

function cleanChildren(from, to) {
  for (const child of Array.from(from.childNodes)) {
    const cleaned = cleanNode(child);
    if (cleaned) to.append(cleaned);
  }
}

/** Sanitized, live-document nodes for an HTML string (a DocumentFragment). */
export function sanitizeHtml(html) {
  // A DOMParser document is inert: its scripts never run and its images never load.
  const inert = new DOMParser().parseFromString(String(html), "text/html");
  const fragment = document.createDocumentFragment();
  cleanChildren(inert.body, fragment);
  return fragment;
}

// ------------------------------------------------------------------------------------------------------
// Outbox: learner messages not yet acknowledged, kept per session in localStorage so a reload or a dropped
// socket never loses them. They are re-sent with the same client_id, which the server stores only once.

const outboxStore = {
  load(sessionId) {
    try {
      const raw = globalThis.localStorage.getItem(OUTBOX_KEY + sessionId);
      const entries = raw ? JSON.parse(raw) : [];
      return Array.isArray(entries)
        ? entries.filter((e) => e && typeof e.client_id === "string" && typeof e.text === "string")
        : [];
    } catch {
      return [];
    }
  },
  save(sessionId, entries) {
    try {
      if (entries.length) {
        const plain = entries.map(({ client_id, text, created_at }) => ({ client_id, text, created_at }));
        globalThis.localStorage.setItem(OUTBOX_KEY + sessionId, JSON.stringify(plain));
      } else {
        globalThis.localStorage.removeItem(OUTBOX_KEY + sessionId);
      }
    } catch {
      // Storage disabled (sandboxed frames): the outbox still lives in memory for this page.
    }
  },
};

// ------------------------------------------------------------------------------------------------------
// Pipes

function pageConfig() {
  const node = document.getElementById("jupyter-config-data");
  if (!node) return null;
  try {
    return JSON.parse(node.textContent || "{}");
  } catch {
    return null;
  }
}

function xsrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? match[1] : "";
}

function withTimeout(ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

function filenameFrom(disposition, fallback) {
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      /* fall through */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition || "");
  return plain ? plain[1] : fallback;
}

/** The server extension's REST API and chat WebSocket, with the page's cookie and XSRF token. */
class RestPipe {
  constructor(baseUrl) {
    this.kind = "websocket";
    this.api = new URL("tutornb/api/", baseUrl).href;
  }

  static async probe() {
    const config = pageConfig();
    if (!config) return null;
    let base = config.baseUrl || "/";
    if (!base.endsWith("/")) base += "/";
    const baseUrl = new URL(base, globalThis.location.origin).href;
    const pipe = new RestPipe(baseUrl);
    try {
      await pipe.fetchJson("GET", "status", undefined, 5000);
      return pipe;
    } catch {
      return null;
    }
  }

  async fetchRaw(method, path, body, timeoutMs = REQUEST_TIMEOUT_MS) {
    const headers = { "X-XSRFToken": xsrfToken() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const timer = withTimeout(timeoutMs);
    let response;
    try {
      response = await fetch(this.api + path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timer.signal,
      });
    } catch {
      throw new TutorError("NETWORK_ERROR", "The tutor server could not be reached.");
    } finally {
      timer.done();
    }
    if (!response.ok) {
      let payload = {};
      try {
        payload = await response.json();
      } catch {
        /* not JSON */
      }
      throw new TutorError(payload.code || `HTTP_${response.status}`, payload.message || response.statusText);
    }
    return response;
  }

  async fetchJson(method, path, body, timeoutMs) {
    const response = await this.fetchRaw(method, path, body, timeoutMs);
    return response.status === 204 ? null : response.json();
  }

  request(method, params = {}) {
    const id = encodeURIComponent(params.session_id || "");
    switch (method) {
      case "status":
        return this.fetchJson("GET", "status");
      case "list_sessions": {
        const query = new URLSearchParams();
        for (const [key, value] of Object.entries(params)) {
          if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
        }
        return this.fetchJson("GET", `sessions?${query}`);
      }
      case "get_session":
        return this.fetchJson("GET", `sessions/${id}`);
      case "create_session":
        return this.fetchJson("POST", "sessions", params);
      case "change_status":
        return this.fetchJson("PUT", `sessions/${id}/${encodeURIComponent(params.action)}`);
      default:
        return Promise.reject(new TutorError("INVALID_REQUEST", `Unknown request ${method}`));
    }
  }

  async exportSession(sessionId, format) {
    const path = `sessions/${encodeURIComponent(sessionId)}/export?format=${encodeURIComponent(format)}`;
    const response = await this.fetchRaw("GET", path);
    const blob = await response.blob();
    const filename = filenameFrom(response.headers.get("Content-Disposition"), `tutornb-${sessionId}`);
    return { blob, filename };
  }

  openChat(sessionId, handlers) {
    const url = new URL(`sessions/${encodeURIComponent(sessionId)}/chat`, this.api);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return new SocketChat(url.href, handlers);
  }

  dispose() {}
}

/** A chat WebSocket that reconnects with exponential backoff until it is closed on purpose. */
class SocketChat {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.attempt = 0;
    this.closed = false;
    this.ws = null;
    this.timer = null;
    this.onOnline = () => this.retryNow();
    globalThis.addEventListener("online", this.onOnline);
    this.connect();
  }

  connect() {
    if (this.closed) return;
    this.timer = null;
    this.handlers.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.handlers.onStatus("online");
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.handlers.onFrame(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.closed) this.scheduleRetry();
    };
  }

  scheduleRetry() {
    this.attempt += 1;
    const delay = Math.min(15000, 500 * 2 ** (this.attempt - 1)) * (0.8 + Math.random() * 0.4);
    const offline = this.attempt > 4 || globalThis.navigator.onLine === false;
    this.handlers.onStatus(offline ? "offline" : "reconnecting");
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** A learner action while disconnected: try at once instead of waiting out the backoff. */
  retryNow() {
    if (this.closed || this.ws) return;
    if (this.timer) clearTimeout(this.timer);
    this.connect();
  }

  get online() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame) {
    if (!this.online) {
      this.retryNow();
      return false;
    }
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    globalThis.removeEventListener("online", this.onOnline);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
  }
}

/** The widget's kernel comm: requests keyed by a uuid, errors as data; chat frames verbatim. */
class CommPipe {
  constructor(model) {
    this.kind = "comm";
    this.model = model;
    this.waiting = new Map();
    this.chat = null;
    this.onMessage = (msg, buffers) => this.receive(msg, buffers);
    model.on("msg:custom", this.onMessage);
  }

  receive(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "response") {
      const pending = this.waiting.get(msg.id);
      if (!pending) return;
      this.waiting.delete(msg.id);
      clearTimeout(pending.timer);
      if (msg.ok) pending.resolve({ result: msg.result, buffers: buffers || [] });
      else pending.reject(new TutorError(msg.error?.code, msg.error?.message));
    } else if (msg.kind === "frame" && this.chat) {
      this.chat.receive(msg.session_id, msg.frame);
    }
  }

  call(method, params) {
    const id = uuid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new TutorError("TIMEOUT", "The kernel did not answer (is it busy or stopped?)."));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(id, { resolve, reject, timer });
      this.model.send({ kind: "request", id, method, params });
    });
  }

  async request(method, params = {}) {
    return (await this.call(method, params)).result;
  }

  async exportSession(sessionId, format) {
    const { result, buffers } = await this.call("export", { session_id: sessionId, format });
    const blob = new Blob(buffers.length ? [buffers[0]] : [], { type: result.media_type });
    return { blob, filename: result.filename };
  }

  openChat(sessionId, handlers) {
    if (this.chat) this.chat.close();
    this.chat = new CommChat(this, sessionId, handlers);
    return this.chat;
  }

  dispose() {
    this.model.off("msg:custom", this.onMessage);
    for (const pending of this.waiting.values()) clearTimeout(pending.timer);
    this.waiting.clear();
  }
}

class CommChat {
  constructor(pipe, sessionId, handlers) {
    this.pipe = pipe;
    this.sessionId = sessionId;
    this.handlers = handlers;
    this.closed = false;
    this.online = false;
    handlers.onStatus("connecting");
    pipe.model.send({ kind: "connect", session_id: sessionId });
  }

  receive(sessionId, frame) {
    if (this.closed || !frame) return;
    if (sessionId && sessionId !== this.sessionId) return; // a frame for the previous session
    if (frame.type === "session") {
      this.online = true;
      this.handlers.onStatus("online");
    }
    this.handlers.onFrame(frame);
  }

  send(frame) {
    if (this.closed) return false;
    this.pipe.model.send({ kind: "frame", frame });
    return true;
  }

  retryNow() {}

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pipe.model.send({ kind: "disconnect" });
    if (this.pipe.chat === this) this.pipe.chat = null;
  }
}

async function choosePipe(model) {
  const wanted = model.get("transport") || "auto";
  if (wanted !== "comm") {
    const rest = await RestPipe.probe();
    if (rest) return rest;
  }
  return new CommPipe(model);
}

// ------------------------------------------------------------------------------------------------------
// Controller: the panel's state, shared by every view of one model.

function courseContext(context) {
  const out = {};
  for (const key of ["course_id", "course_title", "module_id", "module_title", "notebook_path"]) {
    if (context && typeof context[key] === "string" && context[key]) out[key] = context[key];
  }
  return out;
}

class Controller {
  constructor(model) {
    this.model = model;
    this.listeners = new Set();
    this.pipe = null;
    this.chat = null;
    this.view = "loading"; // loading | offer | chat
    this.connection = "connecting";
    this.session = null; // summary fields of the open session
    this.messages = new Map(); // id -> stored message
    this.streaming = new Map(); // message_id -> text so far
    this.outbox = []; // {client_id, text, created_at, sentEpoch, failed}
    this.typing = false;
    this.error = null;
    this.candidates = [];
    this.offerIndex = 0;
    this.answered = new Set();
    this.epoch = 0; // bumps on every (re)connection
    this.wantActive = false;
    this.resumeSentEpoch = -1;
    this.history = { open: false, q: "", course_id: "", module_id: "", status: "", items: [], total: 0, seq: 0, loading: false, courses: [], modules: [] };
    this.disposed = false;
    this.started = null;
    this.returnedText = null;
    this.retryTimer = null;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(kind, detail) {
    for (const listener of Array.from(this.listeners)) listener(kind, detail);
  }

  get context() {
    return this.model.get("context") || {};
  }

  setConnection(state) {
    if (this.connection === state) return;
    this.connection = state;
    this.emit("status");
  }

  showError(err) {
    this.error = asError(err);
    this.emit("error");
  }

  clearError() {
    if (!this.error) return;
    this.error = null;
    this.emit("error");
  }

  ensureStarted() {
    if (!this.started) this.started = this.start().catch((err) => this.showError(err));
    return this.started;
  }

  async start() {
    this.setConnection("connecting");
    try {
      this.pipe = await choosePipe(this.model);
      if (this.pipe.kind === "comm") await this.pipe.request("status");
    } catch (err) {
      this.setConnection("offline");
      this.showError(err);
      this.view = "chat";
      this.emit("all");
      return;
    }
    if (this.disposed) return;
    this.setConnection("online");
    const wanted = this.model.get("session_id");
    if (wanted) {
      await this.openSession(wanted, { resume: !!this.model.get("auto_resume") });
      return;
    }
    await this.loadCandidates();
  }

  async loadCandidates() {
    const notebook = this.model.get("notebook_path");
    this.candidates = [];
    if (notebook) {
      try {
        const page = await this.pipe.request("list_sessions", {
          notebook_path: notebook,
          status: "active,paused",
          limit: 10,
        });
        // A session whose first message was refused holds nothing to resume: offering it would only confuse.
        this.candidates = (page.sessions || []).filter((s) => (s.message_count || 0) > 0);
      } catch (err) {
        this.showError(err);
      }
    }
    this.offerIndex = 0;
    this.view = this.candidates.length ? "offer" : "chat";
    this.emit("all");
  }

  startNew() {
    this.closeChat();
    this.session = null;
    this.messages = new Map();
    this.streaming.clear();
    this.outbox = [];
    this.typing = false;
    this.view = "chat";
    this.setSessionTrait("");
    this.emit("all");
  }

  setSessionTrait(id) {
    if (this.model.get("session_id") === id) return;
    this.model.set("session_id", id);
    this.model.save_changes();
  }

  closeChat() {
    if (this.chat) this.chat.close();
    this.chat = null;
  }

  async openSession(sessionId, { resume }) {
    this.closeChat();
    this.clearError();
    this.view = "chat";
    // Status unknown until the server's `session` frame: nothing is sent before it says "active".
    this.session = { id: sessionId, status: null, phase: "", title: "", context: {} };
    this.messages = new Map();
    this.streaming.clear();
    this.typing = false;
    this.wantActive = !!resume;
    this.outbox = outboxStore.load(sessionId).map((e) => ({ ...e, sentEpoch: -1, failed: null }));
    this.setSessionTrait(sessionId);
    this.emit("all");
    this.chat = this.pipe.openChat(sessionId, {
      onFrame: (frame) => this.onFrame(sessionId, frame),
      onStatus: (state) => {
        if (this.session && this.session.id === sessionId) this.setConnection(state);
      },
    });
  }

  saveOutbox() {
    if (this.session) outboxStore.save(this.session.id, this.outbox);
  }

  // -- frames ------------------------------------------------------------------------------------------

  onFrame(sessionId, frame) {
    if (!this.session || this.session.id !== sessionId || !frame || typeof frame !== "object") return;
    switch (frame.type) {
      case "session":
        return this.onSession(frame.session || {});
      case "ack":
        return this.onAck(frame);
      case "message":
        return this.onStoredMessage(frame.message, frame.stream_id);
      case "delta":
        return this.onDelta(frame);
      case "state":
        return this.onState(frame.session || {});
      case "error":
        return this.onErrorFrame(frame);
      default:
        return undefined;
    }
  }

  mergeSession(summary) {
    const { messages, ...rest } = summary;
    this.session = { ...this.session, ...rest };
  }

  onSession(detail) {
    this.epoch += 1;
    this.resumeSentEpoch = -1;
    this.mergeSession(detail);
    this.messages = new Map();
    for (const message of detail.messages || []) this.messages.set(message.id, message);
    this.streaming.clear();
    this.typing = false;
    this.dropStoredFromOutbox();
    if (this.session.status === "paused" && (this.wantActive || this.outbox.length)) this.requestResume();
    this.flushOutbox();
    this.emit("all");
  }

  /** Entries the server has stored leave the outbox, in memory and in localStorage. */
  dropFromOutbox(isStored) {
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((entry) => !isStored(entry.client_id));
    if (this.outbox.length !== before) this.saveOutbox();
  }

  dropStoredFromOutbox() {
    const stored = new Set();
    for (const message of this.messages.values()) if (message.client_id) stored.add(message.client_id);
    this.dropFromOutbox((clientId) => stored.has(clientId));
  }

  requestResume() {
    if (this.resumeSentEpoch === this.epoch || !this.chat) return;
    if (this.chat.send({ type: "resume" })) this.resumeSentEpoch = this.epoch;
  }

  flushOutbox(force = false) {
    if (!this.chat || !this.session || this.session.status !== "active") return;
    for (const entry of this.outbox) {
      if (!force && entry.sentEpoch === this.epoch) continue;
      if (this.chat.send({ type: "message", client_id: entry.client_id, text: entry.text })) {
        entry.sentEpoch = this.epoch;
        entry.failed = null;
        this.typing = true;
      }
    }
    this.emit("messages");
  }

  onAck(frame) {
    const message = frame.message;
    this.dropFromOutbox((clientId) => clientId === frame.client_id);
    if (message && message.id) {
      // An ack for a message already on screen is a resend's: no new tutor turn follows it.
      if (this.messages.has(message.id)) this.typing = false;
      this.messages.set(message.id, message);
    }
    if (this.error && ["RATE_LIMITED", "STORE_UNAVAILABLE", "QUOTA_EXCEEDED"].includes(this.error.code) && !this.outbox.some((e) => e.failed)) {
      this.clearError();
    }
    this.emit("messages");
  }

  // A tutor message names the stream its deltas came on (`stream_id`): that bubble becomes the message.
  onStoredMessage(message, streamId) {
    if (!message || !message.id) return;
    this.messages.set(message.id, message);
    if (message.client_id) this.dropFromOutbox((clientId) => clientId === message.client_id);
    if (message.role === "tutor") {
      const known = this.streaming.delete(streamId) || this.streaming.delete(message.id);
      if (!known && this.streaming.size === 1) this.streaming.clear();
      this.typing = false;
    }
    this.session = { ...this.session, message_count: Math.max(this.session.message_count || 0, message.seq || 0) };
    this.emit("messages");
  }

  // Deltas are the hot path (dozens per reply): only the first one of a stream changes the transcript's
  // shape; the rest just lengthen its bubble, which the view does without walking the transcript.
  onDelta(frame) {
    if (!frame.message_id || typeof frame.text !== "string") return;
    const known = this.streaming.get(frame.message_id);
    this.streaming.set(frame.message_id, (known || "") + frame.text);
    this.typing = false;
    if (known === undefined) this.emit("messages");
    else this.emit("delta", { id: frame.message_id, text: frame.text });
  }

  onState(summary) {
    const previous = this.session ? this.session.status : null;
    this.mergeSession(summary);
    if (this.session.status !== previous) this.resumeSentEpoch = -1;
    if (this.session.status === "active") this.flushOutbox();
    if (this.session.status === "closed") this.typing = false;
    this.emit("session");
  }

  onErrorFrame(frame) {
    this.typing = false;
    this.streaming.clear(); // a failed turn's partial text is not a message
    if (frame.client_id) {
      const entry = this.outbox.find((e) => e.client_id === frame.client_id);
      if (entry && PERMANENT_REFUSALS.has(frame.code)) {
        this.outbox = this.outbox.filter((e) => e !== entry);
        this.saveOutbox();
        this.returnedText = entry.text;
      } else if (entry) {
        entry.failed = { code: frame.code, message: frame.message };
        if (RETRY_SOON.has(frame.code)) this.retrySoon();
      }
    }
    if (frame.code === "SESSION_NOT_FOUND" && !frame.client_id) {
      this.closeChat();
      this.setConnection("offline");
    }
    this.error = { code: frame.code || "ERROR", message: frame.message || "" };
    this.emit("all");
  }

  // -- learner actions ---------------------------------------------------------------------------------

  async sendText(text) {
    if (!text.trim()) return false;
    this.clearError();
    if (!this.pipe) return false;
    const entry = { client_id: uuid(), text, created_at: new Date().toISOString(), sentEpoch: -1, failed: null };
    if (!this.session) {
      let created;
      try {
        created = await this.pipe.request("create_session", { context: courseContext(this.context) });
      } catch (err) {
        this.showError(err);
        return false;
      }
      outboxStore.save(created.id, [entry]);
      await this.openSession(created.id, { resume: true });
      this.typing = true;
      this.emit("messages");
      return true;
    }
    if (this.session.status === "closed") {
      this.showError({ code: "INVALID_SESSION_STATE", message: "This session is closed: start a new session to keep learning." });
      return false;
    }
    this.wantActive = true;
    this.outbox.push(entry);
    this.saveOutbox();
    if (this.session.status === "paused") this.requestResume();
    else this.flushOutbox();
    if (this.chat && !this.chat.online) this.chat.retryNow();
    this.emit("messages");
    return true;
  }

  retrySoon() {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.disposed && this.outbox.some((e) => e.failed)) this.flushOutbox(true);
    }, RETRY_SOON_MS);
  }

  retryOutbox() {
    this.clearError();
    if (this.chat && !this.chat.online) this.chat.retryNow();
    if (this.session && this.session.status === "paused") this.requestResume();
    this.flushOutbox(true);
  }

  answer(message, choice) {
    if (!this.chat || !message.quiz) return;
    const key = `${message.id}:${message.quiz.question_id}`;
    if (this.answered.has(key)) return;
    if (this.chat.send({ type: "answer", question_id: message.quiz.question_id, choice, client_id: uuid() })) {
      this.answered.add(key);
      this.typing = true;
      this.emit("messages");
    } else {
      this.showError({ code: "OFFLINE", message: "Not connected: your answer was not sent. Try again in a moment." });
    }
  }

  async changeStatus(action) {
    if (!this.session) return;
    this.clearError();
    if (action === "pause") this.wantActive = false;
    if (action === "resume") this.wantActive = true;
    try {
      const session = await this.pipe.request("change_status", { session_id: this.session.id, action });
      if (this.session && session && session.id === this.session.id) this.onState(session);
    } catch (err) {
      this.showError(err);
    }
  }

  async exportSession(format) {
    if (!this.session) return;
    this.clearError();
    try {
      const { blob, filename } = await this.pipe.exportSession(this.session.id, format);
      const url = URL.createObjectURL(blob);
      const anchor = el("a", { href: url, download: filename, hidden: true });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30000);
    } catch (err) {
      this.showError(err);
    }
  }

  // -- history -----------------------------------------------------------------------------------------

  async toggleHistory(open = !this.history.open) {
    this.history.open = open;
    this.emit("history");
    if (open) {
      await this.loadHistoryFilters();
      await this.searchHistory();
    }
  }

  async loadHistoryFilters() {
    if (!this.pipe) return;
    try {
      const page = await this.pipe.request("list_sessions", { limit: 200 });
      const courses = new Map();
      const modules = new Map();
      for (const s of page.sessions || []) {
        const c = s.context || {};
        if (c.course_id) courses.set(c.course_id, c.course_title || c.course_id);
        if (c.module_id) modules.set(c.module_id, c.module_title || c.module_id);
      }
      this.history.courses = Array.from(courses, ([id, title]) => ({ id, title }));
      this.history.modules = Array.from(modules, ([id, title]) => ({ id, title }));
      this.emit("history-filters");
    } catch {
      /* filters are a convenience; the search below reports errors */
    }
  }

  setHistoryFilter(key, value) {
    this.history[key] = value;
    return this.searchHistory();
  }

  async searchHistory() {
    if (!this.pipe) return;
    const h = this.history;
    const seq = ++h.seq;
    h.loading = true;
    this.emit("history-items");
    try {
      const page = await this.pipe.request("list_sessions", {
        q: h.q.trim(),
        course_id: h.course_id,
        module_id: h.module_id,
        status: h.status,
        limit: 50,
      });
      if (seq !== h.seq) return; // an older answer arriving late
      h.items = page.sessions || [];
      h.total = page.total || h.items.length;
    } catch (err) {
      if (seq !== h.seq) return;
      h.items = [];
      this.showError(err);
    }
    h.loading = false;
    this.emit("history-items");
  }

  openFromHistory(id) {
    this.history.open = false;
    this.emit("history");
    return this.openSession(id, { resume: false });
  }

  dispose() {
    this.disposed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.closeChat();
    if (this.pipe) this.pipe.dispose();
    this.listeners.clear();
  }
}

// anywidget hands `initialize` and `render` different proxies of one model, so the controller is found
// again through the model's own synced `panel_id`.
const controllers = new Map();

// ------------------------------------------------------------------------------------------------------
// View: DOM only, following the controller.

function headerText(context) {
  const course = context.course_title || context.course_id;
  const module = context.module_title || context.module_id;
  if (course && module) return `${course} › ${module}`;
  return course || module || "General tutor";
}

// Cells are counted from 1 for people, as the course tutor's own text does ("cell 8").
function citationText(c) {
  const parts = [basename(c.notebook_path), `cell ${Number(c.cell_index) + 1}`];
  if (c.heading) parts.push(c.heading);
  return parts.join(" · ");
}

class PanelView {
  constructor(ctrl, el) {
    this.ctrl = ctrl;
    this.root = el;
    this.nodes = new Map(); // key -> li
    this.build();
    this.unsubscribe = ctrl.subscribe((kind, detail) => this.update(kind, detail));
    this.update("all");
  }

  build() {
    const ctrl = this.ctrl;
    this.contextNode = el("div", { hook: "context", class: "tutornb-context" });
    this.phaseNode = el("span", { hook: "phase", class: "tutornb-badge tutornb-phase", title: "Phase" });
    this.statusNode = el("span", { hook: "status", class: "tutornb-status", role: "status" });
    const header = el("header", { class: "tutornb-header" }, [
      this.contextNode,
      el("div", { class: "tutornb-badges" }, [this.phaseNode, this.statusNode]),
    ]);

    this.pauseButton = el("button", { type: "button", hook: "pause", class: "tutornb-button", text: "Pause", onClick: () => ctrl.changeStatus("pause") });
    this.resumeSlot = el("span", { class: "tutornb-slot" });
    this.closeButton = el("button", { type: "button", hook: "close", class: "tutornb-button", text: "Close", title: "End this session for good", onClick: () => ctrl.changeStatus("close") });
    this.exportFormat = el("select", { class: "tutornb-select", "aria-label": "Export format" }, [
      el("option", { value: "json", text: "JSON" }),
      el("option", { value: "markdown", text: "Markdown" }),
      el("option", { value: "ipynb", text: "Notebook" }),
    ]);
    this.exportButton = el("button", { type: "button", hook: "export", class: "tutornb-button", text: "Export", onClick: () => ctrl.exportSession(this.exportFormat.value) });
    this.historyButton = el("button", { type: "button", hook: "history", class: "tutornb-button", text: "History", "aria-expanded": "false", onClick: () => ctrl.toggleHistory() });
    this.newButtonSlot = el("span", { class: "tutornb-slot" });
    const toolbar = el("div", { class: "tutornb-toolbar", role: "toolbar", "aria-label": "Session controls" }, [
      this.pauseButton, this.resumeSlot, this.closeButton, this.newButtonSlot,
      el("span", { class: "tutornb-spacer" }),
      this.exportFormat, this.exportButton, this.historyButton,
    ]);

    this.noteNode = el("p", { class: "tutornb-note" });
    this.errorSlot = el("div", { class: "tutornb-slot" });
    this.offerSlot = el("div", { class: "tutornb-slot" });
    this.historySlot = this.buildHistory();
    this.messagesNode = el("ol", { hook: "messages", class: "tutornb-messages", "aria-live": "polite", "aria-label": "Conversation", role: "log" });
    this.typingNode = el("div", { class: "tutornb-typing", "aria-hidden": "true", hidden: true }, [
      el("span", { class: "tutornb-dot" }), el("span", { class: "tutornb-dot" }), el("span", { class: "tutornb-dot" }),
      el("span", { class: "tutornb-typing-label", text: "Tutor is typing" }),
    ]);
    this.input = el("textarea", { hook: "input", class: "tutornb-input", rows: 2, placeholder: "Ask the tutor… (Enter to send, Shift+Enter for a new line)", "aria-label": "Message to the tutor" });
    this.input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault();
      if (!event.shiftKey) {
        this.submit();
        return;
      }
      // JupyterLab cancels a line break typed anywhere inside a notebook cell (its outputs too),
      // so the panel inserts Shift+Enter's newline itself (as typed text, so Undo still works).
      if (!document.execCommand("insertText", false, "\n")) {
        this.input.setRangeText("\n", this.input.selectionStart, this.input.selectionEnd, "end");
      }
    });
    this.sendButton = el("button", { type: "submit", hook: "send", class: "tutornb-button tutornb-primary", text: "Send" });
    const form = el("form", { class: "tutornb-compose", onSubmit: (event) => { event.preventDefault(); this.submit(); } }, [this.input, this.sendButton]);

    // Keys typed here belong to the panel, not to JupyterLab's notebook shortcuts (Enter, a, b, d d …).
    this.panel = el("div", { hook: "panel", class: "tutornb", "data-lm-suppress-shortcuts": "true" }, [
      header, toolbar, this.noteNode, this.errorSlot, this.offerSlot, this.historySlot, this.messagesNode, this.typingNode, form,
    ]);
    this.root.replaceChildren(this.panel);
  }

  buildHistory() {
    const ctrl = this.ctrl;
    let timer = null;
    this.historySearch = el("input", { type: "search", hook: "history-search", class: "tutornb-input-line", placeholder: "Search titles and messages", "aria-label": "Search past sessions" });
    this.historySearch.addEventListener("input", () => {
      ctrl.history.q = this.historySearch.value;
      clearTimeout(timer);
      timer = setTimeout(() => ctrl.searchHistory(), HISTORY_DEBOUNCE_MS);
    });
    this.courseFilter = el("select", { class: "tutornb-select", "data-filter": "course", "aria-label": "Course" });
    this.moduleFilter = el("select", { class: "tutornb-select", "data-filter": "module", "aria-label": "Module" });
    this.statusFilter = el("select", { class: "tutornb-select", "data-filter": "status", "aria-label": "Status" }, [
      el("option", { value: "", text: "Any status" }),
      el("option", { value: "active", text: "Active" }),
      el("option", { value: "paused", text: "Paused" }),
      el("option", { value: "closed", text: "Closed" }),
    ]);
    this.courseFilter.addEventListener("change", () => ctrl.setHistoryFilter("course_id", this.courseFilter.value));
    this.moduleFilter.addEventListener("change", () => ctrl.setHistoryFilter("module_id", this.moduleFilter.value));
    this.statusFilter.addEventListener("change", () => ctrl.setHistoryFilter("status", this.statusFilter.value));
    this.historyList = el("ul", { class: "tutornb-history-list", "aria-label": "Past sessions" });
    this.historyInfo = el("p", { class: "tutornb-muted", "aria-live": "polite" });
    const drawer = el("section", { class: "tutornb-history", "aria-label": "Session history", hidden: true }, [
      el("div", { class: "tutornb-history-filters" }, [this.historySearch, this.courseFilter, this.moduleFilter, this.statusFilter]),
      this.historyInfo,
      this.historyList,
    ]);
    drawer.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        ctrl.toggleHistory(false);
        this.historyButton.focus();
      }
    });
    return drawer;
  }

  async submit() {
    const text = this.input.value;
    if (!text.trim()) return;
    this.input.value = "";
    const sent = await this.ctrl.sendText(text);
    if (!sent && !this.input.value) this.input.value = text; // never lose what the learner typed
    this.input.focus();
  }

  update(kind, detail) {
    if (kind === "delta") {
      this.extendStream(detail);
      return;
    }
    if (this.ctrl.returnedText !== null) {
      // A message the server refused for good comes back to the input box, unless it holds a draft.
      if (!this.input.value) this.input.value = this.ctrl.returnedText;
      this.ctrl.returnedText = null;
    }
    if (kind === "all" || kind === "status") this.renderStatus();
    if (kind === "all" || kind === "session") this.renderSession();
    if (kind === "all" || kind === "error") this.renderError();
    if (kind === "all") this.renderOffer();
    if (kind === "all" || kind === "history") this.renderHistoryOpen();
    if (kind === "all" || kind === "history-filters") this.renderHistoryFilters();
    if (kind === "all" || kind === "history-items") this.renderHistoryItems();
    if (kind === "all" || kind === "messages" || kind === "session") this.renderMessages();
  }

  renderStatus() {
    const state = this.ctrl.connection;
    this.statusNode.dataset.state = state;
    this.statusNode.textContent = state;
  }

  renderSession() {
    const ctrl = this.ctrl;
    const session = ctrl.session;
    const context = { ...ctrl.context, ...((session && session.context) || {}) };
    const header = headerText(context);
    const named = session && session.title && !header.endsWith(session.title);
    const title = named ? el("span", { class: "tutornb-muted", text: ` — ${session.title}` }) : "";
    this.contextNode.replaceChildren(el("span", { class: "tutornb-context-title", text: header }), title);
    const note = ctrl.model.get("note");
    this.noteNode.textContent = note || "";
    this.noteNode.hidden = !note;
    this.phaseNode.textContent = session ? session.phase || "…" : "no session";
    this.phaseNode.dataset.phase = session ? session.phase || "" : "";
    const status = session ? session.status : null;
    this.panel.dataset.sessionStatus = status || "none";
    this.pauseButton.disabled = status !== "active";
    this.closeButton.disabled = !session || status === "closed";
    this.exportButton.disabled = !session;
    this.exportFormat.disabled = !session;
    // Only one element carries each hook at a time: the toolbar's Resume exists only for a paused session.
    if (status === "paused" && ctrl.view === "chat") {
      if (!this.resumeSlot.firstChild) {
        this.resumeSlot.append(el("button", { type: "button", hook: "resume", class: "tutornb-button tutornb-primary", text: "Resume", onClick: () => ctrl.changeStatus("resume") }));
      }
    } else this.resumeSlot.replaceChildren();
    if (status === "closed" && ctrl.view === "chat") {
      if (!this.newButtonSlot.firstChild) {
        this.newButtonSlot.append(el("button", { type: "button", hook: "new-session", class: "tutornb-button", text: "Start new", onClick: () => ctrl.startNew() }));
      }
    } else this.newButtonSlot.replaceChildren();
    const closed = status === "closed";
    this.input.disabled = closed || ctrl.view === "offer";
    this.sendButton.disabled = closed || ctrl.view === "offer";
    this.input.placeholder = closed
      ? "This session is closed. Start a new one to keep learning."
      : "Ask the tutor… (Enter to send, Shift+Enter for a new line)";
  }

  renderError() {
    const error = this.ctrl.error;
    if (!error) {
      this.errorSlot.replaceChildren();
      return;
    }
    const retry = this.ctrl.outbox.length
      ? el("button", { type: "button", class: "tutornb-button", text: "Retry", onClick: () => this.ctrl.retryOutbox() })
      : null;
    this.errorSlot.replaceChildren(
      el("div", { hook: "error", class: "tutornb-error", role: "alert", "data-code": error.code }, [
        el("span", { class: "tutornb-error-text", text: error.message ? `${error.message} (${error.code})` : error.code }),
        retry,
        el("button", { type: "button", class: "tutornb-button tutornb-icon", text: "×", "aria-label": "Dismiss", onClick: () => this.ctrl.clearError() }),
      ]),
    );
  }

  renderOffer() {
    const ctrl = this.ctrl;
    if (ctrl.view !== "offer" || !ctrl.candidates.length) {
      this.offerSlot.replaceChildren();
      return;
    }
    const offered = ctrl.candidates[ctrl.offerIndex] || ctrl.candidates[0];
    const count = offered.message_count || 0;
    const title = offered.title || headerText(offered.context || {});
    const preview = el("ul", { class: "tutornb-preview", "aria-label": "Last messages" },
      (offered.preview || []).slice(-2).map((m) => el("li", { "data-role": m.role }, [
        el("span", { class: "tutornb-role", text: m.role === "learner" ? "You" : m.role === "tutor" ? "Tutor" : "Note" }),
        el("span", { class: "tutornb-preview-text", text: plainText(m.text) }),
      ])));
    let picker = null;
    if (ctrl.candidates.length > 1) {
      const select = el("select", { class: "tutornb-select", "aria-label": "Other sessions of this notebook", "data-role": "candidates" },
        ctrl.candidates.map((c, i) => el("option", { value: String(i), text: `${c.title || c.id} — ${plural(c.message_count || 0, "message")}, ${relativeTime(c.last_active_at)}` })));
      select.value = String(ctrl.offerIndex);
      select.addEventListener("change", () => {
        ctrl.offerIndex = Number(select.value);
        this.renderOffer();
        const again = this.offerSlot.querySelector("select");
        if (again) again.focus();
      });
      picker = el("label", { class: "tutornb-muted" }, ["Other sessions: ", select]);
    }
    const resume = el("button", { type: "button", hook: "resume", class: "tutornb-button tutornb-primary", text: "Resume", onClick: () => ctrl.openSession(offered.id, { resume: true }) });
    this.offerSlot.replaceChildren(
      el("section", { hook: "resume-offer", class: "tutornb-offer", "aria-label": "Resume a session", "data-session-id": offered.id }, [
        el("div", { class: "tutornb-offer-title" }, [
          el("strong", { text: `Resume: ${title}` }),
          el("span", { class: "tutornb-muted", text: ` — ${plural(count, "message")}, ${relativeTime(offered.last_active_at)}` }),
          el("span", { class: "tutornb-badge", text: offered.status }),
        ]),
        preview,
        el("div", { class: "tutornb-offer-actions" }, [
          resume,
          el("button", { type: "button", hook: "new-session", class: "tutornb-button", text: "Start new", onClick: () => ctrl.startNew() }),
          picker,
        ]),
      ]),
    );
  }

  renderHistoryOpen() {
    const open = this.ctrl.history.open;
    this.historySlot.hidden = !open;
    this.historyButton.setAttribute("aria-expanded", String(open));
    if (open) this.historySearch.focus();
  }

  renderHistoryFilters() {
    const h = this.ctrl.history;
    const fill = (select, label, options, current) => {
      select.replaceChildren(el("option", { value: "", text: label }), ...options.map((o) => el("option", { value: o.id, text: o.title })));
      select.value = current;
    };
    fill(this.courseFilter, "Any course", h.courses, h.course_id);
    fill(this.moduleFilter, "Any module", h.modules, h.module_id);
  }

  renderHistoryItems() {
    const h = this.ctrl.history;
    const items = h.items.map((s) => {
      const context = s.context || {};
      return el("li", {}, [
        el("button", { type: "button", hook: "history-item", class: "tutornb-history-item", "data-session-id": s.id, "data-status": s.status, onClick: () => this.ctrl.openFromHistory(s.id) }, [
          el("span", { class: "tutornb-history-title", text: s.title || headerText(context) }),
          el("span", { class: "tutornb-muted", text: `${headerText(context)} · ${s.status} · ${plural(s.message_count || 0, "message")} · ${relativeTime(s.last_active_at)}` }),
        ]),
      ]);
    });
    this.historyList.replaceChildren(...items);
    this.historyInfo.textContent = h.loading && !items.length ? "Searching…" : items.length ? "" : "No sessions found.";
  }

  messageNode(message) {
    const role = message.role || "system";
    const body = el("div", { class: "tutornb-body" });
    if (message.html) body.append(sanitizeHtml(message.html));
    else body.append(el("div", { class: "tutornb-text", text: message.text || "" }));
    const label = role === "learner" ? "You" : role === "tutor" ? "Tutor" : "Note";
    const li = el("li", { hook: "message", "data-role": role, "data-seq": message.seq, class: `tutornb-message tutornb-${role}` }, [
      el("span", { class: "tutornb-role", text: label }),
      body,
    ]);
    if (message.citations && message.citations.length) {
      li.append(el("ul", { class: "tutornb-citations", "aria-label": "Sources" },
        message.citations.map((c) => el("li", { "data-cell": c.cell_index, text: citationText(c) }))));
    }
    if (message.quiz) li.append(this.quizNode(message));
    return li;
  }

  quizNode(message) {
    const quiz = message.quiz;
    const ctrl = this.ctrl;
    const choices = (quiz.choices || []).map((choice, index) =>
      el("button", { type: "button", hook: "choice", class: "tutornb-choice", "data-choice": index, onClick: () => ctrl.answer(message, index) }, [
        el("span", { class: "tutornb-choice-key", text: String.fromCharCode(65 + index) }),
        el("span", { text: choice }),
      ]));
    // The tutor's text usually carries the question already; the block then only adds the buttons.
    const said = String(message.text || "");
    const label = `Question ${quiz.number} of ${quiz.total}`;
    const showQuestion = !said.includes(quiz.question);
    return el("div", { hook: "quiz", class: "tutornb-quiz", "data-question-id": quiz.question_id, role: "group", "aria-label": label }, [
      said.includes(label) ? null : el("div", { class: "tutornb-muted", text: label }),
      showQuestion ? el("p", { class: "tutornb-quiz-question", text: quiz.question }) : null,
      el("div", { class: "tutornb-choices" }, choices),
    ]);
  }

  renderMessages() {
    const ctrl = this.ctrl;
    const list = this.messagesNode;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    const stored = Array.from(ctrl.messages.values()).sort((a, b) => (a.seq || 0) - (b.seq || 0));
    const wanted = [];
    for (const message of stored) {
      const key = `m:${message.id}`;
      let node = this.nodes.get(key);
      if (!node) node = this.messageNode(message);
      wanted.push([key, node]);
    }
    for (const [id, text] of ctrl.streaming) {
      if (ctrl.messages.has(id)) continue;
      const key = `s:${id}`;
      let node = this.nodes.get(key);
      if (!node) {
        node = el("li", { hook: "message", "data-role": "tutor", "data-streaming": "true", class: "tutornb-message tutornb-tutor tutornb-streaming" }, [
          el("span", { class: "tutornb-role", text: "Tutor" }),
          el("div", { class: "tutornb-body" }, [el("div", { class: "tutornb-text" })]),
        ]);
      }
      const body = node.querySelector(".tutornb-text");
      if (body.textContent !== text) body.textContent = text;
      wanted.push([key, node]);
    }
    for (const entry of ctrl.outbox) {
      const key = `p:${entry.client_id}`;
      let node = this.nodes.get(key);
      if (!node) {
        node = el("li", { hook: "message", "data-role": "learner", "data-pending": "true", "data-client-id": entry.client_id, class: "tutornb-message tutornb-learner tutornb-pending" }, [
          el("span", { class: "tutornb-role", text: "You" }),
          el("div", { class: "tutornb-body" }, [el("div", { class: "tutornb-text", text: entry.text })]),
          el("span", { class: "tutornb-pending-note tutornb-muted" }),
        ]);
      }
      node.querySelector(".tutornb-pending-note").textContent = entry.failed ? `not sent (${entry.failed.code})` : "sending…";
      node.dataset.failed = entry.failed ? "true" : "false";
      wanted.push([key, node]);
    }
    const keep = new Set(wanted.map(([key]) => key));
    for (const [key, node] of this.nodes) {
      if (!keep.has(key)) {
        node.remove();
        this.nodes.delete(key);
      }
    }
    wanted.forEach(([key, node], index) => {
      this.nodes.set(key, node);
      if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
    });
    this.updateQuizzes(stored);
    this.typingNode.hidden = !ctrl.typing;
    if (nearBottom || wanted.length <= 2) list.scrollTop = list.scrollHeight;
  }

  /** One more delta of a streaming reply: its text is appended to the bubble already on screen. */
  extendStream({ id, text }) {
    const node = this.nodes.get(`s:${id}`);
    if (!node) {
      this.renderMessages();
      return;
    }
    const list = this.messagesNode;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    const body = node.querySelector(".tutornb-text");
    const last = body.lastChild;
    if (last && last.nodeType === Node.TEXT_NODE) last.appendData(text);
    else body.append(text);
    this.typingNode.hidden = !this.ctrl.typing;
    if (nearBottom) list.scrollTop = list.scrollHeight;
  }

  updateQuizzes(stored) {
    // Only the newest question, with no tutor message after it, can still be answered.
    const ctrl = this.ctrl;
    let lastTutor = null;
    for (const message of stored) if (message.role === "tutor") lastTutor = message;
    const active = ctrl.session && ctrl.session.status === "active";
    for (const message of stored) {
      if (!message.quiz) continue;
      const node = this.nodes.get(`m:${message.id}`);
      if (!node) continue;
      const open = active && message === lastTutor && !ctrl.answered.has(`${message.id}:${message.quiz.question_id}`);
      for (const button of node.querySelectorAll(`[${HOOK}="choice"]`)) button.disabled = !open;
    }
  }

  dispose() {
    this.unsubscribe();
    this.root.replaceChildren();
  }
}

// ------------------------------------------------------------------------------------------------------
// anywidget entry points

export default {
  async initialize({ model }) {
    const ctrl = new Controller(model);
    const key = model.get("panel_id");
    controllers.set(key, ctrl);
    const onContext = () => ctrl.emit("session");
    model.on("change:context", onContext);
    model.on("change:note", onContext);
    return () => {
      model.off("change:context", onContext);
      model.off("change:note", onContext);
      ctrl.dispose();
      if (controllers.get(key) === ctrl) controllers.delete(key);
    };
  },

  render({ model, el: root }) {
    const ctrl = controllers.get(model.get("panel_id"));
    if (!ctrl) {
      root.textContent = "tutornb: the panel could not start.";
      return undefined;
    }
    const view = new PanelView(ctrl, root);
    // Connect on the first view, not in `initialize`: after a page reload JupyterLab restores every
    // widget model of the kernel, and a panel nobody sees must not open sockets or send its outbox.
    ctrl.ensureStarted();
    return () => view.dispose();
  },
};
