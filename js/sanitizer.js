// @ts-check
// HTML sanitizing. The server sanitizes with nh3 from tutornb/htmlpolicy.py; the page applies THE SAME
// allowlist (the `sanitizer_policy` trait) as a second fence, never a wider one: the HTML is parsed in an
// inert document and rebuilt, so scripts, event handlers, unlisted URLs, classes, ids, names, forms, styles
// and data-* attributes cannot reach the live page. Without a policy only text is kept.

// Dropped together with everything inside them, whatever the policy says (it can only add to this).
const DROPPED_TAGS = new Set([
  "script",
  "style",
  "iframe",
  "frame",
  "frameset",
  "object",
  "embed",
  "applet",
  "template",
  "noscript",
  "link",
  "meta",
  "base",
  "form",
  "input",
  "button",
  "select",
  "option",
  "textarea",
  "svg",
  "math",
  "audio",
  "video",
  "source",
  "track",
  "canvas",
  "portal",
  "title",
  "head",
  "dialog",
]);
const URL_ATTRS = new Set(["href", "src"]);
/** @typedef {import("./types.js").SanitizerPolicy} SanitizerPolicy */

const XHTML = "http://www.w3.org/1999/xhtml";

/** @param {string} value @param {SanitizerPolicy} policy */
function isAllowedUrl(value, policy) {
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"): so do we.
  const compact = String(value)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: browsers drop these inside a URL scheme, so must we
    .replace(/[\u0000-\u0020\u007f-\u009f]/g, "")
    .toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(compact);
  if (!scheme) return !!policy.url_relative; // relative URL, fragment or protocol-relative
  return (policy.url_schemes || []).includes(scheme[1]);
}

/** @param {string} tag @param {string} value @param {SanitizerPolicy} policy */
function allowedClasses(tag, value, policy) {
  const rule = policy.classes?.[tag];
  if (!rule) return "";
  const test = Array.isArray(rule)
    ? (/** @type {string} */ c) => rule.includes(c)
    : (/** @type {string} */ c) => new RegExp(rule.pattern).test(c);
  return value
    .split(/\s+/)
    .filter((c) => c && test(c))
    .join(" ");
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
  const allowed = policy.attributes?.[tag] || [];
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
