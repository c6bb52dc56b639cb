// The page sanitizer's rules (js/sanitizer.js) in node: the DOMPurify settings built from the server's
// allowlist and the per-tag URL and class rules its hook applies. DOMPurify itself needs a real DOM, so
// what it makes of hostile HTML is tested in chromium (tests/e2e/test_sanitizer.py,
// tests/security/test_xss_browser.py), where the panel's bundle runs.
import assert from "node:assert/strict";
import { test } from "node:test";

import { allowedClasses, DROPPED_TAGS, isAllowedUrl, purifyConfig } from "../../js/sanitizer.js";
import { serverPolicy } from "./python.mjs";

const policy = serverPolicy();

test("DOMPurify is configured from the server's allowlist and nothing wider", () => {
  const config = purifyConfig(policy);
  assert.deepEqual([...config.ALLOWED_TAGS].sort(), [...policy.tags].sort());
  assert.deepEqual(config.ALLOWED_ATTR, [...new Set(Object.values(policy.attributes).flat())].sort());
  for (const tag of [...policy.dropped_tags, "script", "form", "button", "textarea"]) {
    assert.ok(config.FORBID_TAGS.includes(tag), `${tag} is removed`);
    assert.ok(config.ADD_FORBID_CONTENTS.includes(tag), `${tag} goes with its content`);
  }
  assert.equal(config.ALLOW_DATA_ATTR, false);
  assert.equal(config.ALLOW_ARIA_ATTR, false);
  assert.equal(config.KEEP_CONTENT, true, "unknown wrappers lose the element, not the words");
  assert.equal(config.RETURN_DOM_FRAGMENT, true);
  assert.ok(
    config.ALLOWED_TAGS.every((tag) => !DROPPED_TAGS.includes(tag)),
    "no allowed tag is dropped",
  );
});

test("without a policy no element is allowed", () => {
  const config = purifyConfig(null);
  assert.deepEqual(config.ALLOWED_TAGS, []);
  assert.deepEqual(config.ALLOWED_ATTR, []);
});

test("URLs keep only the policy's schemes; relative ones only where the policy allows them", () => {
  assert.equal(isAllowedUrl("https://docs.python.org/3/", policy), true);
  assert.equal(isAllowedUrl("mailto:teacher@example.org", policy), true);
  for (const hostile of [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\u0000script:alert(1)",
    "\u0085javascript:alert(1)",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:x",
    "/logout",
    "//evil.test/x",
    "files/secret.txt",
  ]) {
    assert.equal(isAllowedUrl(hostile, policy), false, JSON.stringify(hostile));
  }
  assert.equal(isAllowedUrl("files/notes.txt", { ...policy, url_relative: true }), true);
});

test("classes survive only where the policy lists them", () => {
  assert.equal(allowedClasses("code", "language-python jp-LabShell", policy), "language-python");
  assert.equal(allowedClasses("span", "k nope nf", policy), "k nf");
  assert.equal(allowedClasses("p", "jp-LabShell lm-Widget", policy), "");
  assert.equal(allowedClasses("code", `language-${"x".repeat(40)}`, policy), "");
});
