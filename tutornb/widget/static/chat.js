// @ts-check
// tutornb chat panel — the browser half of tutornb.widget.ChatPanel (plain ESM for anywidget, no build).
//
// One controller per widget model (created in `initialize`) owns the session, the transport and the
// outbox; `render` only builds DOM and follows the controller. The controller speaks the chat frames of
// docs/architecture.md through one of two pipes with the same shape:
//   - RestPipe: the server extension's REST API and chat WebSocket (JupyterLab / Notebook 7),
//   - CommPipe: the widget's kernel comm, for places where the extension cannot be reached (VS Code, Colab).
// The controller never touches the DOM, so node's test runner drives it with a fake pipe
// (tests/js/controller.test.mjs); `// @ts-check` and the JSDoc types are checked by `tsc --noEmit`.

/**
 * @typedef {{notebook_path: string, cell_index: number, heading?: string}} Citation
 * @typedef {{question_id: string, number: number, total: number, question: string, choices: string[]}} QuizPrompt
 * @typedef {{cell_index?: number, code: string, error?: string}} LearnerWork
 * @typedef {{id: string, seq?: number, role?: string, text?: string, html?: string|null, created_at?: string,
 *   client_id?: string|null, citations?: Citation[], quiz?: QuizPrompt|null, work?: LearnerWork|null,
 *   interrupted?: string|null}} StoredMessage
 * @typedef {{id: string, status: string|null, phase?: string, title?: string, context?: Record<string, any>,
 *   message_count?: number, last_active_at?: string, state?: any, messages?: StoredMessage[], [key: string]: any}} SessionInfo
 * @typedef {{client_id: string, text: string, created_at: string, work?: LearnerWork|null, sentEpoch: number,
 *   failed: {code: string, message: string}|null}} OutboxEntry
 * @typedef {{code: string, message: string, concern?: string}} PanelError
 * @typedef {{type?: string, [key: string]: any}} Frame
 * @typedef {{onFrame: (frame: Frame) => void, onStatus: (state: string) => void, onDrop?: (attempt: number) => void,
 *   onBadFrame?: () => void}} ChatHandlers
 * @typedef {{online: boolean, send: (frame: Frame) => boolean, retryNow: () => void, close: () => void}} ChatChannel
 * @typedef {{kind: string, request: (method: string, params?: Record<string, any>) => Promise<any>,
 *   exportSession: (sessionId: string, format: string) => Promise<{blob: Blob, filename: string}>,
 *   openChat: (sessionId: string, handlers: ChatHandlers) => ChatChannel, dispose: () => void,
 *   authState?: () => Promise<string>}} Pipe
 * @typedef {{get: (name: string) => any, set: (name: string, value: any) => void, save_changes: () => void,
 *   on: (event: string, cb: (...args: any[]) => void) => void, off: (event: string, cb: (...args: any[]) => void) => void,
 *   send: (msg: any, callbacks?: any, buffers?: any) => void}} WidgetModel
 * @typedef {{tags?: string[], dropped_tags?: string[], attributes?: Record<string, string[]>,
 *   classes?: Record<string, string[]|{pattern: string}>, url_schemes?: string[], url_relative?: boolean,
 *   link_rel?: string}} SanitizerPolicy
 */

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
// Errors about the connection itself: they go away as soon as the connection is back.
const CONNECTION_ERRORS = new Set(["NETWORK_ERROR", "OFFLINE", "TIMEOUT"]);
const SIGNED_OUT_MESSAGE = "You are signed out of Jupyter (the server restarted or your login expired). Reload the page to sign in again.";
const MODEL_ERROR_MESSAGE = "The tutor could not answer just now. Try again in a moment.";
// A host:port or URL in an error text is the model endpoint's address: learners never see it.
const ADDRESS = /(?:[a-z][a-z0-9+.-]*:\/\/)|(?:\b[\w.-]+:\d{2,5}\b)|(?:\b\d{1,3}(?:\.\d{1,3}){3}\b)/i;
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

// ------------------------------------------------------------------------------------------------------
// small helpers

/** @returns {string} */
function uuid() {
  const crypto = globalThis.crypto;
  if (crypto && typeof crypto.randomUUID === "function") {
    return crypto.randomUUID();
  }
  // Insecure contexts (plain http on a remote host) have no randomUUID; getRandomValues still exists.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A DOM element from props (`hook` → data-tutornb, `text`, `class`, `onX` listeners, other attributes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [props]
 * @param {any} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
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
  for (const child of /** @type {any[]} */ ([]).concat(children)) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/**
 * @param {string|undefined} iso
 * @param {number} [now]
 */
export function relativeTime(iso, now = Date.now()) {
  const then = Date.parse(String(iso));
  if (Number.isNaN(then)) return "";
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 45) return "just now";
  const minutes = seconds / 60;
  if (minutes < 90) return `${Math.max(1, Math.round(minutes))} min ago`;
  const hours = minutes / 60;
  if (hours < 36) return `${Math.round(hours)} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

/** @param {string|undefined} iso */
function clockTime(iso) {
  const then = new Date(String(iso));
  if (Number.isNaN(then.getTime())) return "";
  return then.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** @param {string|undefined} path */
function basename(path) {
  const parts = String(path || "").split("/");
  return parts[parts.length - 1] || String(path || "");
}

/** Markdown as a one-line preview: the markers go, the words stay. @param {string|undefined} markdown */
function plainText(markdown) {
  return String(markdown || "")
    .replace(/```[a-z]*\n?/gi, " ")
    .replace(/[*_`]+/g, "")
    .replace(/^#+\s*/gm, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** @param {number} n @param {string} word */
function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** A session title that tells sessions apart: the learner's first question, on one line. @param {string} text */
export function titleFrom(text) {
  const line = plainText(text).slice(0, 200);
  return line.length > 80 ? `${line.slice(0, 79).trimEnd()}…` : line;
}

export class TutorError extends Error {
  /** @param {string|undefined} code @param {string} [message] @param {number} [status] the HTTP status, if any */
  constructor(code, message, status = 0) {
    super(message || code);
    this.code = code || "INTERNAL_ERROR";
    this.status = status;
  }
}

/** Jupyter refused the page's login (401/403): the learner must sign in again. @param {any} err */
function isSignedOut(err) {
  return err instanceof TutorError && (err.status === 401 || err.status === 403);
}

/** @param {any} err @returns {PanelError} */
function asError(err) {
  if (err instanceof TutorError) return { code: err.code, message: err.message };
  if (err && typeof err === "object" && "code" in err) {
    return { code: String(err.code), message: String(err.message || err.code) };
  }
  return { code: "NETWORK_ERROR", message: "The tutor could not be reached." };
}

/**
 * What a learner may read of an error: a text naming an address (the model endpoint's host:port, a URL)
 * is replaced by a plain one; the code stays for support.
 * @param {string|undefined} code @param {string|undefined} message
 */
export function learnerErrorText(code, message) {
  const text = String(message || "");
  if (!text || ADDRESS.test(text)) {
    return code && code.startsWith("TUTOR") ? MODEL_ERROR_MESSAGE : text ? MODEL_ERROR_MESSAGE : String(code || "");
  }
  return text;
}

/** Exponential backoff with jitter for the chat socket: 0.5 s, 1 s, 2 s … up to 15 s. */
export function backoffDelay(/** @type {number} */ attempt, random = Math.random) {
  return Math.min(15000, 500 * 2 ** Math.max(0, attempt - 1)) * (0.8 + random() * 0.4);
}

// ------------------------------------------------------------------------------------------------------
// HTML sanitizing. The server sanitizes with nh3 from tutornb/htmlpolicy.py; the page applies THE SAME
// allowlist (the `sanitizer_policy` trait) as a second fence, never a wider one: the HTML is parsed in an
// inert document and rebuilt, so scripts, event handlers, unlisted URLs, classes, ids, names, forms, styles
// and data-* attributes cannot reach the live page. Without a policy only text is kept.

// Dropped together with everything inside them, whatever the policy says (it can only add to this).
const DROPPED_TAGS = new Set([
  "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "template", "noscript",
  "link", "meta", "base", "form", "input", "button", "select", "option", "textarea", "svg", "math", "audio",
  "video", "source", "track", "canvas", "portal", "title", "head", "dialog",
]);
const URL_ATTRS = new Set(["href", "src"]);
const XHTML = "http://www.w3.org/1999/xhtml";

/** @param {string} value @param {SanitizerPolicy} policy */
function isAllowedUrl(value, policy) {
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"): so do we.
  const compact = String(value).replace(/[\u0000-\u0020\u007f-\u009f]/g, "").toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(compact);
  if (!scheme) return !!policy.url_relative; // relative URL, fragment or protocol-relative
  return (policy.url_schemes || []).includes(scheme[1]);
}

/** @param {string} tag @param {string} value @param {SanitizerPolicy} policy */
function allowedClasses(tag, value, policy) {
  const rule = (policy.classes || {})[tag];
  if (!rule) return "";
  const test = Array.isArray(rule)
    ? (/** @type {string} */ c) => rule.includes(c)
    : (/** @type {string} */ c) => new RegExp(rule.pattern).test(c);
  return value.split(/\s+/).filter((c) => c && test(c)).join(" ");
}

/** @param {Node} node @param {SanitizerPolicy} policy @returns {Node|null} */
function cleanNode(node, policy) {
  if (node.nodeType === 3) return document.createTextNode(node.textContent || "");
  if (node.nodeType !== 1) return null; // comments, processing instructions
  const element = /** @type {Element} */ (node);
  const tag = element.localName;
  if (element.namespaceURI !== XHTML || DROPPED_TAGS.has(tag) || (policy.dropped_tags || []).includes(tag)) return null;
  if (!(policy.tags || []).includes(tag)) {
    // Unknown but harmless wrappers (font, center, b, …): keep their content, lose the element.
    const fragment = document.createDocumentFragment();
    cleanChildren(element, fragment, policy);
    return fragment;
  }
  const out = document.createElement(tag);
  const allowed = (policy.attributes || {})[tag] || [];
  for (const attr of Array.from(element.attributes)) {
    const name = attr.name.toLowerCase();
    if (!allowed.includes(name)) continue;
    if (URL_ATTRS.has(name) && !isAllowedUrl(attr.value, policy)) continue;
    if (name === "class") {
      const kept = allowedClasses(tag, attr.value, policy);
      if (kept) out.setAttribute("class", kept);
      continue;
    }
    out.setAttribute(name, attr.value);
  }
  if (tag === "a") {
    out.setAttribute("target", "_blank");
    out.setAttribute("rel", policy.link_rel || "noopener noreferrer nofollow");
  }
  if (tag === "img") out.setAttribute("referrerpolicy", "no-referrer");
  cleanChildren(element, out, policy);
  return out;
}

/** @param {Node} from @param {Node} to @param {SanitizerPolicy} policy */
function cleanChildren(from, to, policy) {
  for (const child of Array.from(from.childNodes)) {
    const cleaned = cleanNode(child, policy);
    if (cleaned) to.appendChild(cleaned);
  }
}

/**
 * Sanitized, live-document nodes for an HTML string (a DocumentFragment), allowing what `policy` allows.
 * @param {string} html @param {SanitizerPolicy|null} [policy]
 */
export function sanitizeHtml(html, policy = null) {
  // A DOMParser document is inert: its scripts never run and its images never load.
  const inert = new DOMParser().parseFromString(String(html), "text/html");
  const fragment = document.createDocumentFragment();
  cleanChildren(inert.body, fragment, policy || {});
  return fragment;
}

// ------------------------------------------------------------------------------------------------------
// Streaming Markdown: while a reply streams, its Markdown is rendered by this small renderer that builds
// DOM nodes from text (never an HTML string), so nothing it produces can carry markup from the stream.
// It knows the shapes tutors use (paragraphs, headings, lists, fenced code, quotes, **bold**, *em*,
// `code`); the stored message then brings the server's full rendering, with the same block layout, so the
// bubble does not jump.

/** @param {HTMLElement|DocumentFragment} into @param {string} text */
function renderInline(into, text) {
  const pattern = /(`+)([^`]+?)\1|\*\*([^*]+?)\*\*|__([^_]+?)__|\*([^*\s][^*]*?)\*|_([^_\s][^_]*?)_/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const at = match.index || 0;
    if (at > last) into.append(text.slice(last, at));
    if (match[2] !== undefined) into.append(el("code", { text: match[2] }));
    else if (match[3] !== undefined || match[4] !== undefined) into.append(el("strong", { text: match[3] ?? match[4] }));
    else into.append(el("em", { text: match[5] ?? match[6] }));
    last = at + match[0].length;
  }
  // An unfinished marker at the end ("**bo") is shown without its stars until it closes.
  const rest = text.slice(last).replace(/(\*\*|__|`+)(?=[^*_`]*$)/, "");
  if (rest) into.append(rest);
}

/**
 * The streamed Markdown `text` as DOM nodes.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderStreamingMarkdown(text) {
  const out = document.createDocumentFragment();
  const lines = String(text).split("\n");
  /** @type {HTMLElement|null} */ let list = null;
  /** @type {string[]} */ let paragraph = [];
  const flush = () => {
    if (paragraph.length) {
      const p = el("p");
      renderInline(p, paragraph.join(" "));
      out.append(p);
    }
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+#.-]*)/.exec(line);
    if (fence) {
      flush();
      list = null;
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      const code = el("code", { text: body.join("\n") });
      out.append(el("pre", {}, [code]));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*(?:[-*+]|(\d+)[.)])\s+(.*)$/.exec(line);
    if (!line.trim()) {
      flush();
      list = null;
    } else if (heading) {
      flush();
      list = null;
      const h = el(/** @type {"h3"} */ (`h${heading[1].length}`));
      renderInline(h, heading[2]);
      out.append(h);
    } else if (bullet) {
      flush();
      const ordered = bullet[1] !== undefined;
      if (!list || list.localName !== (ordered ? "ol" : "ul")) {
        list = el(ordered ? "ol" : "ul");
        out.append(list);
      }
      const li = el("li");
      renderInline(li, bullet[2]);
      list.append(li);
    } else if (/^\s*>\s?/.test(line)) {
      flush();
      list = null;
      const quote = el("blockquote");
      renderInline(quote, line.replace(/^\s*>\s?/, ""));
      out.append(quote);
    } else {
      list = null;
      paragraph.push(line.trim());
    }
  }
  flush();
  return out;
}

// ------------------------------------------------------------------------------------------------------
// Outbox: learner messages not yet acknowledged, kept per session in localStorage so a reload or a dropped
// socket never loses them. They are re-sent with the same client_id, which the server stores only once.

export const outboxStore = {
  /** @param {string} sessionId @returns {OutboxEntry[]} */
  load(sessionId) {
    try {
      const raw = globalThis.localStorage.getItem(OUTBOX_KEY + sessionId);
      const entries = raw ? JSON.parse(raw) : [];
      return Array.isArray(entries)
        ? entries
            .filter((e) => e && typeof e.client_id === "string" && typeof e.text === "string")
            .map((e) => ({ ...e, sentEpoch: -1, failed: null }))
        : [];
    } catch {
      return [];
    }
  },
  /** @param {string} sessionId @param {Array<{client_id: string, text: string, created_at: string, work?: LearnerWork|null}>} entries */
  save(sessionId, entries) {
    try {
      if (entries.length) {
        const plain = entries.map(({ client_id, text, created_at, work }) => ({ client_id, text, created_at, work }));
        globalThis.localStorage.setItem(OUTBOX_KEY + sessionId, JSON.stringify(plain));
      } else {
        globalThis.localStorage.removeItem(OUTBOX_KEY + sessionId);
      }
    } catch {
      // Storage disabled (sandboxed frames, node): the outbox still lives in memory for this page.
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

/** @param {number} ms */
function withTimeout(ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

/** @param {string|null} disposition @param {string} fallback */
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

/** The page's JupyterLab base URL ("/" or "/user/name/"), or null outside a Jupyter page. */
function jupyterBaseUrl() {
  const config = pageConfig();
  if (!config) return null;
  let base = config.baseUrl || "/";
  if (!base.endsWith("/")) base += "/";
  return new URL(base, globalThis.location.origin).href;
}

/** The server extension's REST API and chat WebSocket, with the page's cookie and XSRF token. @implements {Pipe} */
class RestPipe {
  /** @param {string} baseUrl */
  constructor(baseUrl) {
    this.kind = "websocket";
    this.api = new URL("tutornb/api/", baseUrl).href;
  }

  static async probe() {
    const baseUrl = jupyterBaseUrl();
    if (!baseUrl) return null;
    const pipe = new RestPipe(baseUrl);
    try {
      await pipe.fetchJson("GET", "status", undefined, 5000);
      return pipe;
    } catch {
      return null;
    }
  }

  /** @param {string} method @param {string} path @param {any} [body] @param {number} [timeoutMs] */
  async fetchRaw(method, path, body, timeoutMs = REQUEST_TIMEOUT_MS) {
    /** @type {Record<string, string>} */
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
      /** @type {any} */
      let payload = {};
      try {
        payload = await response.json();
      } catch {
        /* not JSON */
      }
      throw new TutorError(payload.code || `HTTP_${response.status}`, payload.message || response.statusText, response.status);
    }
    return response;
  }

  /** @param {string} method @param {string} path @param {any} [body] @param {number} [timeoutMs] */
  async fetchJson(method, path, body, timeoutMs) {
    const response = await this.fetchRaw(method, path, body, timeoutMs);
    return response.status === 204 ? null : response.json();
  }

  /** Whether the page is still signed in to Jupyter: "ok", "signed-out" (403) or "unreachable". */
  async authState() {
    try {
      await this.fetchJson("GET", "status", undefined, 5000);
      return "ok";
    } catch (err) {
      return isSignedOut(err) ? "signed-out" : "unreachable";
    }
  }

  /** @param {string} method @param {Record<string, any>} [params] */
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

  /** @param {string} sessionId @param {string} format */
  async exportSession(sessionId, format) {
    const path = `sessions/${encodeURIComponent(sessionId)}/export?format=${encodeURIComponent(format)}`;
    const response = await this.fetchRaw("GET", path);
    const blob = await response.blob();
    const filename = filenameFrom(response.headers.get("Content-Disposition"), `tutornb-${sessionId}`);
    return { blob, filename };
  }

  /** @param {string} sessionId @param {ChatHandlers} handlers */
  openChat(sessionId, handlers) {
    const url = new URL(`sessions/${encodeURIComponent(sessionId)}/chat`, this.api);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return new SocketChat(url.href, handlers);
  }

  dispose() {}
}

/**
 * A chat WebSocket that reconnects with exponential backoff until it is closed on purpose.
 * `deps` lets node's tests give it a fake WebSocket, clock and randomness.
 * @implements {ChatChannel}
 */
export class SocketChat {
  /**
   * @param {string} url @param {ChatHandlers} handlers
   * @param {{WebSocket?: any, setTimeout?: typeof setTimeout, clearTimeout?: typeof clearTimeout,
   *   random?: () => number, isOnline?: () => boolean, events?: any}} [deps]
   */
  constructor(url, handlers, deps = {}) {
    this.url = url;
    this.handlers = handlers;
    this.WebSocket = deps.WebSocket || globalThis.WebSocket;
    this.setTimeout = deps.setTimeout || ((/** @type {any} */ fn, /** @type {number} */ ms) => setTimeout(fn, ms));
    this.clearTimeout = deps.clearTimeout || ((/** @type {any} */ id) => clearTimeout(id));
    this.random = deps.random || Math.random;
    this.isOnline = deps.isOnline || (() => !(globalThis.navigator && globalThis.navigator.onLine === false));
    this.events = deps.events || (typeof globalThis.addEventListener === "function" ? globalThis : null);
    this.attempt = 0;
    this.closed = false;
    /** @type {any} */
    this.ws = null;
    /** @type {any} */
    this.timer = null;
    this.onOnline = () => this.retryNow();
    if (this.events) this.events.addEventListener("online", this.onOnline);
    this.connect();
  }

  connect() {
    if (this.closed) return;
    this.timer = null;
    this.handlers.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    /** @type {any} */
    let ws;
    try {
      ws = new this.WebSocket(this.url);
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
    ws.onmessage = (/** @type {{data: any}} */ event) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        // Never dropped silently: the learner is told part of the conversation could not be read.
        if (this.handlers.onBadFrame) this.handlers.onBadFrame();
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
    const offline = this.attempt > 4 || !this.isOnline();
    this.handlers.onStatus(offline ? "offline" : "reconnecting");
    this.timer = this.setTimeout(() => this.connect(), backoffDelay(this.attempt, this.random));
    if (this.handlers.onDrop) this.handlers.onDrop(this.attempt);
  }

  /** A learner action while disconnected: try at once instead of waiting out the backoff. */
  retryNow() {
    if (this.closed || this.ws) return;
    if (this.timer) this.clearTimeout(this.timer);
    this.connect();
  }

  get online() {
    return !!this.ws && this.ws.readyState === 1;
  }

  /** @param {Frame} frame */
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
    if (this.timer) this.clearTimeout(this.timer);
    if (this.events) this.events.removeEventListener("online", this.onOnline);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
  }
}

/** The widget's kernel comm: requests keyed by a uuid, errors as data; chat frames verbatim. @implements {Pipe} */
class CommPipe {
  /** @param {WidgetModel} model */
  constructor(model) {
    this.kind = "comm";
    this.model = model;
    /** @type {Map<string, {resolve: (v: any) => void, reject: (e: any) => void, timer: any}>} */
    this.waiting = new Map();
    /** @type {CommChat|null} */
    this.chat = null;
    this.onMessage = (/** @type {any} */ msg, /** @type {any[]} */ buffers) => this.receive(msg, buffers);
    model.on("msg:custom", this.onMessage);
  }

  /** @param {any} msg @param {any[]} buffers */
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

  /** @param {string} method @param {Record<string, any>} params @returns {Promise<{result: any, buffers: any[]}>} */
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

  /** @param {string} method @param {Record<string, any>} [params] */
  async request(method, params = {}) {
    return (await this.call(method, params)).result;
  }

  /** @param {string} sessionId @param {string} format */
  async exportSession(sessionId, format) {
    const { result, buffers } = await this.call("export", { session_id: sessionId, format });
    const blob = new Blob(buffers.length ? [buffers[0]] : [], { type: result.media_type });
    return { blob, filename: result.filename };
  }

  /** @param {string} sessionId @param {ChatHandlers} handlers */
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

/** @implements {ChatChannel} */
class CommChat {
  /** @param {CommPipe} pipe @param {string} sessionId @param {ChatHandlers} handlers */
  constructor(pipe, sessionId, handlers) {
    this.pipe = pipe;
    this.sessionId = sessionId;
    this.handlers = handlers;
    this.closed = false;
    this.online = false;
    handlers.onStatus("connecting");
    pipe.model.send({ kind: "connect", session_id: sessionId });
  }

  /** @param {string} sessionId @param {any} frame */
  receive(sessionId, frame) {
    if (this.closed || !frame) return;
    if (sessionId && sessionId !== this.sessionId) return; // a frame for the previous session
    if (typeof frame !== "object") {
      if (this.handlers.onBadFrame) this.handlers.onBadFrame();
      return;
    }
    if (frame.type === "session") {
      this.online = true;
      this.handlers.onStatus("online");
    }
    this.handlers.onFrame(frame);
  }

  /** @param {Frame} frame */
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

/** @param {WidgetModel} model @returns {Promise<Pipe>} */
async function choosePipe(model) {
  const wanted = model.get("transport") || "auto";
  if (wanted !== "comm") {
    const rest = await RestPipe.probe();
    if (rest) return rest;
  }
  return new CommPipe(model);
}

// ------------------------------------------------------------------------------------------------------
// Controller: the panel's state, shared by every view of one model. No DOM here.

/** @param {Record<string, any>} context */
function courseContext(context) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const key of ["course_id", "course_title", "module_id", "module_title", "notebook_path"]) {
    if (context && typeof context[key] === "string" && context[key]) out[key] = context[key];
  }
  return out;
}

/**
 * Panels with a live chat connection on this page, by session id: one live panel per session per page
 * (anywidget may load this module once per widget, so the registry lives on globalThis).
 * @returns {Map<string, Controller>}
 */
function livePanels() {
  const g = /** @type {any} */ (globalThis);
  if (!g.__tutornbLivePanels) g.__tutornbLivePanels = new Map();
  return g.__tutornbLivePanels;
}

/** The graded result a tutor reply announces ("✅ **Correct!**" / "❌ **Not quite.**"), if any. @param {string|undefined} text */
function gradeIn(text) {
  const head = String(text || "").slice(0, 60);
  if (/^\s*(✅|\*\*correct|correct!)/i.test(head)) return true;
  if (/^\s*(❌|\*\*not quite|not quite)/i.test(head)) return false;
  return null;
}

export class Controller {
  /**
   * @param {WidgetModel} model
   * @param {{choosePipe?: (model: WidgetModel) => Promise<Pipe>}} [deps]
   */
  constructor(model, deps = {}) {
    this.model = model;
    this.choosePipe = deps.choosePipe || choosePipe;
    /** @type {Set<(kind: string, detail?: any) => void>} */
    this.listeners = new Set();
    /** @type {Pipe|null} */
    this.pipe = null;
    /** @type {ChatChannel|null} */
    this.chat = null;
    this.view = "loading"; // loading | offer | chat | elsewhere (the session is live in another panel)
    this.connection = "connecting"; // connecting | online | reconnecting | offline | signed-out
    /** @type {SessionInfo|null} */
    this.session = null;
    /** @type {Map<string, StoredMessage>} */
    this.messages = new Map();
    /** @type {Map<string, string>} stream id -> text so far */
    this.streaming = new Map();
    /** @type {OutboxEntry[]} */
    this.outbox = [];
    this.typing = false;
    this.stopping = false;
    /** @type {PanelError|null} */
    this.error = null;
    /** @type {SessionInfo[]} */
    this.candidates = [];
    this.offerIndex = 0;
    this.answered = new Set();
    /** @type {Map<string, {choice: number, correct: boolean|null}>} quiz message id -> the answer given here */
    this.quizResults = new Map();
    /** @type {Map<string, {choice: number, correct: boolean|null}>} question id -> the stored answer (tutor state) */
    this.storedResults = new Map();
    /** @type {string|null} */
    this.lastAnswered = null;
    this.epoch = 0; // bumps on every (re)connection
    this.wantActive = false;
    this.resumeSentEpoch = -1;
    this.history = {
      open: false, q: "", course_id: "", module_id: "", status: "",
      /** @type {SessionInfo[]} */ items: [], total: 0, seq: 0, loading: false, failed: "",
      /** @type {{id: string, title: string}[]} */ courses: [],
      /** @type {{id: string, title: string}[]} */ modules: [],
    };
    this.disposed = false;
    /** @type {Promise<void>|null} */
    this.started = null;
    /** @type {string|null} */
    this.returnedText = null;
    /** @type {any} */
    this.retryTimer = null;
    /** @type {Set<string>} client ids re-sent by Retry (their ack is followed by a fresh turn) */
    this.retrying = new Set();
  }

  /** @param {(kind: string, detail?: any) => void} listener */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @param {string} kind @param {any} [detail] */
  emit(kind, detail) {
    for (const listener of Array.from(this.listeners)) listener(kind, detail);
  }

  /** @returns {Record<string, any>} */
  get context() {
    return this.model.get("context") || {};
  }

  /** A turn is under way: the tutor is typing or streaming (Stop is offered). */
  get turnActive() {
    return this.typing || this.streaming.size > 0;
  }

  /** @param {string} state */
  setConnection(state) {
    if (this.connection === "signed-out" && state !== "online") return;
    if (this.connection === state) return;
    this.connection = state;
    // Banners about the connection go away as soon as it is back.
    if (state === "online" && this.error && CONNECTION_ERRORS.has(this.error.code)) this.error = null;
    this.emit("status");
    this.emit("error");
    this.emit("messages");
  }

  /** @param {any} err */
  showError(err) {
    const error = asError(err);
    if (isSignedOut(err)) {
      this.signedOut();
      return;
    }
    this.error = { ...error, message: learnerErrorText(error.code, error.message) };
    this.emit("error");
  }

  clearError() {
    if (!this.error) return;
    this.error = null;
    this.emit("error");
  }

  /** Jupyter answered 403: reconnecting cannot help, signing in again can. */
  signedOut() {
    this.closeChat();
    this.connection = "signed-out";
    this.error = { code: "SIGNED_OUT", message: SIGNED_OUT_MESSAGE };
    this.emit("all");
  }

  ensureStarted() {
    if (!this.started) this.started = this.start().catch((err) => this.showError(err));
    return this.started;
  }

  async start() {
    this.setConnection("connecting");
    try {
      this.pipe = await this.choosePipe(this.model);
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
    if (notebook && this.pipe) {
      try {
        const page = await this.pipe.request("list_sessions", {
          notebook_path: notebook,
          status: "active,paused",
          limit: 10,
        });
        // A session whose first message was refused holds nothing to resume: offering it would only confuse.
        this.candidates = (page.sessions || []).filter((/** @type {SessionInfo} */ s) => (s.message_count || 0) > 0);
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
    this.stopping = false;
    this.error = null;
    this.view = "chat";
    this.setSessionTrait("");
    this.emit("all");
  }

  /** @param {string} id */
  setSessionTrait(id) {
    if (this.model.get("session_id") === id) return;
    this.model.set("session_id", id);
    this.model.save_changes();
  }

  closeChat() {
    if (this.chat) this.chat.close();
    this.chat = null;
    const live = livePanels();
    for (const [id, ctrl] of live) if (ctrl === this) live.delete(id);
  }

  /** The other panel of this page that holds `sessionId` live, if any. @param {string} sessionId */
  liveElsewhere(sessionId) {
    const other = livePanels().get(sessionId);
    return other && other !== this && !other.disposed && other.listeners.size > 0 ? other : null;
  }

  /** @param {string} sessionId @param {{resume: boolean}} options */
  async openSession(sessionId, { resume }) {
    this.closeChat();
    this.clearError();
    this.messages = new Map();
    this.streaming.clear();
    this.typing = false;
    this.stopping = false;
    this.session = { id: sessionId, status: null, phase: "", title: "", context: {} };
    const other = this.liveElsewhere(sessionId);
    if (other) {
      // Two live connections on one session in one page would only mirror each other: point to the first.
      this.view = "elsewhere";
      this.outbox = [];
      this.emit("all");
      other.emit("reveal");
      return;
    }
    this.view = "chat";
    // Status unknown until the server's `session` frame: nothing is sent before it says "active".
    this.wantActive = !!resume;
    this.outbox = outboxStore.load(sessionId);
    this.setSessionTrait(sessionId);
    this.emit("all");
    if (!this.pipe) return;
    livePanels().set(sessionId, this);
    this.chat = this.pipe.openChat(sessionId, {
      onFrame: (frame) => this.onFrame(sessionId, frame),
      onStatus: (state) => {
        if (this.session && this.session.id === sessionId) this.setConnection(state);
      },
      onDrop: (attempt) => this.onDrop(sessionId, attempt),
      onBadFrame: () => this.onBadFrame(),
    });
  }

  /** The chat socket dropped: find out whether the page is signed out (403), which no retry fixes. @param {string} sessionId @param {number} attempt */
  async onDrop(sessionId, attempt) {
    if (!this.pipe || !this.pipe.authState || attempt < 1) return;
    const state = await this.pipe.authState();
    if (state === "signed-out" && this.session && this.session.id === sessionId && !this.disposed) this.signedOut();
  }

  onBadFrame() {
    this.error = {
      code: "BAD_FRAME",
      message: "Part of the conversation could not be read. Reload the page to see all of it.",
    };
    this.emit("error");
  }

  saveOutbox() {
    if (this.session) outboxStore.save(this.session.id, this.outbox);
  }

  // -- frames ------------------------------------------------------------------------------------------

  /** @param {string} sessionId @param {Frame} frame */
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

  /** @param {Record<string, any>} summary */
  mergeSession(summary) {
    const { messages, ...rest } = summary;
    this.session = /** @type {SessionInfo} */ ({ ...this.session, ...rest });
  }

  /** @param {SessionInfo} detail */
  onSession(detail) {
    this.epoch += 1;
    this.resumeSentEpoch = -1;
    this.mergeSession(detail);
    this.messages = new Map();
    for (const message of detail.messages || []) this.messages.set(message.id, message);
    const answers = detail.state && detail.state.quiz && Array.isArray(detail.state.quiz.answers) ? detail.state.quiz.answers : [];
    for (const answer of answers) {
      this.storedResults.set(String(answer.question_id), { choice: Number(answer.choice), correct: !!answer.correct });
    }
    this.streaming.clear();
    this.typing = false;
    this.stopping = false;
    this.dropStoredFromOutbox();
    const session = /** @type {SessionInfo} */ (this.session);
    if (session.status === "paused" && (this.wantActive || this.outbox.length)) this.requestResume();
    this.flushOutbox();
    this.emit("all");
  }

  /** Entries the server has stored leave the outbox, in memory and in localStorage. @param {(clientId: string) => boolean} isStored */
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
      /** @type {Frame} */
      const frame = { type: "message", client_id: entry.client_id, text: entry.text };
      if (entry.work) frame.work = entry.work;
      if (this.chat.send(frame)) {
        entry.sentEpoch = this.epoch;
        entry.failed = null;
        this.typing = true;
      }
    }
    this.emit("messages");
  }

  /** @param {Frame} frame */
  onAck(frame) {
    const message = frame.message;
    this.dropFromOutbox((clientId) => clientId === frame.client_id);
    const retried = this.retrying.delete(String(frame.client_id));
    if (message && message.id) {
      // An ack for a message already on screen is a resend's: no new tutor turn follows it, unless the
      // learner asked for one (Retry).
      if (this.messages.has(message.id) && !retried) this.typing = false;
      this.messages.set(message.id, message);
    }
    if (this.error && ["RATE_LIMITED", "STORE_UNAVAILABLE", "QUOTA_EXCEEDED"].includes(this.error.code) && !this.outbox.some((e) => e.failed)) {
      this.error = null;
      this.emit("error");
    }
    this.emit("messages");
  }

  // A tutor message names the stream its deltas came on (`stream_id`): that bubble becomes the message.
  /** @param {StoredMessage|undefined} message @param {string|undefined} streamId */
  onStoredMessage(message, streamId) {
    if (!message || !message.id || !this.session) return;
    this.messages.set(message.id, message);
    if (message.client_id) this.dropFromOutbox((clientId) => clientId === message.client_id);
    if (message.role === "tutor") {
      const known = this.streaming.delete(String(streamId)) || this.streaming.delete(message.id);
      if (!known && this.streaming.size === 1) this.streaming.clear();
      this.typing = false;
      this.stopping = false;
      // A failed turn's error goes once a reply arrives; an unsent message's error stays until it is sent.
      if (this.error && this.error.concern && this.error.concern.startsWith("m:")) this.error = null;
      const grade = gradeIn(message.text);
      if (grade !== null && this.lastAnswered) {
        const result = this.quizResults.get(this.lastAnswered);
        if (result && result.correct === null) result.correct = grade;
        this.lastAnswered = null;
      }
    }
    this.session = { ...this.session, message_count: Math.max(this.session.message_count || 0, message.seq || 0) };
    this.emit("messages");
  }

  // Deltas are the hot path (dozens per reply): only the first one of a stream changes the transcript's
  // shape; the rest just lengthen its bubble, which the view does without walking the transcript.
  /** @param {Frame} frame */
  onDelta(frame) {
    if (!frame.message_id || typeof frame.text !== "string") return;
    const known = this.streaming.get(frame.message_id);
    this.streaming.set(frame.message_id, (known || "") + frame.text);
    this.typing = false;
    if (known === undefined) this.emit("messages");
    else this.emit("delta", { id: frame.message_id, text: frame.text });
  }

  /** @param {Record<string, any>} summary */
  onState(summary) {
    const previous = this.session ? this.session.status : null;
    this.mergeSession(summary);
    const session = /** @type {SessionInfo} */ (this.session);
    if (session.status !== previous) this.resumeSentEpoch = -1;
    if (session.status === "active") this.flushOutbox();
    if (session.status === "closed") this.typing = false;
    this.emit("session");
  }

  /** The newest learner message on screen (the one a failed turn answered). */
  lastLearnerMessage() {
    let last = null;
    for (const message of this.messages.values()) {
      if (message.role === "learner" && (!last || (message.seq || 0) > (last.seq || 0))) last = message;
    }
    return last;
  }

  /** The learner message a tutor message at `seq` answered. @param {number} seq */
  learnerBefore(seq) {
    let found = null;
    for (const message of this.messages.values()) {
      const at = message.seq || 0;
      if (message.role === "learner" && at < seq && (!found || at > (found.seq || 0))) found = message;
    }
    return found;
  }

  /** @param {Frame} frame */
  onErrorFrame(frame) {
    const inTurn = this.turnActive;
    this.typing = false;
    this.stopping = false;
    this.streaming.clear(); // a failed turn's partial text is not a message
    const code = String(frame.code || "ERROR");
    /** @type {string|undefined} */
    let concern;
    if (frame.client_id) {
      const entry = this.outbox.find((e) => e.client_id === frame.client_id);
      if (entry && PERMANENT_REFUSALS.has(code)) {
        this.outbox = this.outbox.filter((e) => e !== entry);
        this.saveOutbox();
        this.returnedText = entry.text;
      } else if (entry) {
        entry.failed = { code, message: frame.message };
        concern = `p:${entry.client_id}`;
        if (RETRY_SOON.has(code)) this.retrySoon();
      } else {
        // The message is stored; its tutor turn failed: the error goes under it.
        const stored = Array.from(this.messages.values()).find((m) => m.client_id === frame.client_id);
        if (stored) concern = `m:${stored.id}`;
      }
    } else if (inTurn || code.startsWith("TUTOR")) {
      // The tutor failed to answer: the error sits under the question it did not answer, with Retry.
      const learner = this.lastLearnerMessage();
      if (learner) concern = `m:${learner.id}`;
    }
    if (code === "SESSION_NOT_FOUND" && !frame.client_id) {
      this.closeChat();
      this.setConnection("offline");
    }
    this.error = { code, message: learnerErrorText(code, frame.message), concern };
    this.emit("all");
  }

  // -- learner actions ---------------------------------------------------------------------------------

  /** @param {string} text @param {{work?: LearnerWork|null}} [options] */
  async sendText(text, { work = null } = {}) {
    if (!text.trim()) return false;
    this.clearError();
    if (!this.pipe) return false;
    /** @type {OutboxEntry} */
    const entry = { client_id: uuid(), text, created_at: new Date().toISOString(), sentEpoch: -1, failed: null };
    if (work) entry.work = work;
    if (!this.session || this.view === "elsewhere") {
      let created;
      try {
        created = await this.pipe.request("create_session", { context: courseContext(this.context), title: titleFrom(text) || undefined });
      } catch (err) {
        this.showError(err);
        return false;
      }
      outboxStore.save(created.id, [entry]);
      await this.openSession(created.id, { resume: true });
      if (!this.outbox.length) this.outbox = [entry]; // storage disabled: keep it in memory
      this.flushOutbox();
      this.typing = true;
      this.emit("messages");
      return true;
    }
    if (this.session.status === "closed") {
      this.showError({ code: "INVALID_SESSION_STATE", message: "This session is closed: start a new session to keep learning." });
      return false;
    }
    return this.enqueue(entry);
  }

  /**
   * Queue a learner message on the open session and send it as soon as the session can take it
   * (resuming a paused one first; a dropped socket is told to retry now).
   * @param {OutboxEntry} entry
   */
  enqueue(entry) {
    this.wantActive = true;
    this.outbox.push(entry);
    this.saveOutbox();
    if (this.session && this.session.status === "paused") this.requestResume();
    else this.flushOutbox();
    if (this.chat && !this.chat.online) this.chat.retryNow();
    this.emit("messages");
    return true;
  }

  /**
   * Ask again what a failed or cut-off turn answered. The stored question is re-sent with its own client_id:
   * the server acknowledges it again (never stores it twice) and, as nothing (or only a cut-off reply)
   * answers it, runs a fresh tutor turn. A question without a client_id is sent as a new message.
   * @param {string} [messageId]
   */
  async retryTurn(messageId) {
    const learner = messageId ? this.messages.get(messageId) : this.lastLearnerMessage();
    if (!learner) return false;
    if (!learner.client_id || !this.session) return this.sendText(String(learner.text || ""), { work: learner.work || null });
    this.clearError();
    if (this.outbox.some((e) => e.client_id === learner.client_id)) return false;
    /** @type {OutboxEntry} */
    const entry = { client_id: learner.client_id, text: String(learner.text || ""), created_at: new Date().toISOString(), sentEpoch: -1, failed: null };
    if (learner.work) entry.work = learner.work;
    this.retrying.add(learner.client_id);
    return this.enqueue(entry);
  }

  /** Ends the streaming turn; the server stores what was said, marked "stopped". */
  stop() {
    if (!this.chat || !this.turnActive) return false;
    if (!this.chat.send({ type: "stop" })) return false;
    this.stopping = true;
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

  /** @param {StoredMessage} message @param {number} choice */
  answer(message, choice) {
    if (!this.chat || !message.quiz) return false;
    const key = `${message.id}:${message.quiz.question_id}`;
    if (this.answered.has(key)) return false;
    if (this.chat.send({ type: "answer", question_id: message.quiz.question_id, choice, client_id: uuid() })) {
      this.answered.add(key);
      this.quizResults.set(message.id, { choice, correct: null });
      this.lastAnswered = message.id;
      this.typing = true;
      this.emit("messages");
      return true;
    }
    this.showError({ code: "OFFLINE", message: "Not connected: your answer was not sent. Try again in a moment." });
    return false;
  }

  /** @param {string} action */
  async changeStatus(action) {
    if (!this.session || !this.pipe) return;
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

  /** @param {string} format */
  async exportSession(format) {
    if (!this.session || !this.pipe) return;
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

  /** @param {"course_id"|"module_id"|"status"} key @param {string} value */
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
      h.failed = "";
    } catch (err) {
      if (seq !== h.seq) return;
      h.items = [];
      h.failed = learnerErrorText(asError(err).code, asError(err).message);
      this.showError(err);
    }
    h.loading = false;
    this.emit("history-items");
  }

  /** @param {string} id */
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
/** @type {Map<string, Controller>} */
const controllers = new Map();

// ------------------------------------------------------------------------------------------------------
// Notebook actions from the page: JupyterLab's app object is not reachable from a widget, so the panel
// acts on the notebook the way a learner would, through its DOM (scrolling, a click on a cell, the
// notebook toolbar's "insert below" button, a paste into the new cell's editor).

/** The notebook element holding `node` (the panel's own notebook). @param {Element} node */
function notebookOf(node) {
  return /** @type {HTMLElement|null} */ (node.closest(".jp-Notebook"));
}

/** @param {HTMLElement} notebook */
function notebookCells(notebook) {
  return /** @type {HTMLElement[]} */ (Array.from(notebook.querySelectorAll(".jp-Cell")).filter((c) => c.parentElement && c.parentElement.closest(".jp-Notebook") === notebook));
}

/** The main-area tab of open JupyterLab document `path` (its caption says "Path: <path>"), if any. @param {string} path */
function documentTab(path) {
  for (const tab of Array.from(document.querySelectorAll(".lm-DockPanel-tabBar .lm-TabBar-tab[data-id]"))) {
    const caption = tab.getAttribute("title") || "";
    if (caption.split("\n").some((line) => line === `Path: ${path}`)) return /** @type {HTMLElement} */ (tab);
  }
  return null;
}

/** The notebook of open JupyterLab document `path` while it is the one shown, if it is. @param {string} path */
function shownNotebook(path) {
  const tab = documentTab(path);
  const panel = tab ? document.getElementById(tab.getAttribute("data-id") || "") : null;
  if (!panel || !panel.classList.contains("jp-NotebookPanel") || panel.classList.contains("lm-mod-hidden")) return null;
  return /** @type {HTMLElement|null} */ (panel.querySelector(".jp-Notebook"));
}

/** Shows an open document's tab, as a click on it does (Lumino's tab bar acts on pointerdown). @param {HTMLElement} tab */
function selectTab(tab) {
  const box = tab.getBoundingClientRect();
  const at = { bubbles: true, cancelable: true, button: 0, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, view: window };
  tab.dispatchEvent(new PointerEvent("pointerdown", at));
  document.dispatchEvent(new PointerEvent("pointerup", at));
}

/** A cell's index in its notebook (JupyterLab 4 marks windowed cells with it). @param {HTMLElement} cell @param {HTMLElement[]} cells */
function cellIndexOf(cell, cells) {
  const marked = cell.getAttribute("data-windowed-list-index");
  return marked !== null ? Number(marked) : cells.indexOf(cell);
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));

/** Makes `cell` the notebook's active cell, as a click on its prompt does. @param {HTMLElement} cell */
function activateCell(cell) {
  const target = cell.querySelector(".jp-InputPrompt") || cell.querySelector(".jp-Cell-inputWrapper") || cell;
  for (const type of ["mousedown", "mouseup", "click"]) {
    target.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, button: 0, view: window }));
  }
}

/**
 * Scrolls the notebook to cell `index` and makes it active. With windowing (JupyterLab 4), far cells are not
 * in the DOM: the notebook's scroller is moved towards them until they are.
 * @param {HTMLElement} notebook @param {number} index
 */
async function jumpToCell(notebook, index) {
  const scroller = /** @type {HTMLElement} */ (notebook.closest(".jp-WindowedPanel-outer") || notebook.querySelector(".jp-WindowedPanel-outer") || notebook.parentElement || notebook);
  for (let step = 0; step < 60; step += 1) {
    const cells = notebookCells(notebook);
    const found = cells.find((c) => cellIndexOf(c, cells) === index);
    if (found) {
      found.scrollIntoView({ block: "center" });
      activateCell(found);
      return found;
    }
    const indices = cells.map((c) => cellIndexOf(c, cells));
    if (!indices.length) return null;
    const before = scroller.scrollTop;
    scroller.scrollTop += (index < Math.min(...indices) ? -0.8 : 0.8) * scroller.clientHeight;
    await nextFrame();
    if (scroller.scrollTop === before) return null; // at an end: no such cell
  }
  return null;
}

/** Pastes `text` into a CodeMirror editor (a real paste event keeps its line breaks). @param {HTMLElement} editor @param {string} text */
function pasteInto(editor, text) {
  editor.focus();
  const data = new DataTransfer();
  data.setData("text/plain", text);
  const event = new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
  editor.dispatchEvent(event);
  if (!event.defaultPrevented) document.execCommand("insertText", false, text);
}

/**
 * Inserts a code cell holding `code` below `cell`, through the notebook toolbar's "insert below" button
 * (JupyterLab's own command), and puts the cursor in it.
 * @param {HTMLElement} cell @param {string} code
 */
async function insertCodeBelow(cell, code) {
  const notebook = notebookOf(cell);
  const panel = cell.closest(".jp-NotebookPanel");
  if (!notebook || !panel) return false;
  const button = /** @type {HTMLElement|null} */ (panel.querySelector('.jp-NotebookPanel-toolbar [data-command="notebook:insert-cell-below"]'));
  if (!button) return false;
  const before = notebookCells(notebook);
  const index = cellIndexOf(cell, before);
  activateCell(cell);
  // JupyterLab's toolbar buttons act on mousedown (or on click, for some): both are sent, one acts.
  for (const type of ["mousedown", "mouseup", "click"]) {
    button.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, button: 0, view: window }));
  }
  for (let i = 0; i < 50; i += 1) {
    await nextFrame();
    const cells = notebookCells(notebook);
    const created = cells.find((c) => cellIndexOf(c, cells) === index + 1);
    if (cells.length > before.length && created) {
      const editor = /** @type {HTMLElement|null} */ (created.querySelector(".cm-content"));
      if (!editor) continue;
      created.scrollIntoView({ block: "center" });
      pasteInto(editor, code);
      return true;
    }
  }
  return false;
}

/** @param {string} text */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el("textarea", { class: "tutornb-offscreen", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

// ------------------------------------------------------------------------------------------------------
// View: DOM only, following the controller.

/** @param {Record<string, any>} context */
function headerText(context) {
  const course = context.course_title || context.course_id;
  const module = context.module_title || context.module_id;
  if (course && module) return `${course} › ${module}`;
  return course || module || "General tutor";
}

// Cells are counted from 1 for people, as the course tutor's own text does ("cell 8").
/** @param {Citation} c */
function citationText(c) {
  const parts = [basename(c.notebook_path), `cell ${Number(c.cell_index) + 1}`];
  if (c.heading) parts.push(c.heading);
  return parts.join(" · ");
}

/** Whether a key event comes from a place where letters are typed. @param {EventTarget|null} target */
function isTextEntry(target) {
  const node = /** @type {HTMLElement|null} */ (target);
  if (!node || !node.localName) return false;
  if (node.isContentEditable) return true;
  if (node.localName === "textarea" || node.localName === "select") return true;
  return node.localName === "input" && !["button", "checkbox", "radio", "submit"].includes(/** @type {HTMLInputElement} */ (node).type);
}

const SUGGESTIONS = [
  { key: "plan", label: "Plan my study", text: "Make me a study plan for this notebook" },
  { key: "quiz", label: "Quiz me", text: "Quiz me" },
  { key: "hint", label: "Give me a hint", text: "Give me a hint for the exercise" },
];

class PanelView {
  /** @param {Controller} ctrl @param {HTMLElement} root */
  constructor(ctrl, root) {
    this.ctrl = ctrl;
    this.root = root;
    /** @type {Map<string, HTMLElement>} */
    this.nodes = new Map(); // key -> li
    /** @type {string|null} what gets focus once the next render has it on screen */
    this.wantFocus = null;
    this.docked = false;
    this.unseen = false;
    this.painting = false;
    this.greetingKey = "";
    /** @type {HTMLElement|null} */
    this.placeholder = null;
    /** @type {{error: PanelError, anchor: HTMLElement|null, node: HTMLElement, retries: boolean}|null} */
    this.shownError = null;
    this.build();
    this.unsubscribe = ctrl.subscribe((kind, detail) => this.update(kind, detail));
    this.update("all");
  }

  build() {
    const ctrl = this.ctrl;
    this.contextNode = el("div", { hook: "context", class: "tutornb-context" });
    this.sessionBadge = el("span", { class: "tutornb-badge tutornb-session-state", hidden: true });
    this.phaseNode = el("span", { hook: "phase", class: "tutornb-badge tutornb-phase", title: "Phase" });
    this.statusNode = el("span", { hook: "status", class: "tutornb-status", role: "status" });
    // A div, not <header>: inside a notebook output it must not count as the page's banner landmark.
    const header = el("div", { class: "tutornb-header" }, [
      this.contextNode,
      el("div", { class: "tutornb-badges" }, [this.sessionBadge, this.phaseNode, this.statusNode]),
    ]);

    this.pauseButton = el("button", { type: "button", hook: "pause", class: "tutornb-button", text: "Pause", onClick: () => this.act(ctrl.changeStatus("pause"), "resume") });
    this.resumeSlot = el("span", { class: "tutornb-slot" });
    this.closeButton = el("button", { type: "button", hook: "close", class: "tutornb-button", text: "Close…", title: "End this session for good", "aria-haspopup": "true", onClick: () => this.askClose() });
    this.exportFormat = el("select", { class: "tutornb-select", "aria-label": "Export format" }, [
      el("option", { value: "json", text: "JSON" }),
      el("option", { value: "markdown", text: "Markdown" }),
      el("option", { value: "ipynb", text: "Notebook" }),
    ]);
    this.exportButton = el("button", { type: "button", hook: "export", class: "tutornb-button", text: "Export", onClick: () => ctrl.exportSession(this.exportFormat.value) });
    this.historyButton = el("button", { type: "button", hook: "history", class: "tutornb-button", text: "History", "aria-expanded": "false", onClick: () => this.toggleHistory() });
    this.dockButton = el("button", { type: "button", hook: "dock", class: "tutornb-button", text: "Dock", "aria-pressed": "false", title: "Keep the chat in view while you work in the notebook", onClick: () => this.toggleDock() });
    this.newButtonSlot = el("span", { class: "tutornb-slot" });
    const toolbar = el("div", { class: "tutornb-toolbar", role: "group", "aria-label": "Session controls" }, [
      this.pauseButton, this.resumeSlot, this.closeButton, this.newButtonSlot,
      el("span", { class: "tutornb-spacer" }),
      this.exportFormat, this.exportButton, this.historyButton, this.dockButton,
    ]);

    this.confirmSlot = el("div", { class: "tutornb-slot" });
    this.noteNode = el("p", { class: "tutornb-note" });
    this.connectionNode = el("p", { class: "tutornb-connection", hidden: true });
    this.pausedNode = el("p", { class: "tutornb-paused", hidden: true, text: "This session is paused. Resume it, or just send a message, to continue." });
    this.elsewhereSlot = el("div", { class: "tutornb-slot" });
    this.errorSlot = el("div", { class: "tutornb-slot" });
    this.offerSlot = el("div", { class: "tutornb-slot" });
    this.historySlot = this.buildHistory();
    this.greetingSlot = el("div", { class: "tutornb-slot" });
    this.listNode = el("ol", { class: "tutornb-list" });
    this.messagesNode = el("div", { hook: "messages", class: "tutornb-messages", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" }, [this.listNode]);
    this.messagesNode.addEventListener("scroll", () => {
      if (this.nearBottom()) this.setUnseen(false);
    });
    this.jumpButton = el("button", { type: "button", hook: "jump-latest", class: "tutornb-button tutornb-jump", text: "↓ Jump to latest", hidden: true, onClick: () => this.jumpToLatest() });
    const logWrap = el("div", { class: "tutornb-log-wrap" }, [this.messagesNode, this.jumpButton]);
    this.typingNode = el("div", { class: "tutornb-typing", "aria-hidden": "true", hidden: true }, [
      el("span", { class: "tutornb-dot" }), el("span", { class: "tutornb-dot" }), el("span", { class: "tutornb-dot" }),
      el("span", { class: "tutornb-typing-label", text: "Tutor is typing" }),
    ]);
    // The typing state, announced politely to screen readers (the dots above are decoration).
    this.announceNode = el("span", { class: "tutornb-sr-only", role: "status", "aria-live": "polite" });
    this.input = el("textarea", { hook: "input", class: "tutornb-input", rows: 2, placeholder: "Ask the tutor… (Enter to send, Shift+Enter for a new line)", "aria-label": "Message to the tutor" });
    this.input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault();
      if (!event.shiftKey) {
        this.submit();
        return;
      }
      // Inserted by the panel itself (as typed text, so Undo still works).
      if (!document.execCommand("insertText", false, "\n")) {
        this.input.setRangeText("\n", this.input.selectionStart, this.input.selectionEnd, "end");
      }
    });
    this.stopButton = el("button", { type: "button", hook: "stop", class: "tutornb-button", text: "Stop", title: "Stop the tutor's answer here", hidden: true, onClick: () => this.stop() });
    this.sendButton = el("button", { type: "submit", hook: "send", class: "tutornb-button tutornb-primary", text: "Send" });
    const form = el("form", { class: "tutornb-compose", onSubmit: (/** @type {Event} */ event) => { event.preventDefault(); this.submit(); } }, [this.input, this.stopButton, this.sendButton]);

    this.panel = el("section", { hook: "panel", class: "tutornb", "aria-label": "Tutor chat", "data-lm-suppress-shortcuts": "true" }, [
      header, toolbar, this.confirmSlot, this.noteNode, this.connectionNode, this.pausedNode, this.elsewhereSlot, this.errorSlot,
      this.offerSlot, this.historySlot, this.greetingSlot, logWrap, this.typingNode, this.announceNode, form,
    ]);
    // Keys typed in the panel belong to the panel: JupyterLab listens on the document (bubbling), where its
    // notebook shortcuts (b, a, d d, arrows, Shift+Enter …) would act on the notebook around the panel.
    // The panel's own controls have already seen the key when it bubbles up here. Ctrl/⌘ shortcuts (save,
    // undo) stay JupyterLab's, except with Enter.
    const keep = (/** @type {KeyboardEvent} */ event) => {
      if ((event.ctrlKey || event.metaKey) && event.key !== "Enter") return;
      event.stopPropagation();
    };
    this.panel.addEventListener("keydown", (event) => {
      this.onPanelKey(event);
      keep(event);
    });
    this.panel.addEventListener("keyup", keep);
    this.panel.addEventListener("keypress", keep);
    this.root.replaceChildren(this.panel);
  }

  buildHistory() {
    const ctrl = this.ctrl;
    /** @type {any} */
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
      if (event.key === "Escape") this.toggleHistory(false);
    });
    return drawer;
  }

  // -- actions (each one says where focus goes next) ---------------------------------------------------

  /** @param {Promise<any>} work @param {string} focus */
  async act(work, focus) {
    this.wantFocus = focus;
    await work;
    this.applyFocus();
  }

  /** @param {boolean} [open] */
  async toggleHistory(open) {
    const opening = open === undefined ? !this.ctrl.history.open : open;
    if (!opening) this.wantFocus = "history";
    else this.wantFocus = "history-search";
    await this.ctrl.toggleHistory(opening);
    this.applyFocus();
  }

  askClose() {
    const cancel = el("button", { type: "button", class: "tutornb-button", "data-action": "cancel-close", text: "Keep it", onClick: () => {
      this.confirmSlot.replaceChildren();
      this.closeButton.focus();
    } });
    const confirm = el("button", { type: "button", class: "tutornb-button tutornb-danger", "data-action": "confirm-close", text: "End session", onClick: () => {
      this.confirmSlot.replaceChildren();
      this.act(this.ctrl.changeStatus("close"), "new-session");
    } });
    const box = el("div", { class: "tutornb-confirm", role: "alertdialog", "aria-label": "End this session?", "aria-describedby": "" }, [
      el("span", { class: "tutornb-confirm-text", text: "End this session for good? You can still read and export it from History, but not continue it. (Pause keeps it open.)" }),
      confirm,
      cancel,
    ]);
    box.removeAttribute("aria-describedby");
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancel.click();
    });
    this.confirmSlot.replaceChildren(box);
    cancel.focus();
  }

  stop() {
    if (this.ctrl.stop()) this.wantFocus = "input";
    this.applyFocus();
  }

  toggleDock() {
    this.docked = !this.docked;
    if (this.docked) {
      // Pinned to the window, outside the notebook's scrolling (and windowing) so it never scrolls away;
      // a note with an Undock button stays in the cell.
      this.placeholder = el("div", { class: "tutornb-dock-note" }, [
        el("span", { text: "The tutor chat is docked at the side of the window. " }),
        el("button", { type: "button", class: "tutornb-button", text: "Undock", onClick: () => this.toggleDock() }),
      ]);
      this.root.replaceChildren(this.placeholder);
      document.body.append(this.panel);
      this.panel.classList.add("tutornb-docked");
    } else {
      this.panel.classList.remove("tutornb-docked");
      this.root.replaceChildren(this.panel);
      this.placeholder = null;
    }
    this.dockButton.setAttribute("aria-pressed", String(this.docked));
    this.dockButton.textContent = this.docked ? "Undock" : "Dock";
    this.dockButton.focus();
  }

  reveal() {
    if (!this.docked) this.panel.scrollIntoView({ block: "nearest" });
    this.input.focus();
  }

  async submit() {
    const text = this.input.value;
    if (!text.trim()) return;
    this.input.value = "";
    const sent = await this.ctrl.sendText(text);
    if (!sent && !this.input.value) this.input.value = text; // never lose what the learner typed
    this.input.focus();
  }

  /** Letters answer the open quiz question from anywhere in the panel (but not while typing text). @param {KeyboardEvent} event */
  onPanelKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTextEntry(event.target)) return;
    if (event.key.length !== 1) return;
    const index = LETTERS.indexOf(event.key.toUpperCase());
    if (index < 0) return;
    const open = this.listNode.querySelector(`[${HOOK}="quiz"][data-open="true"]`);
    const choice = open ? /** @type {HTMLButtonElement|null} */ (open.querySelector(`[${HOOK}="choice"][data-choice="${index}"]`)) : null;
    if (choice && !choice.disabled) {
      event.preventDefault();
      choice.click();
    }
  }

  applyFocus() {
    const want = this.wantFocus;
    if (!want) return;
    /** @type {HTMLElement|null} */
    let target = null;
    if (want === "input") target = this.input.disabled ? null : this.input;
    else if (want === "resume") target = this.panel.querySelector(`[${HOOK}="resume"]`);
    else if (want === "new-session") target = this.panel.querySelector(`[${HOOK}="new-session"]`);
    else if (want === "history") target = this.historyButton;
    else if (want === "history-search") target = this.ctrl.history.open ? this.historySearch : null;
    else if (want === "next-question") {
      const open = this.listNode.querySelector(`[${HOOK}="quiz"][data-open="true"] [${HOOK}="choice"]`);
      if (open) target = /** @type {HTMLElement} */ (open);
      else if (!this.ctrl.turnActive) target = this.input;
    }
    if (target && !(/** @type {any} */ (target).disabled)) {
      this.wantFocus = null;
      target.focus();
    }
  }

  /** @param {string} kind @param {any} [detail] */
  update(kind, detail) {
    if (kind === "delta") {
      this.extendStream(detail);
      return;
    }
    if (kind === "reveal") {
      this.reveal();
      return;
    }
    if (this.ctrl.returnedText !== null) {
      // A message the server refused for good comes back to the input box, unless it holds a draft.
      if (!this.input.value) this.input.value = this.ctrl.returnedText;
      this.ctrl.returnedText = null;
    }
    if (kind === "all" || kind === "status") this.renderStatus();
    if (kind === "all" || kind === "session") this.renderSession();
    if (kind === "all") this.renderOffer();
    if (kind === "all" || kind === "history") this.renderHistoryOpen();
    if (kind === "all" || kind === "history-filters") this.renderHistoryFilters();
    if (kind === "all" || kind === "history-items") this.renderHistoryItems();
    if (kind === "all" || kind === "messages" || kind === "session" || kind === "error") this.renderMessages();
    if (kind === "all" || kind === "error" || kind === "messages") this.renderError();
    this.applyFocus();
  }

  renderStatus() {
    const state = this.ctrl.connection;
    this.statusNode.dataset.state = state;
    this.statusNode.textContent = state === "signed-out" ? "signed out" : state;
    this.panel.dataset.connection = state;
    const notes = {
      reconnecting: "Reconnecting to the tutor… Messages you send now are queued and go out when the connection is back.",
      offline: "Offline: the tutor cannot be reached. Messages you send now are queued and go out when the connection is back.",
    };
    const note = /** @type {Record<string, string>} */ (notes)[state] || "";
    this.connectionNode.textContent = note;
    this.connectionNode.hidden = !note;
    this.connectionNode.dataset.state = state;
  }

  renderSession() {
    const ctrl = this.ctrl;
    const session = ctrl.session;
    const context = { ...ctrl.context, ...((session && session.context) || {}) };
    const header = headerText(context);
    const named = session && session.title && !header.endsWith(session.title);
    const title = named ? el("span", { class: "tutornb-muted", text: ` — ${session && session.title}` }) : "";
    this.contextNode.replaceChildren(el("span", { class: "tutornb-context-title", text: header }), title);
    this.panel.setAttribute("aria-label", `Tutor chat: ${header}`);
    const note = ctrl.model.get("note");
    this.noteNode.textContent = note || "";
    this.noteNode.hidden = !note;
    this.phaseNode.textContent = session ? session.phase || "…" : "no session";
    this.phaseNode.dataset.phase = session ? session.phase || "" : "";
    const status = session ? session.status : null;
    const chatting = ctrl.view === "chat";
    this.panel.dataset.sessionStatus = status || "none";
    this.sessionBadge.textContent = status || "";
    this.sessionBadge.hidden = !chatting || !status || status === "active";
    this.sessionBadge.dataset.status = status || "";
    this.pausedNode.hidden = !chatting || status !== "paused";
    this.pauseButton.disabled = status !== "active" || !chatting;
    this.closeButton.disabled = !session || status === "closed" || !chatting;
    this.exportButton.disabled = !session;
    this.exportFormat.disabled = !session;
    if (status === "closed" || !chatting) this.confirmSlot.replaceChildren();
    // Only one element carries each hook at a time: the toolbar's Resume exists only for a paused session.
    if (status === "paused" && chatting) {
      if (!this.resumeSlot.firstChild) {
        this.resumeSlot.append(el("button", { type: "button", hook: "resume", class: "tutornb-button tutornb-primary", text: "Resume", onClick: () => this.act(ctrl.changeStatus("resume"), "input") }));
      }
    } else this.resumeSlot.replaceChildren();
    // "New session" whenever a session is on screen (the resume offer has its own).
    if (session && status && chatting) {
      if (!this.newButtonSlot.firstChild) {
        this.newButtonSlot.append(el("button", { type: "button", hook: "new-session", class: "tutornb-button", text: "New session", onClick: () => { this.wantFocus = "input"; ctrl.startNew(); } }));
      }
      /** @type {HTMLElement} */ (this.newButtonSlot.firstChild).classList.toggle("tutornb-primary", status === "closed");
    } else this.newButtonSlot.replaceChildren();
    if (ctrl.view === "elsewhere") {
      this.elsewhereSlot.replaceChildren(el("p", { class: "tutornb-elsewhere", role: "status" }, [
        "This session is already open in another tutor panel on this page. ",
        el("button", { type: "button", class: "tutornb-button", text: "Go to it", onClick: () => session && ctrl.liveElsewhere(session.id)?.emit("reveal") }),
      ]));
    } else this.elsewhereSlot.replaceChildren();
    const closed = status === "closed";
    const off = closed || ctrl.view === "offer" || ctrl.connection === "signed-out";
    this.input.disabled = off;
    this.sendButton.disabled = off;
    this.input.placeholder = closed
      ? "This session is closed. Start a new one to keep learning."
      : "Ask the tutor… (Enter to send, Shift+Enter for a new line)";
  }

  /** The error element (hook "error"): under the message it concerns, or as the panel's banner. */
  renderError() {
    const ctrl = this.ctrl;
    const error = ctrl.error;
    const anchor = error && error.concern ? this.nodes.get(error.concern) || null : null;
    const shown = this.shownError;
    // Re-rendered only when it changes: an alert rebuilt on every frame would be announced again and again.
    if (shown && shown.error === error && shown.anchor === anchor && shown.node.isConnected && shown.retries === ctrl.outbox.length > 0) return;
    for (const stale of this.listNode.querySelectorAll(".tutornb-inline-error")) stale.remove();
    this.shownError = null;
    if (!error) {
      this.errorSlot.replaceChildren();
      return;
    }
    /** @type {HTMLElement|null} */
    let retry = null;
    if (error.code === "SIGNED_OUT") {
      retry = el("button", { type: "button", class: "tutornb-button tutornb-primary", text: "Reload page", onClick: () => globalThis.location.reload() });
    } else if (error.concern && error.concern.startsWith("m:")) {
      const id = error.concern.slice(2);
      retry = el("button", { type: "button", hook: "retry", class: "tutornb-button", text: "Retry", onClick: () => { this.wantFocus = "input"; ctrl.retryTurn(id); } });
    } else if (ctrl.outbox.length) {
      retry = el("button", { type: "button", hook: "retry", class: "tutornb-button", text: "Retry", onClick: () => { this.wantFocus = "input"; ctrl.retryOutbox(); } });
    }
    const text = error.code && error.message && error.message !== error.code ? `${error.message} (${error.code})` : error.message || error.code;
    const node = el("div", { hook: "error", class: "tutornb-error", role: "alert", "data-code": error.code }, [
      el("span", { class: "tutornb-error-text", text }),
      retry,
      el("button", { type: "button", class: "tutornb-button tutornb-icon", text: "×", "aria-label": "Dismiss", onClick: () => { this.wantFocus = "input"; ctrl.clearError(); } }),
    ]);
    if (anchor) {
      node.classList.add("tutornb-inline-error");
      this.errorSlot.replaceChildren();
      anchor.append(node);
    } else {
      this.errorSlot.replaceChildren(node);
    }
    this.shownError = { error, anchor, node, retries: ctrl.outbox.length > 0 };
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
      (offered.preview || []).slice(-2).map((/** @type {any} */ m) => el("li", { "data-role": m.role }, [
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
        const again = /** @type {HTMLElement|null} */ (this.offerSlot.querySelector("select"));
        if (again) again.focus();
      });
      picker = el("label", { class: "tutornb-muted" }, ["Other sessions: ", select]);
    }
    const resume = el("button", { type: "button", hook: "resume", class: "tutornb-button tutornb-primary", text: "Resume", onClick: () => this.act(ctrl.openSession(offered.id, { resume: true }), "input") });
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
          el("button", { type: "button", hook: "new-session", class: "tutornb-button", text: "Start new", onClick: () => { this.wantFocus = "input"; ctrl.startNew(); } }),
          picker,
        ]),
      ]),
    );
  }

  renderHistoryOpen() {
    const open = this.ctrl.history.open;
    this.historySlot.hidden = !open;
    this.historyButton.setAttribute("aria-expanded", String(open));
  }

  renderHistoryFilters() {
    const h = this.ctrl.history;
    const fill = (/** @type {HTMLSelectElement} */ select, /** @type {string} */ label, /** @type {{id: string, title: string}[]} */ options, /** @type {string} */ current) => {
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
        el("button", { type: "button", hook: "history-item", class: "tutornb-history-item", "data-session-id": s.id, "data-status": s.status, onClick: () => this.act(this.ctrl.openFromHistory(s.id), "input") }, [
          el("span", { class: "tutornb-history-title", text: s.title || headerText(context) }),
          el("span", { class: "tutornb-muted", text: `${headerText(context)} · ${s.status} · ${plural(s.message_count || 0, "message")} · ${relativeTime(s.last_active_at)}` }),
        ]),
      ]);
    });
    this.historyList.replaceChildren(...items);
    this.historyInfo.textContent = h.loading && !items.length ? "Searching…" : h.failed ? `The history could not be searched: ${h.failed}` : items.length ? "" : "No sessions found.";
  }

  // -- messages ----------------------------------------------------------------------------------------

  /** @param {string} role @param {string|undefined} createdAt */
  messageHead(role, createdAt) {
    const label = role === "learner" ? "You" : role === "tutor" ? "Tutor" : "Note";
    const head = el("span", { class: "tutornb-role" }, [label]);
    if (createdAt) {
      const when = new Date(createdAt);
      head.append(" ", el("time", { class: "tutornb-time", datetime: createdAt, title: Number.isNaN(when.getTime()) ? "" : when.toLocaleString(), text: clockTime(createdAt) }));
    }
    return head;
  }

  /** @param {StoredMessage} message */
  messageNode(message) {
    const ctrl = this.ctrl;
    const role = message.role || "system";
    const body = el("div", { class: "tutornb-body" });
    if (role === "learner") {
      // The learner's own words as typed: line breaks (a pasted traceback) kept, nothing interpreted.
      body.append(el("div", { class: "tutornb-text", text: message.text || "" }));
      if (message.work && message.work.code) {
        body.append(el("div", { class: "tutornb-work" }, [
          el("span", { class: "tutornb-muted", text: message.work.cell_index !== undefined && message.work.cell_index !== null ? `Your code (cell ${Number(message.work.cell_index) + 1})` : "Your code" }),
          el("pre", {}, [el("code", { text: message.work.code })]),
          message.work.error ? el("pre", { class: "tutornb-work-error" }, [el("code", { text: message.work.error })]) : null,
        ]));
      }
    } else if (message.html) {
      body.append(sanitizeHtml(message.html, ctrl.model.get("sanitizer_policy")));
      if (message.quiz) dropChoiceList(body);
      this.addCodeActions(body);
    } else {
      body.append(el("div", { class: "tutornb-text", text: message.text || "" }));
    }
    const li = el("li", { hook: "message", "data-role": role, "data-seq": message.seq, class: `tutornb-message tutornb-${role}` }, [
      this.messageHead(role, message.created_at),
      body,
    ]);
    if (message.interrupted) {
      li.dataset.interrupted = message.interrupted;
      const mark = el("span", { class: "tutornb-mark", "data-mark": message.interrupted, text: message.interrupted === "stopped" ? "■ Stopped — you ended this answer here." : "⚠ Cut off — the answer did not arrive in full. " });
      const asked = ctrl.learnerBefore(message.seq || 0);
      if (message.interrupted === "cut_off" && asked) {
        mark.append(el("button", { type: "button", hook: "retry", class: "tutornb-button tutornb-small", text: "Retry", title: "Ask this question again", onClick: () => { this.wantFocus = "input"; ctrl.retryTurn(asked.id); } }));
      }
      li.append(mark);
    }
    if (message.citations && message.citations.length) {
      li.append(el("ul", { class: "tutornb-citations", "aria-label": "Sources" },
        message.citations.map((c) => el("li", { "data-cell": c.cell_index }, [this.citationNode(c)]))));
    }
    if (message.quiz) li.append(this.quizNode(message));
    return li;
  }

  /**
   * A citation: a button that jumps to the cell in this notebook, or opens the other notebook in this JupyterLab
   * (JupyterLab's CommandLinker runs `docmanager:open` from the button's data-commandlinker-* attributes; recent
   * JupyterLab 4 first asks the learner to confirm a command from a widget; a notebook already open is simply
   * shown) and then lands on the cell.
   * @param {Citation} c
   */
  citationNode(c) {
    const own = this.ctrl.model.get("notebook_path") || this.ctrl.context.notebook_path || "";
    const index = Number(c.cell_index);
    if (own && c.notebook_path && c.notebook_path !== own) {
      const path = c.notebook_path;
      return el("button", {
        type: "button", hook: "citation", class: "tutornb-citation", "data-cell": c.cell_index, "data-notebook": path,
        "data-commandlinker-command": "docmanager:open", "data-commandlinker-args": JSON.stringify({ path, factory: "Notebook" }),
        title: `Open ${basename(path)} at cell ${index + 1}`, text: citationText(c),
        onClick: (/** @type {Event} */ event) => {
          // Already open: its tab is shown directly, without JupyterLab's command confirmation.
          const tab = documentTab(path);
          if (tab) {
            event.stopPropagation();
            selectTab(tab);
          }
          this.showCellElsewhere(path, index);
        },
      });
    }
    return el("button", { type: "button", hook: "citation", class: "tutornb-citation", "data-cell": c.cell_index, title: "Show this cell in the notebook", text: citationText(c), onClick: () => this.showCell(index) });
  }

  /** @param {number} index */
  async showCell(index) {
    const notebook = notebookOf(this.root);
    const cell = notebook ? await jumpToCell(notebook, index) : null;
    if (!cell) this.ctrl.showError({ code: "CELL_NOT_FOUND", message: `Cell ${index + 1} is not in this notebook any more.` });
  }

  /**
   * Waits for notebook `path` to be the shown notebook (JupyterLab opens it from the click), then jumps to cell
   * `index` in it. Gives up quietly when it never opens (the learner cancelled JupyterLab's confirmation).
   * @param {string} path @param {number} index
   */
  async showCellElsewhere(path, index) {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const notebook = shownNotebook(path);
      if (notebook && notebookCells(notebook).length) {
        const cell = await jumpToCell(notebook, index);
        if (!cell) this.ctrl.showError({ code: "CELL_NOT_FOUND", message: `Cell ${index + 1} is not in ${basename(path)} any more.` });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Copy and Insert-below buttons on every code block of a tutor message. @param {HTMLElement} body */
  addCodeActions(body) {
    for (const pre of Array.from(body.querySelectorAll("pre"))) {
      const code = () => pre.textContent || "";
      const copy = el("button", { type: "button", hook: "copy", class: "tutornb-button tutornb-small", text: "Copy", title: "Copy this code" });
      copy.addEventListener("click", async () => {
        const done = await copyText(code());
        copy.textContent = done ? "Copied" : "Copy failed";
        this.announceNode.textContent = done ? "Code copied" : "The code could not be copied";
        setTimeout(() => { copy.textContent = "Copy"; }, 2000);
      });
      const insert = el("button", { type: "button", hook: "insert", class: "tutornb-button tutornb-small", text: "Insert below", title: "Insert this code as a new cell below" });
      insert.addEventListener("click", async () => {
        const cell = /** @type {HTMLElement|null} */ (this.root.closest(".jp-Cell"));
        const done = cell ? await insertCodeBelow(cell, code()) : false;
        if (!done) this.ctrl.showError({ code: "INSERT_UNAVAILABLE", message: "A new cell could not be added here: use Copy and paste the code into a cell." });
      });
      const wrap = el("div", { class: "tutornb-code" });
      pre.replaceWith(wrap);
      wrap.append(pre, el("div", { class: "tutornb-code-actions" }, [copy, insert]));
    }
  }

  /** @param {StoredMessage} message */
  quizNode(message) {
    const quiz = /** @type {QuizPrompt} */ (message.quiz);
    const ctrl = this.ctrl;
    const choices = (quiz.choices || []).map((choice, index) =>
      el("button", { type: "button", hook: "choice", class: "tutornb-choice", "data-choice": index, onClick: () => {
        if (ctrl.answer(message, index)) this.wantFocus = "next-question";
      } }, [
        el("span", { class: "tutornb-choice-key", "aria-hidden": "true", text: `${LETTERS[index]})` }),
        el("span", { class: "tutornb-sr-only", text: `${LETTERS[index]}: ` }),
        el("span", { text: choice }),
        el("span", { class: "tutornb-choice-result" }),
      ]));
    // The tutor's text usually carries the question already; the block then only adds the buttons.
    const said = String(message.text || "");
    const label = `Question ${quiz.number} of ${quiz.total}`;
    const showQuestion = !said.includes(quiz.question);
    return el("div", { hook: "quiz", class: "tutornb-quiz", "data-question-id": quiz.question_id, role: "group", "aria-label": label }, [
      said.includes(label) ? null : el("div", { class: "tutornb-muted", text: label }),
      showQuestion ? el("p", { class: "tutornb-quiz-question", text: quiz.question }) : null,
      el("div", { class: "tutornb-choices" }, choices),
      el("p", { class: "tutornb-muted tutornb-quiz-keys", text: `Press ${LETTERS.slice(0, Math.min(quiz.choices.length, 26)).split("").join(", ")} or click a choice.` }),
    ]);
  }

  renderGreeting() {
    const ctrl = this.ctrl;
    const empty = ctrl.view === "chat" && !ctrl.messages.size && !ctrl.outbox.length && !ctrl.streaming.size && !(ctrl.session && ctrl.session.status === "closed");
    if (!empty) {
      this.greetingSlot.replaceChildren();
      this.greetingKey = "";
      return;
    }
    const work = ctrl.model.get("last_work");
    // Rebuilt only when what it offers changes, so a focused suggestion keeps its focus.
    const key = `${headerText(ctrl.context)}|${!!(work && work.error)}`;
    if (key === this.greetingKey && this.greetingSlot.firstChild) return;
    this.greetingKey = key;
    const suggestions = SUGGESTIONS.map((s) => ({ ...s, work: null }));
    if (work && work.error) {
      suggestions.push({ key: "error", label: "Ask about my last error", text: "Why does my last cell fail, and how do I fix it?", work });
    }
    const where = headerText(ctrl.context);
    const buttons = suggestions.map((s) => el("button", { type: "button", class: "tutornb-button tutornb-suggestion", "data-suggestion": s.key, text: s.label, onClick: async () => {
      this.wantFocus = "input";
      await ctrl.sendText(s.text, { work: s.work });
      this.applyFocus();
    } }));
    this.greetingSlot.replaceChildren(el("div", { class: "tutornb-greeting" }, [
      el("p", { text: where === "General tutor" ? "Hi! I'm your tutor. Ask me anything, or start with one of these:" : `Hi! I'm your tutor for ${where}. Ask me anything about this notebook, or start with one of these:` }),
      el("div", { class: "tutornb-suggestions", role: "group", "aria-label": "Suggestions" }, buttons),
    ]));
  }

  nearBottom() {
    const list = this.messagesNode;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  }

  /** @param {boolean} unseen */
  setUnseen(unseen) {
    this.unseen = unseen;
    this.jumpButton.hidden = !unseen;
  }

  jumpToLatest() {
    this.messagesNode.scrollTop = this.messagesNode.scrollHeight;
    this.setUnseen(false);
    this.input.focus();
  }

  /** @param {boolean} wasNearBottom */
  followScroll(wasNearBottom) {
    if (wasNearBottom) {
      this.messagesNode.scrollTop = this.messagesNode.scrollHeight;
      this.setUnseen(false);
    } else {
      this.setUnseen(true);
    }
  }

  renderMessages() {
    const ctrl = this.ctrl;
    const list = this.listNode;
    const nearBottom = this.nearBottom();
    const stored = Array.from(ctrl.messages.values()).sort((a, b) => (a.seq || 0) - (b.seq || 0));
    /** @type {Array<[string, HTMLElement]>} */
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
          this.messageHead("tutor", undefined),
          el("div", { class: "tutornb-body" }, [el("div", { class: "tutornb-text tutornb-md" })]),
        ]);
      }
      this.paintStream(node, text);
      wanted.push([key, node]);
    }
    const online = ctrl.connection === "online";
    const storedIds = new Set(stored.map((m) => m.client_id).filter(Boolean));
    for (const entry of ctrl.outbox) {
      if (storedIds.has(entry.client_id)) continue; // a retried question: it is on screen already
      const key = `p:${entry.client_id}`;
      let node = this.nodes.get(key);
      if (!node) {
        node = el("li", { hook: "message", "data-role": "learner", "data-pending": "true", "data-client-id": entry.client_id, class: "tutornb-message tutornb-learner tutornb-pending" }, [
          this.messageHead("learner", undefined),
          el("div", { class: "tutornb-body" }, [el("div", { class: "tutornb-text", text: entry.text })]),
          el("span", { class: "tutornb-pending-note" }),
        ]);
      }
      const state = entry.failed ? "failed" : online && ctrl.session && ctrl.session.status === "active" ? "sending" : "queued";
      const note = /** @type {HTMLElement} */ (node.querySelector(".tutornb-pending-note"));
      note.textContent = entry.failed ? `Not sent yet (${entry.failed.code})` : state === "sending" ? "Sending…" : "Queued: it will be sent when the connection is back.";
      node.dataset.failed = entry.failed ? "true" : "false";
      node.dataset.queue = state;
      wanted.push([key, node]);
    }
    const keep = new Set(wanted.map(([key]) => key));
    for (const [key, node] of this.nodes) {
      if (!keep.has(key)) {
        node.remove();
        this.nodes.delete(key);
      }
    }
    const grew = wanted.some(([key]) => !this.nodes.has(key));
    wanted.forEach(([key, node], index) => {
      this.nodes.set(key, node);
      if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
    });
    this.updateQuizzes(stored);
    this.renderGreeting();
    this.typingNode.hidden = !ctrl.typing;
    this.announceNode.textContent = ctrl.typing ? "Tutor is typing…" : "";
    this.stopButton.hidden = !ctrl.turnActive || !ctrl.chat;
    this.stopButton.disabled = ctrl.stopping;
    if (this.stopButton.hidden && document.activeElement === this.stopButton) this.input.focus();
    if (grew) this.followScroll(nearBottom || wanted.length <= 2);
  }

  /** The streamed text as Markdown, re-rendered as it grows (blocks keep their place: no jumps). @param {HTMLElement} node @param {string} text */
  paintStream(node, text) {
    const body = /** @type {HTMLElement} */ (node.querySelector(".tutornb-text"));
    if (body.dataset.length === String(text.length)) return;
    body.dataset.length = String(text.length);
    body.replaceChildren(renderStreamingMarkdown(text));
  }

  /** One more delta of a streaming reply: its bubble is re-painted, at most once per frame. @param {{id: string, text: string}} detail */
  extendStream({ id }) {
    const node = this.nodes.get(`s:${id}`);
    if (!node) {
      this.renderMessages();
      return;
    }
    if (this.painting) return;
    this.painting = true;
    const paint = () => {
      this.painting = false;
      const text = this.ctrl.streaming.get(id);
      if (text === undefined || !node.isConnected) return;
      const nearBottom = this.nearBottom();
      this.paintStream(node, text);
      this.typingNode.hidden = !this.ctrl.typing;
      if (nearBottom) this.messagesNode.scrollTop = this.messagesNode.scrollHeight;
      else this.setUnseen(true);
    };
    if (typeof requestAnimationFrame === "function" && document.visibilityState === "visible") requestAnimationFrame(paint);
    else paint();
  }

  /** @param {StoredMessage[]} stored */
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
      const answeredHere = ctrl.answered.has(`${message.id}:${message.quiz.question_id}`);
      const open = !!active && message === lastTutor && !answeredHere;
      const result = ctrl.quizResults.get(message.id) || (message === lastTutor ? null : ctrl.storedResults.get(message.quiz.question_id)) || null;
      const quiz = node.querySelector(`[${HOOK}="quiz"]`);
      if (quiz) quiz.setAttribute("data-open", String(open));
      for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (node.querySelectorAll(`[${HOOK}="choice"]`))) {
        button.disabled = !open;
        const chosen = !!result && result.choice === Number(button.dataset.choice);
        const mark = /** @type {HTMLElement} */ (button.querySelector(".tutornb-choice-result"));
        if (chosen) {
          button.dataset.chosen = "true";
          button.setAttribute("aria-pressed", "true");
          const verdict = result && result.correct === true ? "right" : result && result.correct === false ? "wrong" : "";
          if (verdict) button.dataset.result = verdict;
          mark.textContent = verdict === "right" ? " ✓ right" : verdict === "wrong" ? " ✗ wrong" : " (your answer)";
        } else {
          delete button.dataset.chosen;
          button.removeAttribute("aria-pressed");
          mark.textContent = "";
        }
      }
    }
  }

  dispose() {
    this.unsubscribe();
    if (this.docked) this.panel.remove();
    this.root.replaceChildren();
  }
}

/** Drops the Markdown list of choices ("- **A)** …") from a quiz message: the choices are the buttons. @param {HTMLElement} body */
function dropChoiceList(body) {
  for (const list of Array.from(body.querySelectorAll("ul, ol"))) {
    const items = Array.from(list.children);
    if (items.length >= 2 && items.every((li) => /^\s*[A-Z]\)\s/.test(li.textContent || ""))) list.remove();
  }
  for (const p of Array.from(body.querySelectorAll("p"))) {
    if (/^Answer with the letter/i.test((p.textContent || "").trim())) p.remove();
  }
}

// ------------------------------------------------------------------------------------------------------
// anywidget entry points

export default {
  /** @param {{model: WidgetModel}} args */
  async initialize({ model }) {
    const ctrl = new Controller(model);
    const key = model.get("panel_id");
    controllers.set(key, ctrl);
    const onContext = () => ctrl.emit("session");
    const onWork = () => ctrl.emit("messages");
    model.on("change:context", onContext);
    model.on("change:note", onContext);
    model.on("change:last_work", onWork);
    return () => {
      model.off("change:context", onContext);
      model.off("change:note", onContext);
      model.off("change:last_work", onWork);
      ctrl.dispose();
      if (controllers.get(key) === ctrl) controllers.delete(key);
    };
  },

  /** @param {{model: WidgetModel, el: HTMLElement}} args */
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
