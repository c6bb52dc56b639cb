// @ts-check
// Streaming Markdown: while a reply streams, its Markdown is rendered by this small renderer that builds
// DOM nodes from text (never an HTML string), so nothing it produces can carry markup from the stream.
// It knows the shapes tutors use (paragraphs, headings, lists, fenced code, quotes, **bold**, *em*,
// `code`); the stored message then brings the server's full rendering, with the same block layout, so the
// bubble does not jump.

import { el } from "./util.js";

/** @param {HTMLElement|DocumentFragment} into @param {string} text */
function renderInline(into, text) {
  const pattern = /(`+)([^`]+?)\1|\*\*([^*]+?)\*\*|__([^_]+?)__|\*([^*\s][^*]*?)\*|_([^_\s][^_]*?)_/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const at = match.index || 0;
    if (at > last) into.append(text.slice(last, at));
    if (match[2] !== undefined) into.append(el("code", { text: match[2] }));
    else if (match[3] !== undefined || match[4] !== undefined)
      into.append(el("strong", { text: match[3] ?? match[4] }));
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
