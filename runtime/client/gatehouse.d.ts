// Types of gatehouse.js, the Gatehouse client (served at /gatehouse/gatehouse.d.ts).

/** Error codes of a rejected call: the core's first, then the client's own. */
export declare const ErrorCode: Readonly<{
  ParseError: -32700;
  InvalidRequest: -32600;
  UnknownCommand: -32601;
  InvalidParams: -32602;
  Internal: -32603;
  /** The command returned an error; `data` is its error value. */
  Command: -32000;
  /** The caller's grants do not include the command; it did not run. */
  NotAllowed: -32001;
  MessageTooLarge: -32005;
  NestingTooDeep: -32006;
  TooManyInFlight: -32007;
  /** The connection dropped (or was closed) before the reply arrived. */
  ConnectionLost: -32099;
  /** No reply (or no connection) within the call's timeout. */
  Timeout: -32098;
  /** No token in the URL fragment, in sessionStorage or in `connect()`'s options. */
  NoToken: -32097;
}>;

/** One of the codes in {@link ErrorCode}. Commands may also reply with codes of their own. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The error a call rejects with: the core's JSON-RPC error, or one of the client's own. */
export declare class GatehouseError extends Error {
  constructor(code: number, message: string, data?: unknown);
  readonly name: "GatehouseError";
  /** One of {@link ErrorCode}, or a code a command chose. */
  code: ErrorCode | number;
  /** The error's `data`: for `ErrorCode.Command`, the command's own error value. */
  data: unknown;
}

/**
 * A stream of messages from a command: pass it as an argument, the command sends to it.
 * Serialises as `"__CHANNEL__:<id>"`.
 */
export declare class Channel<T = unknown> {
  constructor(onmessage?: (message: T) => void);
  /** The id the core sends messages to, unique in the page. */
  readonly id: number;
  /** Called with each message; may be replaced at any time. */
  onmessage: (message: T) => void;
  /** Stops delivery: later messages to this channel are dropped. */
  close(): void;
  /** The wire form, `"__CHANNEL__:<id>"`. */
  toJSON(): string;
}

/** What an event listener receives. */
export interface Event<T = unknown> {
  /** The event's name. */
  event: string;
  /** The listener's id on the current connection. */
  id: number;
  payload: T;
}

export type EventCallback<T = unknown> = (event: Event<T>) => void;

/** Stops a listener; never rejects. */
export type UnlistenFn = () => Promise<void>;

/**
 * `idle` until first used; `connecting`, `connected`, `disconnected` (a reconnection is
 * scheduled) as the socket comes and goes; `closed` for good after `close()`.
 */
export type Status = "idle" | "connecting" | "connected" | "disconnected" | "closed";

export interface InvokeOptions {
  /**
   * Milliseconds for the whole call, waiting for a connection included; `Infinity` for none.
   * Without it, only the wait for a connection is bounded (30 s): a call already sent waits for
   * its reply, or for the connection to drop.
   */
  timeout?: number;
}

/** Arguments of a command, by name; a `Channel` among them is sent as its id. */
export type InvokeArgs = Record<string, unknown> | unknown[];

export interface ConnectOptions {
  /** The WebSocket endpoint; default: this page's host, `/gatehouse/ws`, ws: or wss: to match. */
  url?: string;
  /** The window's token; default: the URL fragment's (`#token=`), or the one stored in the tab. */
  token?: string;
}

/** One WebSocket connection to the core, reconnecting until closed. */
export declare class Connection {
  /**
   * Does not open the socket: the first call does, or `open()`.
   * @throws {GatehouseError} `ErrorCode.NoToken` when there is no token.
   * @throws {TypeError} when the URL is not ws: or wss:.
   */
  constructor(options?: ConnectOptions);
  readonly status: Status;
  /** Calls `cb` on every change of `status`; returns a function that stops the calls. */
  onStatus(cb: (status: Status) => void): () => void;
  /** Opens the socket if it is not open or opening. */
  open(): void;
  /** Closes for good: no reconnection; pending and later calls reject with `ConnectionLost`. */
  close(): void;
  invoke<T = any>(command: string, args?: InvokeArgs, options?: InvokeOptions): Promise<T>;
  /** The listener survives reconnections (registered again, under a new id). */
  listen<T = any>(event: string, handler: EventCallback<T>): Promise<UnlistenFn>;
  once<T = any>(event: string, handler: EventCallback<T>): Promise<UnlistenFn>;
  emit(event: string, payload?: unknown): Promise<void>;
  emitTo(target: string, event: string, payload?: unknown): Promise<void>;
}

/**
 * Connects the module functions explicitly (e.g. from a page served elsewhere); replaces and
 * closes the shared connection made before, if any. Without it, the first call connects from
 * `location` and the token in the fragment or the tab's sessionStorage.
 * @throws {GatehouseError} `ErrorCode.NoToken` when there is no token.
 */
export declare function connect(options?: ConnectOptions): Connection;

/**
 * Calls a command of the core.
 * @example await invoke("write_note", { name: "a", body: "hi" });
 */
export declare function invoke<T = any>(
  command: string,
  args?: InvokeArgs,
  options?: InvokeOptions,
): Promise<T>;

/**
 * Listens to an event of the core.
 * @example const unlisten = await listen("note-changed", (e) => show(e.payload));
 */
export declare function listen<T = any>(event: string, handler: EventCallback<T>): Promise<UnlistenFn>;

/** Listens to the first occurrence of an event only. */
export declare function once<T = any>(event: string, handler: EventCallback<T>): Promise<UnlistenFn>;

/** Sends an event to every listener allowed to hear it. */
export declare function emit(event: string, payload?: unknown): Promise<void>;

/** Sends an event to the listeners of the window labelled `target`. */
export declare function emitTo(target: string, event: string, payload?: unknown): Promise<void>;

/** Observes the status of the shared connection, whichever it is now or later. */
export declare function onStatus(cb: (status: Status) => void): () => void;
