// @ts-check
// The anywidget entry of tutornb.widget.ChatPanel: esbuild bundles this module (and what it imports) into
// tutornb/widget/static/chat.js, the file the widget's `_esm` loads (`npm run build`; CI checks the
// committed bundle is rebuilt byte for byte). One controller per widget model (created in `initialize`)
// owns the session, the transport and the outbox; `render` only builds DOM and follows the controller.
// The named exports are what the browser tests reach in the bundle (the mount API of index.js included).

import { Controller } from "./controller.js";
import { PanelView } from "./views/panel.js";

export { Controller } from "./controller.js";
export { learnerErrorText, TutorError } from "./errors.js";
export { createRestTransport, mountChat, setLastWork } from "./index.js";
export { renderStreamingMarkdown } from "./markdown.js";
export { outboxStore } from "./outbox.js";
export { sanitizeHtml } from "./sanitizer.js";
export { backoffDelay, SocketChat } from "./transports/socket.js";
export { relativeTime, titleFrom } from "./util.js";

/** @typedef {import("./types.js").WidgetModel} WidgetModel */

// anywidget hands `initialize` and `render` different proxies of one model, so the controller is found
// again through the model's own synced `panel_id`.
/** @type {Map<string, Controller>} */
const controllers = new Map();

export default {
  /** @param {{model: WidgetModel}} args */
  async initialize({ model }) {
    const ctrl = new Controller(model);
    const key = model.get("panel_id");
    controllers.set(key, ctrl);
    const onContext = () => ctrl.emit("session");
    const onWork = () => ctrl.emit("messages");
    model.on("change:context", onContext);
    model.on("change:note", onContext);
    model.on("change:last_work", onWork);
    return () => {
      model.off("change:context", onContext);
      model.off("change:note", onContext);
      model.off("change:last_work", onWork);
      ctrl.dispose();
      if (controllers.get(key) === ctrl) controllers.delete(key);
    };
  },

  /** @param {{model: WidgetModel, el: HTMLElement}} args */
  render({ model, el: root }) {
    const ctrl = controllers.get(model.get("panel_id"));
    if (!ctrl) {
      root.textContent = "tutornb: the panel could not start.";
      return undefined;
    }
    const view = new PanelView(ctrl, root);
    // Connect on the first view, not in `initialize`: after a page reload JupyterLab restores every
    // widget model of the kernel, and a panel nobody sees must not open sockets or send its outbox.
    ctrl.ensureStarted();
    return () => view.dispose();
  },
};
