/**
 * The Tutor sidebar: one chat panel (the page modules of js/, mounted with `mountChat`) that follows
 * the notebook the learner works in. Its context is the notebook's course and module; switching
 * notebooks remounts the chat on the other notebook's context, so its sessions (restored or offered
 * by the panel itself) are that notebook's. No kernel and no `%tutor` cell are involved: the chat talks
 * to the server extension over its REST API and WebSocket.
 *
 * The chat is mounted only while the sidebar is shown: a closed sidebar costs nothing.
 */
import { Widget } from "@lumino/widgets";
import { notebookContext } from "./context.js";

export const SIDEBAR_ID = "tutornb-sidebar";

/**
 * @typedef {ReturnType<typeof notebookContext>} ChatContext
 * @typedef {{controller: any, view: any, destroy(): void}} MountedChat
 * @typedef {(root: HTMLElement, context: ChatContext) => MountedChat} MountFn
 * @typedef {import('@jupyterlab/notebook').NotebookPanel} NotebookPanel
 */

export class TutorSidebar extends Widget {
  /** @param {MountFn} mount */
  constructor(mount) {
    super();
    this.mount = mount;
    this.id = SIDEBAR_ID;
    this.title.label = "Tutor";
    this.title.caption = "Chat with the course tutor about the notebook you are working in";
    this.addClass("tutornb-sidebar");
    this.node.setAttribute("data-tutornb", "sidebar");
    this.node.setAttribute("role", "complementary");
    this.node.setAttribute("aria-label", "Tutor");
    this.node.tabIndex = -1; // focusable by script (activation), not a tab stop
    this.empty = document.createElement("p");
    this.empty.className = "tutornb-sidebar-empty";
    this.empty.textContent = "Open a course notebook to chat with the tutor about it.";
    this.host = document.createElement("div");
    this.host.className = "tutornb-sidebar-host";
    this.node.append(this.empty, this.host);
    /** @type {NotebookPanel|null} */
    this.panel = null;
    /** @type {MountedChat|null} */
    this.chat = null;
    /** @type {string} the notebook path the mounted chat belongs to */
    this.chatPath = "";
    /** @type {Array<(chat: MountedChat) => void>} */
    this.waiting = [];
  }

  /** Follows `panel` (the tracker's current notebook, or null when none is open). @param {NotebookPanel|null} panel */
  follow(panel) {
    this.panel = panel;
    if (panel) void panel.context.ready.then(() => this.panel === panel && this.refresh());
    else this.refresh();
  }

  /** The mounted chat for the followed notebook, once there is one. @returns {Promise<MountedChat>} */
  whenChat() {
    if (this.chat && this.panel && this.chatPath === this.panel.context.path) return Promise.resolve(this.chat);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  refresh() {
    const panel = this.panel;
    const path = panel && panel.context.isReady ? panel.context.path : "";
    this.empty.hidden = !!path;
    if (!this.isVisible || path === this.chatPath) return;
    this.unmount();
    if (!panel || !path) return;
    this.host.replaceChildren();
    const mountPoint = document.createElement("div");
    mountPoint.className = "tutornb-sidebar-chat";
    this.host.append(mountPoint);
    this.chat = this.mount(mountPoint, notebookContext(panel));
    this.chatPath = path;
    const waiting = this.waiting.splice(0);
    for (const resolve of waiting) resolve(this.chat);
  }

  unmount() {
    if (this.chat) this.chat.destroy();
    this.chat = null;
    this.chatPath = "";
    this.host.replaceChildren();
  }

  /**
   * Activating the sidebar (its tab, the shortcut, a command) puts the keyboard focus in it: on the message
   * box, or on Resume while the panel offers an earlier session (the box is not in use then).
   */
  onActivateRequest() {
    if (!this.isAttached) return;
    void this.whenChat().then((chat) => {
      if (!this.isVisible) return;
      const input = /** @type {HTMLTextAreaElement} */ (chat.view.input);
      const place = () => {
        const resume = /** @type {HTMLElement|null} */ (this.node.querySelector('[data-tutornb="resume-offer"] [data-tutornb="resume"]'));
        if (input.offsetParent !== null && !input.disabled) input.focus();
        else if (resume) resume.focus();
        else return false;
        return true;
      };
      if (!place()) this.node.focus();
      // The panel may still be connecting (the server opens the tutor on its first request) or about to
      // render its resume offer again: for a few seconds, whenever the focus is left on the sidebar itself
      // or dropped to the page (its element was re-rendered), put it back on the box or on Resume. Once the
      // learner has moved the focus anywhere else, nothing is moved.
      // (A focused element that was just disabled or removed keeps the focus until the browser's next
      // rendering step drops it to the page, so those count as lost too.)
      const lost = () => {
        const active = /** @type {HTMLElement & {disabled?: boolean} | null} */ (document.activeElement);
        return !active || active === this.node || active === document.body || !!active.disabled || !active.isConnected;
      };
      const watch = new MutationObserver(() => {
        if (lost()) place();
      });
      watch.observe(this.node, { subtree: true, childList: true, attributes: true, attributeFilter: ["disabled"] });
      setTimeout(() => watch.disconnect(), 5_000);
    });
  }

  /** @param {import('@lumino/messaging').Message} msg */
  onAfterShow(msg) {
    super.onAfterShow(msg);
    this.refresh();
  }

  /** @param {import('@lumino/messaging').Message} msg */
  onAfterAttach(msg) {
    super.onAfterAttach(msg);
    this.refresh();
  }

  dispose() {
    this.unmount();
    super.dispose();
  }
}
