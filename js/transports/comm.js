// @ts-check
// The widget's kernel comm transport, for places where the server extension cannot be reached (VS Code,
// Colab): requests keyed by a uuid, errors as data; chat frames verbatim.

import { TutorError } from "../errors.js";
import { uuid } from "../util.js";
import { REQUEST_TIMEOUT_MS } from "./rest.js";

/** @typedef {import("../types.js").Pipe} Pipe */
/** @typedef {import("../types.js").ChatChannel} ChatChannel */
/** @typedef {import("../types.js").ChatHandlers} ChatHandlers */
/** @typedef {import("../types.js").Frame} Frame */
/** @typedef {import("../types.js").WidgetModel} WidgetModel */

/** The widget's kernel comm: requests keyed by a uuid, errors as data; chat frames verbatim. @implements {Pipe} */
export class CommPipe {
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
