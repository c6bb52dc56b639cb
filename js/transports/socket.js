// @ts-check
// The chat WebSocket of the REST transport: reconnects with backoff, reports frames and its state.

/** @typedef {import("../types.js").ChatChannel} ChatChannel */
/** @typedef {import("../types.js").ChatHandlers} ChatHandlers */
/** @typedef {import("../types.js").Frame} Frame */

/** Exponential backoff with jitter for the chat socket: 0.5 s, 1 s, 2 s … up to 15 s. */
export function backoffDelay(/** @type {number} */ attempt, random = Math.random) {
  return Math.min(15000, 500 * 2 ** Math.max(0, attempt - 1)) * (0.8 + random() * 0.4);
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
