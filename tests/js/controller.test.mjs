// Unit tests for the controller (js/controller.js, frames.js, outbox.js: outbox queue, frame handling,
// reconnect/backoff in transports/socket.js, sign-out), run by node's own test runner with a fake transport:
// `node --test tests/js/`.
// The browser behaviour (DOM, JupyterLab) is covered by tests/e2e.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { Controller } from "../../js/controller.js";
import { learnerErrorText } from "../../js/errors.js";
import { backoffDelay, SocketChat } from "../../js/transports/socket.js";
import { titleFrom } from "../../js/util.js";

/** A widget model with just the traits the controller reads. */
function fakeModel(state = {}) {
  const values = {
    panel_id: "p1",
    transport: "websocket",
    session_id: "",
    auto_resume: false,
    notebook_path: "nb.ipynb",
    context: { course_id: "py", module_title: "Lists" },
    ...state,
  };
  return {
    values,
    get: (name) => values[name],
    set: (name, value) => {
      values[name] = value;
    },
    save_changes() {},
    on() {},
    off() {},
    send() {},
  };
}

/** A chat channel that records what the controller sends; `online` can be switched off. */
class FakeChat {
  constructor(handlers) {
    this.handlers = handlers;
    this.sent = [];
    this.online = true;
    this.closed = false;
    this.retries = 0;
  }
  send(frame) {
    if (!this.online || this.closed) return false;
    this.sent.push(frame);
    return true;
  }
  retryNow() {
    this.retries += 1;
  }
  close() {
    this.closed = true;
  }
  frame(frame) {
    this.handlers.onFrame(frame);
  }
}

/** A pipe answering requests from a table; every chat it opens is kept. */
class FakePipe {
  constructor({ auth = "ok" } = {}) {
    this.kind = "websocket";
    this.chats = [];
    this.requests = [];
    this.auth = auth;
    this.nextId = 1;
  }
  async request(method, params = {}) {
    this.requests.push([method, params]);
    if (method === "create_session") return { id: `s${this.nextId++}`, status: "active", title: params.title || "" };
    if (method === "list_sessions") return { sessions: [], total: 0 };
    if (method === "change_status")
      return {
        id: params.session_id,
        status: params.action === "pause" ? "paused" : params.action === "resume" ? "active" : "closed",
      };
    return {};
  }
  async exportSession() {
    return { blob: null, filename: "x" };
  }
  openChat(sessionId, handlers) {
    const chat = new FakeChat(handlers);
    chat.sessionId = sessionId;
    this.chats.push(chat);
    return chat;
  }
  async authState() {
    return this.auth;
  }
  dispose() {}
}

// Panels live on one page (the registry of live sessions is page-wide): each test disposes its own.
const made = [];
afterEach(() => {
  for (const ctrl of made.splice(0)) ctrl.dispose();
});

async function started(pipe = new FakePipe(), state = {}) {
  const ctrl = new Controller(fakeModel(state), { choosePipe: async () => pipe });
  made.push(ctrl);
  ctrl.subscribe(() => {}); // a view is attached
  await ctrl.ensureStarted();
  return { ctrl, pipe };
}

const session = (id, status = "active", messages = []) => ({
  type: "session",
  session: { id, status, phase: "intake", messages },
});
const learner = (id, seq, text, client_id) => ({
  id,
  seq,
  role: "learner",
  text,
  client_id,
  created_at: "2026-01-01T00:00:00Z",
});
const tutor = (id, seq, text, extra = {}) => ({
  id,
  seq,
  role: "tutor",
  text,
  created_at: "2026-01-01T00:00:01Z",
  ...extra,
});

test("the first message starts a session titled by the question, and is sent once the session is active", async () => {
  const { ctrl, pipe } = await started();
  assert.equal(ctrl.view, "chat");
  assert.equal(await ctrl.sendText("How do I loop over a list?\nwith its index"), true);
  const [, params] = pipe.requests.find(([m]) => m === "create_session");
  assert.equal(params.title, "How do I loop over a list? with its index");
  assert.deepEqual(params.context, { course_id: "py", module_title: "Lists" });
  const chat = pipe.chats[0];
  // Nothing goes out before the server's session frame says "active"
  assert.deepEqual(chat.sent, []);
  chat.frame(session("s1"));
  assert.equal(chat.sent.length, 1);
  assert.equal(chat.sent[0].type, "message");
  assert.equal(chat.sent[0].text, "How do I loop over a list?\nwith its index");
  assert.equal(ctrl.outbox.length, 1);
  // The ack takes it out of the outbox and puts the stored message on screen
  chat.frame({
    type: "ack",
    client_id: chat.sent[0].client_id,
    message: learner("m1", 1, "q", chat.sent[0].client_id),
  });
  assert.equal(ctrl.outbox.length, 0);
  assert.equal(ctrl.messages.get("m1").text, "q");
  assert.equal(ctrl.typing, true);
});

test("a message sent while offline is queued, re-sent with the same client_id on reconnect, and stored once", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s9" });
  const chat = pipe.chats[0];
  chat.frame(session("s9"));
  chat.online = false;
  await ctrl.sendText("Is a tuple like a list?");
  assert.equal(ctrl.outbox.length, 1);
  assert.equal(chat.sent.length, 0);
  assert.ok(chat.retries >= 1, "a learner action retries the connection at once");
  // The socket comes back: the server sends the session again, the outbox is flushed
  chat.online = true;
  chat.frame(session("s9"));
  assert.equal(chat.sent.length, 1);
  const clientId = chat.sent[0].client_id;
  // A second reconnection before the ack sends the very same client_id again
  chat.frame(session("s9"));
  assert.equal(chat.sent.length, 2);
  assert.equal(chat.sent[1].client_id, clientId);
  // The restore payload already holding it drops it from the outbox
  chat.frame(session("s9", "active", [learner("m1", 1, "Is a tuple like a list?", clientId)]));
  assert.equal(ctrl.outbox.length, 0);
});

test("learner work attached to a message travels in the frame", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame(session("s1"));
  await ctrl.sendText("Why does my last cell fail?", {
    work: { cell_index: 3, code: "x = [1][2]", error: "IndexError" },
  });
  assert.deepEqual(chat.sent[0].work, { cell_index: 3, code: "x = [1][2]", error: "IndexError" });
});

test("a permanent refusal gives the text back; a passing one keeps it queued and marked", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame(session("s1"));
  await ctrl.sendText("x".repeat(10));
  const first = chat.sent[0].client_id;
  chat.frame({ type: "error", code: "PAYLOAD_TOO_LARGE", message: "too long", client_id: first });
  assert.equal(ctrl.outbox.length, 0);
  assert.equal(ctrl.returnedText, "x".repeat(10));
  await ctrl.sendText("second");
  const second = chat.sent[1].client_id;
  chat.frame({ type: "error", code: "RATE_LIMITED", message: "slow down", client_id: second });
  assert.equal(ctrl.outbox.length, 1);
  assert.equal(ctrl.outbox[0].failed.code, "RATE_LIMITED");
  assert.equal(ctrl.error.concern, `p:${second}`);
  // A reply to an earlier question does not hide why this one waits
  chat.frame({ type: "message", message: tutor("m9", 9, "An earlier answer") });
  assert.equal(ctrl.error.code, "RATE_LIMITED");
  clearTimeout(ctrl.retryTimer);
  ctrl.dispose();
});

test("deltas stream into one bubble that the stored message replaces", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame(session("s1"));
  const kinds = [];
  ctrl.subscribe((kind) => kinds.push(kind));
  chat.frame({ type: "delta", message_id: "t1", text: "Use **enu" });
  chat.frame({ type: "delta", message_id: "t1", text: "merate**" });
  assert.equal(ctrl.streaming.get("t1"), "Use **enumerate**");
  assert.deepEqual(kinds, ["messages", "delta"]);
  assert.equal(ctrl.turnActive, true);
  chat.frame({ type: "message", stream_id: "t1", message: tutor("m2", 2, "Use **enumerate**") });
  assert.equal(ctrl.streaming.size, 0);
  assert.equal(ctrl.turnActive, false);
  assert.ok(ctrl.messages.has("m2"));
});

test("Stop sends a stop frame only while a turn is under way", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame(session("s1"));
  assert.equal(ctrl.stop(), false);
  chat.frame({ type: "delta", message_id: "t1", text: "Once upon" });
  assert.equal(ctrl.stop(), true);
  assert.deepEqual(chat.sent.at(-1), { type: "stop" });
  assert.equal(ctrl.stopping, true);
  chat.frame({ type: "message", stream_id: "t1", message: tutor("m2", 2, "Once upon", { interrupted: "stopped" }) });
  assert.equal(ctrl.stopping, false);
  assert.equal(ctrl.messages.get("m2").interrupted, "stopped");
});

test("a failed turn's error sits on the question it did not answer, without the endpoint's address, and Retry asks again", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame(session("s1", "active", [learner("m1", 1, "What is a dict?", "c1")]));
  chat.frame({ type: "delta", message_id: "t1", text: "A dict" });
  chat.frame({
    type: "error",
    code: "TUTOR_UNAVAILABLE",
    message: "The model service at 127.0.0.1:8999 did not answer (timeout).",
  });
  assert.equal(ctrl.error.concern, "m:m1");
  assert.equal(ctrl.error.message.includes("127.0.0.1"), false);
  assert.equal(ctrl.streaming.size, 0);
  await ctrl.retryTurn("m1");
  // The stored question goes again with its own client_id: acknowledged again, never stored twice
  assert.equal(chat.sent.at(-1).type, "message");
  assert.equal(chat.sent.at(-1).text, "What is a dict?");
  assert.equal(chat.sent.at(-1).client_id, "c1");
  assert.equal(ctrl.error, null);
  chat.frame({ type: "ack", client_id: "c1", message: learner("m1", 1, "What is a dict?", "c1") });
  assert.equal(ctrl.outbox.length, 0);
  assert.equal(ctrl.typing, true, "a fresh turn follows the retried question");
});

test("a turn failure naming the stored question's client_id sits under that question", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame(session("s1", "active", [learner("m1", 1, "What is a dict?", "c1")]));
  chat.frame({
    type: "error",
    code: "TUTOR_UNAVAILABLE",
    message: "The model service at 127.0.0.1:9 failed.",
    client_id: "c1",
  });
  assert.equal(ctrl.error.concern, "m:m1");
  assert.equal(ctrl.outbox.length, 0);
});

test("an answer is sent once, and the tutor's verdict marks it right or wrong", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  const quiz = { question_id: "q1", number: 1, total: 2, question: "2+2?", choices: ["3", "4"] };
  chat.frame(session("s1", "active", [tutor("m1", 1, "Question 1", { quiz })]));
  const message = ctrl.messages.get("m1");
  assert.equal(ctrl.answer(message, 1), true);
  assert.equal(ctrl.answer(message, 0), false, "a question is answered once");
  assert.deepEqual(
    chat.sent.filter((f) => f.type === "answer").map((f) => f.choice),
    [1],
  );
  chat.frame({ type: "message", message: tutor("m3", 3, "✅ **Correct!** Four.") });
  assert.deepEqual(ctrl.quizResults.get("m1"), { choice: 1, correct: true });
});

test("stored quiz answers from the tutor state are known after a reload", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame({
    type: "session",
    session: {
      id: "s1",
      status: "active",
      messages: [],
      state: { quiz: { answers: [{ question_id: "q1", choice: 0, correct: false }] } },
    },
  });
  assert.deepEqual(ctrl.storedResults.get("q1"), { choice: 0, correct: false });
});

test("a paused session is resumed before the outbox is sent, and Pause/Resume follow the server", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame(session("s1", "paused"));
  await ctrl.sendText("back again");
  assert.deepEqual(
    chat.sent.map((f) => f.type),
    ["resume"],
  );
  chat.frame({ type: "state", session: { id: "s1", status: "active" } });
  assert.deepEqual(
    chat.sent.map((f) => f.type),
    ["resume", "message"],
  );
  await ctrl.changeStatus("pause");
  assert.equal(ctrl.session.status, "paused");
});

test("a dropped socket on a signed-out page shows the signed-out state and stops reconnecting", async () => {
  const pipe = new FakePipe({ auth: "signed-out" });
  const { ctrl } = await started(pipe, { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.frame(session("s1"));
  await chat.handlers.onDrop(1);
  assert.equal(ctrl.connection, "signed-out");
  assert.equal(ctrl.error.code, "SIGNED_OUT");
  assert.match(ctrl.error.message, /Reload the page to sign in again/);
  assert.equal(chat.closed, true);
  // Later socket states do not hide it
  chat.handlers.onStatus("reconnecting");
  assert.equal(ctrl.connection, "signed-out");
});

test("a connection error banner goes away when the connection is back", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  const chat = pipe.chats[0];
  chat.handlers.onStatus("reconnecting");
  ctrl.showError({ code: "NETWORK_ERROR", message: "The tutor server could not be reached." });
  chat.handlers.onStatus("online");
  assert.equal(ctrl.error, null);
});

test("an unreadable frame is reported, not dropped silently", async () => {
  const { ctrl, pipe } = await started(new FakePipe(), { session_id: "s1" });
  pipe.chats[0].handlers.onBadFrame();
  assert.equal(ctrl.error.code, "BAD_FRAME");
});

test("a second panel on a session already live in this page points to the first instead of connecting", async () => {
  const first = await started(new FakePipe(), { session_id: "shared" });
  first.pipe.chats[0].frame(session("shared"));
  let revealed = 0;
  first.ctrl.subscribe((kind) => {
    if (kind === "reveal") revealed += 1;
  });
  const second = await started(new FakePipe(), { session_id: "shared", panel_id: "p2" });
  assert.equal(second.ctrl.view, "elsewhere");
  assert.equal(second.pipe.chats.length, 0);
  assert.equal(revealed, 1);
  // Once the first panel is gone, the session can be opened live again
  first.ctrl.dispose();
  await second.ctrl.openSession("shared", { resume: true });
  assert.equal(second.ctrl.view, "chat");
  assert.equal(second.pipe.chats.length, 1);
  second.ctrl.dispose();
});

/** A WebSocket stand-in driven by the test. */
class FakeSocket {
  static made = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.made.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen();
  }
  drop() {
    this.readyState = 3;
    this.onclose();
  }
  send(data) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
  }
}

test("the chat socket backs off exponentially, says offline after a few tries, and reports bad frames", () => {
  FakeSocket.made = [];
  const timers = [];
  const states = [];
  const frames = [];
  let bad = 0;
  const drops = [];
  const chat = new SocketChat(
    "ws://x/chat",
    {
      onStatus: (s) => states.push(s),
      onFrame: (f) => frames.push(f),
      onBadFrame: () => {
        bad += 1;
      },
      onDrop: (attempt) => drops.push(attempt),
    },
    {
      WebSocket: FakeSocket,
      setTimeout: (fn, ms) => {
        timers.push({ fn, ms });
        return timers.length;
      },
      clearTimeout() {},
      random: () => 0.5,
      isOnline: () => true,
      events: null,
    },
  );
  FakeSocket.made[0].open();
  assert.deepEqual(states, ["connecting", "online"]);
  FakeSocket.made[0].onmessage({ data: "{not json" });
  FakeSocket.made[0].onmessage({ data: '{"type":"state","session":{}}' });
  assert.equal(bad, 1);
  assert.deepEqual(frames, [{ type: "state", session: {} }]);
  for (let i = 0; i < 5; i += 1) {
    FakeSocket.made.at(-1).drop();
    timers.at(-1).fn();
  }
  assert.deepEqual(
    timers.map((t) => t.ms),
    [500, 1000, 2000, 4000, 8000],
  );
  assert.deepEqual(drops, [1, 2, 3, 4, 5]);
  assert.ok(states.includes("reconnecting"));
  assert.ok(states.includes("offline"));
  // Back online: the attempt counter starts again
  FakeSocket.made.at(-1).open();
  assert.equal(states.at(-1), "online");
  assert.equal(chat.attempt, 0);
  assert.equal(chat.send({ type: "pause" }), true);
  chat.close();
  assert.equal(chat.send({ type: "pause" }), false);
});

test("backoff, titles and learner error texts", () => {
  assert.equal(
    backoffDelay(1, () => 0.5),
    500,
  );
  assert.equal(
    backoffDelay(30, () => 0.5),
    15000,
  );
  assert.equal(titleFrom("**How** do I `zip` two lists?"), "How do I zip two lists?");
  assert.equal(titleFrom("x".repeat(100)).length, 80);
  assert.equal(
    learnerErrorText("TUTOR_UNAVAILABLE", "Could not reach http://10.0.0.5:8000/v1"),
    "The tutor could not answer just now. Try again in a moment.",
  );
  assert.equal(
    learnerErrorText("RATE_LIMITED", "Too many messages: wait a moment."),
    "Too many messages: wait a moment.",
  );
});
