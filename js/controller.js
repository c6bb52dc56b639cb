// @ts-check
// Controller: the panel's state, shared by every view of one model. No DOM here, so node's test runner
// drives it with a fake transport (tests/js/). Frames are handled in frames.js, the outbox queue in
// outbox.js, the history drawer's state in history.js: each is a set of functions of the controller.

import { asError, CONNECTION_ERRORS, isSignedOut, learnerErrorText, SIGNED_OUT_MESSAGE } from "./errors.js";
import { lastLearnerMessage, onFrame, onState } from "./frames.js";
import { loadCandidates } from "./history.js";
import { enqueue, flushOutbox, outboxStore } from "./outbox.js";
import { choosePipe } from "./transports/choose.js";
import { courseContext, saveFile, titleFrom, uuid } from "./util.js";

/** @typedef {import("./types.js").ChatChannel} ChatChannel */
/** @typedef {import("./types.js").LearnerWork} LearnerWork */
/** @typedef {import("./types.js").OutboxEntry} OutboxEntry */
/** @typedef {import("./types.js").PanelError} PanelError */
/** @typedef {import("./types.js").Pipe} Pipe */
/** @typedef {import("./types.js").SessionInfo} SessionInfo */
/** @typedef {import("./types.js").StoredMessage} StoredMessage */
/** @typedef {import("./types.js").WidgetModel} WidgetModel */

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
      open: false,
      q: "",
      course_id: "",
      module_id: "",
      status: "",
      /** @type {SessionInfo[]} */ items: [],
      total: 0,
      seq: 0,
      loading: false,
      failed: "",
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
    await loadCandidates(this);
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
      onFrame: (frame) => onFrame(this, sessionId, frame),
      onStatus: (state) => {
        if (this.session && this.session.id === sessionId) this.setConnection(state);
      },
      onDrop: (attempt) => this.onDrop(sessionId, attempt),
      onBadFrame: () => this.onBadFrame(),
    });
  }

  /** The chat socket dropped: find out whether the page is signed out (403), which no retry fixes. @param {string} sessionId @param {number} attempt */
  async onDrop(sessionId, attempt) {
    if (!this.pipe?.authState || attempt < 1) return;
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

  // -- frames ------------------------------------------------------------------------------------------

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
        created = await this.pipe.request("create_session", {
          context: courseContext(this.context),
          title: titleFrom(text) || undefined,
        });
      } catch (err) {
        this.showError(err);
        return false;
      }
      outboxStore.save(created.id, [entry]);
      await this.openSession(created.id, { resume: true });
      if (!this.outbox.length) this.outbox = [entry]; // storage disabled: keep it in memory
      flushOutbox(this);
      this.typing = true;
      this.emit("messages");
      return true;
    }
    if (this.session.status === "closed") {
      this.showError({
        code: "INVALID_SESSION_STATE",
        message: "This session is closed: start a new session to keep learning.",
      });
      return false;
    }
    return enqueue(this, entry);
  }

  /**
   * Ask again what a failed or cut-off turn answered. The stored question is re-sent with its own client_id:
   * the server acknowledges it again (never stores it twice) and, as nothing (or only a cut-off reply)
   * answers it, runs a fresh tutor turn. A question without a client_id is sent as a new message.
   * @param {string} [messageId]
   */
  async retryTurn(messageId) {
    const learner = messageId ? this.messages.get(messageId) : lastLearnerMessage(this);
    if (!learner) return false;
    if (!learner.client_id || !this.session)
      return this.sendText(String(learner.text || ""), { work: learner.work || null });
    this.clearError();
    if (this.outbox.some((e) => e.client_id === learner.client_id)) return false;
    /** @type {OutboxEntry} */
    const entry = {
      client_id: learner.client_id,
      text: String(learner.text || ""),
      created_at: new Date().toISOString(),
      sentEpoch: -1,
      failed: null,
    };
    if (learner.work) entry.work = learner.work;
    this.retrying.add(learner.client_id);
    return enqueue(this, entry);
  }

  /** Ends the streaming turn; the server stores what was said, marked "stopped". */
  stop() {
    if (!this.chat || !this.turnActive) return false;
    if (!this.chat.send({ type: "stop" })) return false;
    this.stopping = true;
    this.emit("messages");
    return true;
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
      if (this.session && session && session.id === this.session.id) onState(this, session);
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
      saveFile(blob, filename);
    } catch (err) {
      this.showError(err);
    }
  }

  dispose() {
    this.disposed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.closeChat();
    if (this.pipe) this.pipe.dispose();
    this.listeners.clear();
  }
}
