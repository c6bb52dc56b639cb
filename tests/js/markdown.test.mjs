// The page's Markdown (js/markdown.js): markdown-it configured as the server's markdown-it-py, so a
// streamed reply has the blocks of the stored one; raw HTML is escaped; a marker still open at the end of
// a streamed text is hidden until it closes.
import assert from "node:assert/strict";
import { test } from "node:test";

import { hideOpenMarkers, markdownToHtml } from "../../js/markdown.js";
import { fromPython } from "./python.mjs";

// The shapes tutors write: paragraphs, emphasis, fenced code, lists, quotes, headings, tables, links.
const SAMPLES = [
  "Use **enumerate** when you need the index:\n\n```python\nfor i, x in enumerate(xs):\n    print(i, x)\n```",
  "- one\n- two *em* `code`\n  continued\n\n1. first\n2. second\n\n3) third",
  "> A quote\n> on two lines\n\n# Heading\n\n### Smaller heading\n\nText after.",
  "| name | type |\n|------|------|\n| x | int |\n| `s` | str |",
  "~~gone~~ [the docs](https://docs.python.org/3/) and __strong__ _em_\n\n---\n\nline  \nbreak",
  "Raw HTML stays text: <b>bold?</b> <script>alert(1)</script> &amp; 3 < 4",
  "```\nno language\n```\n\n    indented code\n\nA [link](javascript:alert(1)) and ![an image](http://images.test/i.png)",
];

/** The two renderings side by side without what only the server adds: highlighting spans, link attributes. */
function comparable(html) {
  return html
    .replace(/<\/?span[^>]*>/g, "")
    .replace(/ (target|rel)="[^"]*"/g, "")
    .replace(/\s*\/>/g, ">")
    .trim();
}

test("streamed Markdown renders as the server renders the stored message", () => {
  const server = fromPython(
    "import json, sys; from tutornb.render import render_markdown; " +
      "print(json.dumps([render_markdown(t) for t in json.load(sys.stdin)]))",
    JSON.stringify(SAMPLES),
  );
  SAMPLES.forEach((text, index) => {
    assert.equal(comparable(markdownToHtml(text)), comparable(server[index]), `sample ${index}: ${text}`);
  });
});

test("raw HTML in the text is escaped, never passed", () => {
  const html = markdownToHtml('<img src=x onerror="alert(1)"> <a href="javascript:x">y</a>');
  assert.ok(!html.includes("<img"), html);
  assert.ok(!html.includes("<a "), html);
  assert.ok(html.includes("&lt;img"), html);
});

test("a marker still open at the end of a stream is hidden until it closes", () => {
  assert.equal(hideOpenMarkers("Use **enum"), "Use enum");
  assert.equal(hideOpenMarkers("Use **enumerate** and `zi"), "Use **enumerate** and zi");
  assert.equal(hideOpenMarkers("Closed **bold** and `code`"), "Closed **bold** and `code`");
  // Stars inside code are code
  assert.equal(hideOpenMarkers("Pass `**kwargs` to it"), "Pass `**kwargs` to it");
  assert.equal(hideOpenMarkers("Pass `**kwargs` and **bo"), "Pass `**kwargs` and bo");
  // Only the paragraph being written is touched
  assert.equal(hideOpenMarkers("a ** b\n\nnow __str"), "a ** b\n\nnow str");
  // Inside an open code block the text is code: nothing is hidden
  assert.equal(hideOpenMarkers("```python\nx = '**'"), "```python\nx = '**'");
  assert.equal(markdownToHtml(hideOpenMarkers("Use **enum")), "<p>Use enum</p>\n");
});
