// The outbox store (js/outbox.js): learner messages not yet acknowledged survive a reload in
// localStorage, per session, and broken storage never breaks sending. Node has no localStorage: each
// test installs a small Map-backed one with the Storage methods the store uses.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { outboxStore } from "../../js/outbox.js";

class MapStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

afterEach(() => {
  delete globalThis.localStorage;
});

const entry = (client_id, text) => ({
  client_id,
  text,
  created_at: "2026-01-01T00:00:00Z",
  work: null,
  sentEpoch: 3,
  failed: { code: "RATE_LIMITED", message: "slow down" },
});

test("saved entries come back for their session only, as not yet sent in this page", () => {
  globalThis.localStorage = new MapStorage();
  outboxStore.save("s1", [entry("c1", "first"), entry("c2", "second")]);
  outboxStore.save("s2", [entry("c3", "other session")]);
  const loaded = outboxStore.load("s1");
  assert.deepEqual(
    loaded.map((e) => [e.client_id, e.text]),
    [
      ["c1", "first"],
      ["c2", "second"],
    ],
  );
  // What was sent or refused in the previous page is not carried over: the new page sends it again
  assert.ok(loaded.every((e) => e.sentEpoch === -1 && e.failed === null));
  // Only the fields needed to send again are stored
  assert.deepEqual(Object.keys(JSON.parse(globalThis.localStorage.getItem("tutornb:outbox:s1"))[0]).sort(), [
    "client_id",
    "created_at",
    "text",
    "work",
  ]);
});

test("an empty outbox removes the session's key", () => {
  globalThis.localStorage = new MapStorage();
  outboxStore.save("s1", [entry("c1", "first")]);
  outboxStore.save("s1", []);
  assert.equal(globalThis.localStorage.getItem("tutornb:outbox:s1"), null);
  assert.deepEqual(outboxStore.load("s1"), []);
});

test("corrupt or foreign data in the key is ignored, entry by entry", () => {
  globalThis.localStorage = new MapStorage();
  globalThis.localStorage.setItem("tutornb:outbox:s1", "{not json");
  assert.deepEqual(outboxStore.load("s1"), []);
  globalThis.localStorage.setItem("tutornb:outbox:s1", JSON.stringify({ client_id: "c1" }));
  assert.deepEqual(outboxStore.load("s1"), []);
  globalThis.localStorage.setItem(
    "tutornb:outbox:s1",
    JSON.stringify([null, { client_id: 7, text: "x" }, { client_id: "c2", text: "kept" }]),
  );
  assert.deepEqual(
    outboxStore.load("s1").map((e) => e.client_id),
    ["c2"],
  );
});

test("without storage (node, sandboxed frames) saving and loading do not throw", () => {
  assert.doesNotThrow(() => outboxStore.save("s1", [entry("c1", "first")]));
  assert.deepEqual(outboxStore.load("s1"), []);
  globalThis.localStorage = {
    getItem() {
      throw new Error("SecurityError");
    },
    setItem() {
      throw new Error("QuotaExceededError");
    },
    removeItem() {
      throw new Error("SecurityError");
    },
  };
  assert.doesNotThrow(() => outboxStore.save("s1", [entry("c1", "first")]));
  assert.deepEqual(outboxStore.load("s1"), []);
});
