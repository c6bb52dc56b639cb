// @ts-check
// The server extension's transport: its REST API and chat WebSocket, with the page's cookie and XSRF token
// (JupyterLab, Notebook 7, the JupyterLab sidebar).

import { isSignedOut, TutorError } from "../errors.js";
import { SocketChat } from "./socket.js";

/** @typedef {import("../types.js").Pipe} Pipe */
/** @typedef {import("../types.js").ChatHandlers} ChatHandlers */

export const REQUEST_TIMEOUT_MS = 60000;

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
export function jupyterBaseUrl() {
  const config = pageConfig();
  if (!config) return null;
  let base = config.baseUrl || "/";
  if (!base.endsWith("/")) base += "/";
  return new URL(base, globalThis.location.origin).href;
}

/** The server extension's REST API and chat WebSocket, with the page's cookie and XSRF token. @implements {Pipe} */
export class RestPipe {
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
      throw new TutorError(
        payload.code || `HTTP_${response.status}`,
        payload.message || response.statusText,
        response.status,
      );
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
