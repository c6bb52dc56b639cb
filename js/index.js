// @ts-check
// The page's mount API, for hosts other than the in-notebook widget (the JupyterLab sidebar bundles
// these modules into its extension). The widget itself enters through widget.js.
//
//   import { mountChat, createRestTransport } from ".../js/index.js";
//   const chat = mountChat(rootElement, {
//     transport: createRestTransport({ baseUrl }),   // PageConfig's base URL ("/" or "/user/name/")
//     context: { course_id, course_title, module_id, module_title, notebook_path },
//     hostName: "jupyterlab-sidebar",
//     sanitizerPolicy,   // optional: tutornb.htmlpolicy.SANITIZER_POLICY as JSON; without it only text is kept
//   });
//   ...
//   chat.destroy();
//
// `mountChat` returns `{controller, view, destroy()}`: `controller` is the Controller (sendText(text,
// {work}), startNew(), subscribe(...); `setLastWork(chat, work)` below), `view` the PanelView (view.input is the
// compose box). The root gets `data-tutornb-host=<hostName>` and the panel's usual `data-tutornb` hooks
// inside it. For the host the page dispatches DOM CustomEvents on the root (bubbling, composed,
// cancelable; `preventDefault()` means "handled"): `tutornb:navigate`, `tutornb:insert-code`,
// `tutornb:ask-error` (docs/architecture.md, "Page <-> host events").
//
// The REST transport reads the XSRF token from the `_xsrf` cookie as the in-notebook panel does, and
// sends the page's cookies (same origin): Jupyter's login is the page's.

import { Controller } from "./controller.js";
import { localModel } from "./local-model.js";
import { RestPipe } from "./transports/rest.js";
import { PanelView } from "./views/panel.js";

export { Controller } from "./controller.js";
export { toggleHistory } from "./history.js";
export { RestPipe } from "./transports/rest.js";
export { PanelView } from "./views/panel.js";

/** @typedef {import("./types.js").Pipe} Pipe */
/** @typedef {import("./types.js").LearnerWork} LearnerWork */
/** @typedef {import("./types.js").SanitizerPolicy} SanitizerPolicy */
/**
 * @typedef {{course_id?: string, course_title?: string, module_id?: string, module_title?: string,
 *   notebook_path?: string}} ChatContext
 * @typedef {{transport: Pipe, context: ChatContext, hostName: string, sanitizerPolicy?: SanitizerPolicy|null}} MountOptions
 * @typedef {{controller: Controller, view: PanelView, destroy: () => void}} MountedChat
 */

/**
 * The WebSocket + REST transport of the server extension at `baseUrl` (JupyterLab's base URL).
 * @param {{baseUrl: string}} options
 * @returns {Pipe}
 */
export function createRestTransport({ baseUrl }) {
  const base = new URL(baseUrl, globalThis.location.href).href;
  return new RestPipe(base.endsWith("/") ? base : `${base}/`);
}

/**
 * Mounts a chat panel in `root`, talking through `transport`, about `context`.
 * @param {HTMLElement} root
 * @param {MountOptions} options
 * @returns {MountedChat}
 */
export function mountChat(root, { transport, context, hostName, sanitizerPolicy = null }) {
  const model = localModel({
    panel_id: "",
    transport: transport.kind,
    session_id: "",
    auto_resume: false,
    notebook_path: context.notebook_path || "",
    context: { ...context },
    sanitizer_policy: sanitizerPolicy,
    last_work: null,
    note: "",
  });
  const controller = new Controller(model, { choosePipe: async () => transport });
  const onWork = () => controller.emit("messages");
  model.on("change:last_work", onWork);
  root.dataset.tutornbHost = hostName;
  const view = new PanelView(controller, root, { hostName });
  controller.ensureStarted();
  return {
    controller,
    view,
    destroy() {
      model.off("change:last_work", onWork);
      view.dispose();
      controller.dispose();
      delete root.dataset.tutornbHost;
    },
  };
}

/**
 * The learner's last run cell and its error, as the widget's `last_work` trait carries it (the greeting's
 * "Ask about my last error" is offered while it has an error).
 * @param {MountedChat} chat @param {LearnerWork|null} work
 */
export function setLastWork(chat, work) {
  chat.controller.model.set("last_work", work);
}
