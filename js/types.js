// @ts-check
// The shapes shared by the page's modules (JSDoc only: this module has no code). The frames and
// REST bodies are those of docs/architecture.md.

/**
 * @typedef {{notebook_path: string, cell_index: number, heading?: string}} Citation
 * @typedef {{question_id: string, number: number, total: number, question: string, choices: string[]}} QuizPrompt
 * @typedef {{cell_index?: number, code: string, error?: string}} LearnerWork
 * @typedef {{id: string, seq?: number, role?: string, text?: string, html?: string|null, created_at?: string,
 *   client_id?: string|null, citations?: Citation[], quiz?: QuizPrompt|null, work?: LearnerWork|null,
 *   interrupted?: string|null}} StoredMessage
 * @typedef {{id: string, status: string|null, phase?: string, title?: string, context?: Record<string, any>,
 *   message_count?: number, last_active_at?: string, state?: any, messages?: StoredMessage[], [key: string]: any}} SessionInfo
 * @typedef {{client_id: string, text: string, created_at: string, work?: LearnerWork|null, sentEpoch: number,
 *   failed: {code: string, message: string}|null}} OutboxEntry
 * @typedef {{code: string, message: string, concern?: string}} PanelError
 * @typedef {{type?: string, [key: string]: any}} Frame
 * @typedef {{onFrame: (frame: Frame) => void, onStatus: (state: string) => void, onDrop?: (attempt: number) => void,
 *   onBadFrame?: () => void}} ChatHandlers
 * @typedef {{online: boolean, send: (frame: Frame) => boolean, retryNow: () => void, close: () => void}} ChatChannel
 * @typedef {{kind: string, request: (method: string, params?: Record<string, any>) => Promise<any>,
 *   exportSession: (sessionId: string, format: string) => Promise<{blob: Blob, filename: string}>,
 *   openChat: (sessionId: string, handlers: ChatHandlers) => ChatChannel, dispose: () => void,
 *   authState?: () => Promise<string>}} Pipe
 * @typedef {{get: (name: string) => any, set: (name: string, value: any) => void, save_changes: () => void,
 *   on: (event: string, cb: (...args: any[]) => void) => void, off: (event: string, cb: (...args: any[]) => void) => void,
 *   send: (msg: any, callbacks?: any, buffers?: any) => void}} WidgetModel
 * @typedef {{tags?: string[], dropped_tags?: string[], attributes?: Record<string, string[]>,
 *   classes?: Record<string, string[]|{pattern: string}>, url_schemes?: string[], url_relative?: boolean,
 *   link_rel?: string}} SanitizerPolicy
 */

export {};
