// The Gatehouse client: JSON-RPC 2.0 over one WebSocket to the Rust core.
// Plain ES module, no dependencies, no eval: it runs under `script-src 'self'`.
// Types are in gatehouse.d.ts; usage is in README.md.

/**
 * Error codes of a rejected call. The first ten come from the core; the last three are the
 * client's own.
 * @readonly
 * @enum {number}
 */
export const ErrorCode = Object.freeze({
  ParseError: -32700,
  InvalidRequest: -32600,
  UnknownCommand: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  /** The command returned an error; `data` is its error value. */
  Command: -32000,
  /** The caller's grants do not include the command; it did not run. */
  NotAllowed: -32001,
  MessageTooLarge: -32005,
  NestingTooDeep: -32006,
  TooManyInFlight: -32007,
  /** The connection dropped (or was closed) before the reply arrived. */
  ConnectionLost: -32099,
  /** No reply (or no connection) within the call's timeout. */
  Timeout: -32098,
  /** No token in the URL fragment, in sessionStorage or in `connect()`'s options. */
  NoToken: -32097,
});

/** The error a call rejects with: the core's JSON-RPC error, or one of the client's own. */
export class GatehouseError extends Error {
  /**
   * @param {number} code one of {@link ErrorCode}, or a code a command chose
   * @param {string} message the core's message
   * @param {unknown} [data] the error's `data` (for `ErrorCode.Command`, the command's error value)
   */
  constructor(code, message, data) {
    super(message);
    this.name = "GatehouseError";
    /** @type {number} */
    this.code = code;
    /** @type {unknown} */
    this.data = data;
  }
}

const STORAGE_KEY = "gatehouse.token";
const WS_PATH = "/gatehouse/ws";
const DEFAULT_TIMEOUT = 30_000;
const MIN_BACKOFF = 100;
const MAX_BACKOFF = 5_000;
// setTimeout fires at once for larger delays.
const MAX_DELAY = 2 ** 31 - 1;

/** Channels alive in this page, by id; ids are unique across every connection. */
const channels = new Map();
let nextChannelId = 1;

/** Reports an error thrown by user code without stopping the dispatch of other messages. */
function report(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else setTimeout(() => { throw error; });
}

function notify(callbacks, status) {
  for (const cb of callbacks) {
    try {
      cb(status);
    } catch (error) {
      report(error);
    }
  }
}

/**
 * A stream of messages from a command: pass it as an argument, the command sends to it.
 * It serialises as `"__CHANNEL__:<id>"`.
 * @template T
 */
export class Channel {
  /** @param {(message: T) => void} [onmessage] */
  constructor(onmessage) {
    /** The id the core sends messages to. @type {number} */
    this.id = nextChannelId++;
    /** Called with each message; may be replaced at any time. @type {(message: T) => void} */
    this.onmessage = onmessage ?? (() => {});
    channels.set(this.id, this);
  }

  /** Stops delivery: later messages to this channel are dropped. */
  close() {
    channels.delete(this.id);
  }

  /** @returns {string} the wire form, `"__CHANNEL__:<id>"` */
  toJSON() {
    return `__CHANNEL__:${this.id}`;
  }
}

/** Moves a `#token=…` from the URL fragment into sessionStorage; returns the token, if any. */
function takeToken() {
  const { location, history } = globalThis;
  let token = null;
  if (location && location.hash.length > 1) {
    const fragment = new URLSearchParams(location.hash.slice(1));
    token = fragment.get("token");
    if (token !== null) {
      fragment.delete("token");
      const rest = fragment.toString();
      history?.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    }
  }
  try {
    if (token !== null) globalThis.sessionStorage?.setItem(STORAGE_KEY, token);
    else token = globalThis.sessionStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    // Storage may be disabled (sandboxed frames); the token then lives in this page only.
  }
  return token;
}

// Take the token at once, so it leaves the address bar before the page does anything else.
const pageToken = takeToken();

/**
 * The WebSocket URL for `options`, token included.
 * @param {{ url?: string, token?: string }} [options]
 */
function socketUrl({ url, token } = {}) {
  const { location } = globalThis;
  if (url === undefined) {
    if (!location) throw new TypeError("gatehouse: no `location`; call connect({ url, token })");
    url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${WS_PATH}`;
  }
  const parsed = new URL(url, location?.href);
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new TypeError(`gatehouse: expected a ws: or wss: URL, got ${parsed.protocol}`);
  }
  token ||= parsed.searchParams.get("token") || pageToken || takeToken();
  if (!token) {
    throw new GatehouseError(
      ErrorCode.NoToken,
      "no gatehouse token: open the page at the URL the core gives its window (…#token=…), " +
        "or call connect({ url, token })",
    );
  }
  parsed.searchParams.delete("token");
  const query = parsed.searchParams.toString();
  parsed.search = `${query ? `${query}&` : ""}token=${encodeURIComponent(token)}`;
  return parsed.href;
}

/**
 * @typedef {"idle" | "connecting" | "connected" | "disconnected" | "closed"} Status
 * @typedef {{ timeout?: number }} InvokeOptions
 * @typedef {{ event: string, id: number, payload: any }} Event what a listener receives
 * @typedef {() => Promise<void>} UnlistenFn stops a listener; never rejects
 */

/**
 * One WebSocket connection to the core, reconnecting until closed. Most pages use the module
 * functions ({@link invoke}, {@link listen}, …), which share one connection.
 */
export class Connection {
  #url;
  #socket = null;
  /** @type {Status} */
  #status = "idle";
  #nextId = 1;
  /** Calls by request id, in call order: `{ method, text, sent, whole, resolve, reject, timer }`. */
  #calls = new Map();
  /** Active listeners: `{ event, channel, eventId, removed }`; `eventId` is null until registered. */
  #listeners = new Set();
  #statusCallbacks = new Set();
  #attempt = 0;
  #retryTimer = null;

  /**
   * Does not open the socket: that happens on the first call, or with {@link Connection#open}.
   * @param {{ url?: string, token?: string }} [options] the WebSocket URL (default: this page's
   *   host, path `/gatehouse/ws`) and the window's token (default: the URL fragment's or the
   *   stored one)
   * @throws {GatehouseError} `ErrorCode.NoToken` when there is no token
   */
  constructor(options) {
    this.#url = socketUrl(options);
  }

  /** The connection's state. @returns {Status} */
  get status() {
    return this.#status;
  }

  /**
   * Calls `cb(status)` on every change of {@link Connection#status}.
   * @param {(status: Status) => void} cb
   * @returns {() => void} a function that stops the calls
   */
  onStatus(cb) {
    this.#statusCallbacks.add(cb);
    return () => this.#statusCallbacks.delete(cb);
  }

  /** Opens the socket if it is not open or opening. */
  open() {
    if (this.#status === "idle") this.#connect();
  }

  /** Closes for good: no reconnection; pending and later calls reject with `ConnectionLost`. */
  close() {
    if (this.#status === "closed") return;
    clearTimeout(this.#retryTimer);
    this.#setStatus("closed");
    const socket = this.#socket;
    this.#socket = null;
    socket?.close();
    for (const listener of this.#listeners) listener.channel.close();
    this.#listeners.clear();
    this.#failCalls(() => true, "connection closed");
  }

  /**
   * Calls a command of the core.
   * @param {string} command
   * @param {Record<string, unknown> | unknown[]} [args] named arguments; a {@link Channel} among
   *   them is sent as its id
   * @param {InvokeOptions} [options] `timeout` in ms bounds the whole call; without it, only the
   *   wait for a connection is bounded (30 s)
   * @returns {Promise<any>} the command's result
   */
  invoke(command, args, options) {
    if (this.#status === "closed") {
      return Promise.reject(new GatehouseError(ErrorCode.ConnectionLost, "connection closed"));
    }
    const id = this.#nextId++;
    let text;
    try {
      text = JSON.stringify({ jsonrpc: "2.0", id, method: command, params: args ?? {} });
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const whole = options?.timeout !== undefined;
      const limit = whole ? options.timeout : DEFAULT_TIMEOUT;
      const call = { method: command, text, sent: false, whole, resolve, reject, timer: null };
      if (Number.isFinite(limit)) {
        call.timer = setTimeout(() => {
          this.#calls.delete(id);
          const why = call.sent ? `\`${command}\` got no reply` : "no connection to the core";
          reject(new GatehouseError(ErrorCode.Timeout, `${why} within ${limit} ms`, { timeout: limit }));
        }, Math.min(Math.max(limit, 0), MAX_DELAY));
      }
      this.#calls.set(id, call);
      if (this.#status === "connected") this.#send(call);
      else this.open();
    });
  }

  /**
   * Listens to an event of the core. The listener survives reconnections.
   * @param {string} event
   * @param {(event: Event) => void} handler
   * @returns {Promise<UnlistenFn>} a function that stops the listener
   */
  async listen(event, handler) {
    const listener = { event, channel: null, eventId: null, removed: false };
    listener.channel = new Channel((message) => {
      if (!listener.removed) handler(message);
    });
    try {
      listener.eventId = await this.invoke("plugin:event|listen", { event, handler: listener.channel });
    } catch (error) {
      listener.channel.close();
      throw error;
    }
    this.#listeners.add(listener);
    return () => this.#unlisten(listener);
  }

  /**
   * Like {@link Connection#listen}, for the first event only.
   * @param {string} event
   * @param {(event: Event) => void} handler
   * @returns {Promise<UnlistenFn>} a function that stops the listener before it fires
   */
  async once(event, handler) {
    let fired = false;
    let unlisten = null;
    unlisten = await this.listen(event, (message) => {
      if (fired) return;
      fired = true;
      unlisten?.();
      handler(message);
    });
    // The event may have come before the reply to `listen`.
    if (fired) unlisten();
    return unlisten;
  }

  /**
   * Sends an event to every listener allowed to hear it, in every window.
   * @param {string} event
   * @param {unknown} [payload]
   * @returns {Promise<void>}
   */
  async emit(event, payload) {
    await this.invoke("plugin:event|emit", { event, payload });
  }

  /**
   * Sends an event to the listeners of one window.
   * @param {string} target the window's label
   * @param {string} event
   * @param {unknown} [payload]
   * @returns {Promise<void>}
   */
  async emitTo(target, event, payload) {
    await this.invoke("plugin:event|emit_to", { target, event, payload });
  }

  async #unlisten(listener) {
    if (listener.removed) return;
    listener.removed = true;
    listener.channel.close();
    this.#listeners.delete(listener);
    // A listener of a dropped connection is gone with it; `eventId` is null then.
    if (listener.eventId === null || this.#status !== "connected") return;
    await this.#dropListener(listener.event, listener.eventId);
  }

  async #dropListener(event, eventId) {
    try {
      await this.invoke("plugin:event|unlisten", { event, eventId });
    } catch {
      // Lost connection: the core dropped the listener with it. Denied: nothing to undo.
    }
  }

  /** @param {Status} status */
  #setStatus(status) {
    if (this.#status === status) return;
    this.#status = status;
    notify(this.#statusCallbacks, status);
  }

  #connect() {
    this.#setStatus("connecting");
    let socket;
    try {
      socket = new globalThis.WebSocket(this.#url);
    } catch (error) {
      // A CSP without this host in `connect-src` may throw here instead of failing the handshake.
      report(error);
      this.#dropped();
      return;
    }
    this.#socket = socket;
    socket.addEventListener("open", () => this.#socket === socket && this.#opened());
    socket.addEventListener("message", (e) => this.#socket === socket && this.#received(e.data));
    socket.addEventListener("close", () => this.#socket === socket && this.#dropped());
  }

  #opened() {
    this.#attempt = 0;
    this.#setStatus("connected");
    for (const listener of this.#listeners) this.#reregister(listener);
    for (const call of this.#calls.values()) if (!call.sent) this.#send(call);
  }

  #reregister(listener) {
    this.invoke("plugin:event|listen", { event: listener.event, handler: listener.channel }).then(
      (eventId) => {
        if (listener.removed) this.#dropListener(listener.event, eventId);
        else listener.eventId = eventId;
      },
      (error) => {
        // Lost again: the next open retries. Anything else (say, no longer allowed) is reported.
        if (error.code !== ErrorCode.ConnectionLost) report(error);
      },
    );
  }

  #dropped() {
    this.#socket = null;
    for (const listener of this.#listeners) listener.eventId = null;
    this.#setStatus("disconnected");
    this.#failCalls((call) => call.sent, "connection lost");
    const backoff = Math.min(MAX_BACKOFF, MIN_BACKOFF * 2 ** this.#attempt++);
    const delay = backoff / 2 + (Math.random() * backoff) / 2;
    this.#retryTimer = setTimeout(() => this.#status === "disconnected" && this.#connect(), delay);
  }

  #failCalls(which, message) {
    for (const [id, call] of this.#calls) {
      if (!which(call)) continue;
      this.#calls.delete(id);
      clearTimeout(call.timer);
      call.reject(new GatehouseError(ErrorCode.ConnectionLost, message, { method: call.method }));
    }
  }

  #send(call) {
    call.sent = true;
    // The default timeout only bounds the wait for a connection.
    if (!call.whole) clearTimeout(call.timer);
    this.#socket.send(call.text);
  }

  #received(data) {
    if (typeof data !== "string") return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    for (const item of Array.isArray(message) ? message : [message]) {
      if (item !== null && typeof item === "object") this.#dispatch(item);
    }
  }

  #dispatch(message) {
    if (message.method === "gatehouse:channel") {
      const channel = channels.get(message.params?.channel);
      if (!channel) return;
      try {
        channel.onmessage(message.params.message);
      } catch (error) {
        report(error);
      }
      return;
    }
    const call = this.#calls.get(message.id);
    if (!call?.sent) return;
    this.#calls.delete(message.id);
    clearTimeout(call.timer);
    if ("error" in message) {
      const { code, message: text, data } = message.error ?? {};
      call.reject(new GatehouseError(code, text, data));
    } else {
      call.resolve(message.result);
    }
  }
}

let shared = null;
const sharedStatusCallbacks = new Set();

function share(connection) {
  shared?.close();
  shared = connection;
  connection.onStatus((status) => notify(sharedStatusCallbacks, status));
  return connection;
}

/** Runs `fn` on the shared connection, made from `location` on first use. */
function onShared(fn) {
  try {
    return fn(shared ?? share(new Connection()));
  } catch (error) {
    // No token: reject like any other failed call.
    return Promise.reject(error);
  }
}

/**
 * Connects the module functions to the core explicitly, e.g. from a page served elsewhere.
 * Replaces (and closes) the shared connection made before, if any.
 * @param {{ url?: string, token?: string }} [options] see {@link Connection}
 * @returns {Connection} the new shared connection, already opening
 * @throws {GatehouseError} `ErrorCode.NoToken` when there is no token
 */
export function connect(options) {
  const connection = share(new Connection(options));
  connection.open();
  return connection;
}

/**
 * Calls a command of the core (on the shared connection, as do the functions below).
 * @param {string} command
 * @param {Record<string, unknown> | unknown[]} [args] see {@link Connection#invoke}
 * @param {InvokeOptions} [options]
 * @returns {Promise<any>} the result; rejects with a {@link GatehouseError}
 * @example await invoke("write_note", { name: "a", body: "hi" });
 */
export function invoke(command, args, options) {
  return onShared((c) => c.invoke(command, args, options));
}

/**
 * Listens to an event of the core; see {@link Connection#listen}.
 * @param {string} event
 * @param {(event: Event) => void} handler
 * @returns {Promise<UnlistenFn>}
 * @example const unlisten = await listen("note-changed", (e) => show(e.payload));
 */
export function listen(event, handler) {
  return onShared((c) => c.listen(event, handler));
}

/**
 * Listens to the first occurrence of an event only.
 * @param {string} event
 * @param {(event: Event) => void} handler
 * @returns {Promise<UnlistenFn>}
 */
export function once(event, handler) {
  return onShared((c) => c.once(event, handler));
}

/**
 * Sends an event to every listener allowed to hear it.
 * @param {string} event
 * @param {unknown} [payload]
 * @returns {Promise<void>}
 */
export function emit(event, payload) {
  return onShared((c) => c.emit(event, payload));
}

/**
 * Sends an event to the listeners of the window labelled `target`.
 * @param {string} target
 * @param {string} event
 * @param {unknown} [payload]
 * @returns {Promise<void>}
 */
export function emitTo(target, event, payload) {
  return onShared((c) => c.emitTo(target, event, payload));
}

/**
 * Observes the status of the shared connection, whichever it is now or later
 * ("connecting", "connected", "disconnected", "closed").
 * @param {(status: Status) => void} cb
 * @returns {() => void} a function that stops the calls
 */
export function onStatus(cb) {
  sharedStatusCallbacks.add(cb);
  return () => sharedStatusCallbacks.delete(cb);
}
