/**
 * The chat of the sidebar: the page modules of js/ (shared with the in-notebook panel, bundled into
 * this extension by webpack), mounted with their `mountChat` API over the REST + WebSocket transport.
 * Everything the sidebar asks of a mounted chat goes through `chatActions`, so the page's API is used
 * in one place.
 */
import { PageConfig } from "@jupyterlab/coreutils";
import { createRestTransport, mountChat, setLastWork, toggleHistory } from "../../js/index.js";

export const HOST_NAME = "jupyterlab-sidebar";

/**
 * The page's HTML allowlist, THE one of tutornb/htmlpolicy.py: the server extension puts it into
 * JupyterLab's page config (`tutornbSanitizerPolicy`) so it is never copied here.
 */
function sanitizerPolicy() {
  const node = document.getElementById("jupyter-config-data");
  try {
    const data = node ? JSON.parse(node.textContent || "{}") : {};
    const policy = data.tutornbSanitizerPolicy;
    return policy && typeof policy === "object" ? policy : null;
  } catch {
    return null;
  }
}

/** @returns {import('./sidebar.js').MountFn} */
export function createMount() {
  const policy = sanitizerPolicy();
  return (root, context) =>
    mountChat(root, {
      transport: createRestTransport({ baseUrl: PageConfig.getBaseUrl() }),
      context,
      hostName: HOST_NAME,
      sanitizerPolicy: policy,
    });
}

/** @typedef {import('./sidebar.js').MountedChat} MountedChat */
export const chatActions = {
  /** @param {MountedChat} chat @param {{cell_index: number, code: string, error?: string}|null} work */
  setLastWork(chat, work) {
    setLastWork(chat, work);
  },
  /** @param {MountedChat} chat @param {string} text @param {{cell_index: number, code: string, error?: string}} work */
  async send(chat, text, work) {
    await chat.controller.sendText(text, { work });
  },
  /** @param {MountedChat} chat */
  newSession(chat) {
    chat.controller.startNew();
    chat.view.input.focus();
  },
  /** @param {MountedChat} chat */
  openHistory(chat) {
    void toggleHistory(chat.controller, true);
  },
};
