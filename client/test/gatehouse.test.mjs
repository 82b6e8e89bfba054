// The client against a fake WebSocket: run with `node --test client/test/`.
import assert from "node:assert/strict";
import { mock, test } from "node:test";

// Browser stand-ins, installed before the import: the client reads the token at import.
/** A WebSocket whose server side the test plays: `accept`, `reply`, `push`, `drop`. */
class FakeSocket extends EventTarget {
  /** Every socket made, oldest first. */
  static all = [];

  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    /** Parsed frames the client sent. */
    this.sent = [];
    FakeSocket.all.push(this);
  }

  send(text) {
    if (this.readyState !== 1) throw new Error("InvalidStateError: socket not open");
    this.sent.push(JSON.parse(text));
  }

  close() {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    setTimeout(() => this.drop());
  }

  accept() {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }

  /** Sends a frame to the client: an object (as JSON) or a raw string. */
  push(frame) {
    const event = new Event("message");
    event.data = typeof frame === "string" ? frame : JSON.stringify(frame);
    this.dispatchEvent(event);
  }

  reply(id, result) {
    this.push({ jsonrpc: "2.0", id, result });
  }

  /** The connection ends (or the handshake fails, if never accepted). */
  drop() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatchEvent(new Event("close"));
  }

  /** The last frame sent. */
  get last() {
    return this.sent.at(-1);
  }
}

/** Installs the fakes for a page at `href`. */
function installBrowser(href) {
  const url = new URL(href);
  const location = {
    protocol: url.protocol,
    host: url.host,
    pathname: url.pathname,
    search: url.search,
    hash: url.hash,
    get href() {
      return `${this.protocol}//${this.host}${this.pathname}${this.search}${this.hash}`;
    },
  };
  const history = {
    state: null,
    calls: [],
    replaceState(state, _title, to) {
      this.calls.push(to);
      this.state = state;
      const next = new URL(to, location.href);
      location.pathname = next.pathname;
      location.search = next.search;
      location.hash = next.hash;
    },
  };
  const store = new Map();
  const sessionStorage = {
    getItem: (key) => (store.has(key) ? store.get(key) : null),
    setItem: (key, value) => store.set(key, String(value)),
    removeItem: (key) => store.delete(key),
  };
  Object.assign(globalThis, { location, history, sessionStorage, WebSocket: FakeSocket });
  return { location, history, sessionStorage };
}

/** Waits for socket number `index` (0-based) to exist. */
async function socket(index, within = 2000) {
  const until = Date.now() + within;
  while (FakeSocket.all.length <= index) {
    if (Date.now() > until) throw new Error(`no socket #${index} within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return FakeSocket.all[index];
}

/** Lets pending promise callbacks run. */
function settle() {
  return new Promise((resolve) => setImmediate(resolve));
}

const page = installBrowser("http://127.0.0.1:4000/notes.html?q=1#token=a%2Bb+c&theme=dark");
const gh = await import("../../runtime/client/gatehouse.js");
const { Channel, Connection, ErrorCode, GatehouseError } = gh;

/** A connection of its own, already open on a fresh fake socket. */
async function opened() {
  const index = FakeSocket.all.length;
  const connection = new Connection({ url: "ws://127.0.0.1:4000/gatehouse/ws", token: "t" });
  connection.open();
  const ws = await socket(index);
  ws.accept();
  return { connection, ws };
}

test("the token moves from the fragment to sessionStorage; the page keeps its path and query", () => {
  assert.equal(page.sessionStorage.getItem("gatehouse.token"), "a+b c");
  assert.deepEqual(page.history.calls, ["/notes.html?q=1#theme=dark"]);
  assert.equal(page.location.hash, "#theme=dark");
});

test("the shared connection is made from location on first use", async () => {
  const index = FakeSocket.all.length;
  const reply = gh.invoke("ping");
  const ws = await socket(index);
  assert.equal(ws.url, "ws://127.0.0.1:4000/gatehouse/ws?token=a%2Bb%20c");
  assert.equal(ws.sent.length, 0, "nothing is sent before the socket opens");
  ws.accept();
  assert.deepEqual(ws.sent, [{ jsonrpc: "2.0", id: 1, method: "ping", params: {} }]);
  ws.reply(1, "pong");
  assert.equal(await reply, "pong");
});

test("invoke resolves with the result and rejects with code, message and data", async () => {
  const { connection, ws } = await opened();
  const ok = connection.invoke("write_note", { name: "a", body: "hi" });
  assert.deepEqual(ws.last, {
    jsonrpc: "2.0",
    id: 1,
    method: "write_note",
    params: { name: "a", body: "hi" },
  });
  const denied = connection.invoke("delete_all");
  ws.push({ jsonrpc: "2.0", id: 2, error: { code: -32001, message: "`delete_all` not allowed", data: { hint: "x" } } });
  ws.reply(1, { saved: true });
  assert.deepEqual(await ok, { saved: true });
  const error = await denied.catch((e) => e);
  assert.ok(error instanceof GatehouseError && error instanceof Error);
  assert.equal(error.code, ErrorCode.NotAllowed);
  assert.equal(error.message, "`delete_all` not allowed");
  assert.deepEqual(error.data, { hint: "x" });
  connection.close();
});

test("replies to no pending call and malformed frames are ignored", async () => {
  const { connection, ws } = await opened();
  const call = connection.invoke("ping");
  ws.reply(999, "stray");
  ws.push("not json");
  ws.push([{ jsonrpc: "2.0", id: 998, result: 1 }, null, 7]);
  ws.push({ jsonrpc: "2.0", method: "gatehouse:channel", params: { channel: 123456, message: 1 } });
  ws.reply(1, "pong");
  assert.equal(await call, "pong");
  ws.reply(1, "again");
  await settle();
  connection.close();
});

test("a channel serialises as its id and receives its messages until closed", async () => {
  const { connection, ws } = await opened();
  const got = [];
  const channel = new Channel((message) => got.push(message));
  assert.equal(JSON.stringify(channel), `"__CHANNEL__:${channel.id}"`);
  const done = connection.invoke("search", { query: "x", progress: channel });
  assert.equal(ws.last.params.progress, `__CHANNEL__:${channel.id}`);
  const send = (message) =>
    ws.push({ jsonrpc: "2.0", method: "gatehouse:channel", params: { channel: channel.id, message } });
  send({ found: 1 });
  send("two");
  channel.onmessage = (message) => got.push(["replaced", message]);
  send(3);
  channel.close();
  send("after close");
  ws.reply(1, null);
  await done;
  assert.deepEqual(got, [{ found: 1 }, "two", ["replaced", 3]]);
  assert.ok(new Channel().id > channel.id, "ids increase");
  connection.close();
});

test("listen registers a channel; unlisten sends the listener id", async () => {
  const { connection, ws } = await opened();
  const events = [];
  const listening = connection.listen("note-changed", (e) => events.push(e));
  const request = ws.last;
  assert.equal(request.method, "plugin:event|listen");
  assert.equal(request.params.event, "note-changed");
  assert.match(request.params.handler, /^__CHANNEL__:\d+$/);
  ws.reply(request.id, 7);
  const unlisten = await listening;

  const channel = Number(request.params.handler.split(":")[1]);
  const event = { event: "note-changed", id: 7, payload: { name: "a" } };
  ws.push({ jsonrpc: "2.0", method: "gatehouse:channel", params: { channel, message: event } });
  assert.deepEqual(events, [event]);

  const stopped = unlisten();
  assert.deepEqual(ws.last.params, { event: "note-changed", eventId: 7 });
  assert.equal(ws.last.method, "plugin:event|unlisten");
  ws.reply(ws.last.id, null);
  await stopped;
  ws.push({ jsonrpc: "2.0", method: "gatehouse:channel", params: { channel, message: event } });
  assert.equal(events.length, 1, "no events after unlisten");
  connection.close();
});

test("once hears the first event only, then unlistens", async () => {
  const { connection, ws } = await opened();
  const events = [];
  const listening = connection.once("ready", (e) => events.push(e.payload));
  const { id, params } = ws.last;
  ws.reply(id, 3);
  await listening;
  const channel = Number(params.handler.split(":")[1]);
  const fire = (payload) =>
    ws.push({ jsonrpc: "2.0", method: "gatehouse:channel", params: { channel, message: { event: "ready", id: 3, payload } } });
  fire(1);
  fire(2);
  assert.deepEqual(events, [1]);
  assert.deepEqual(ws.last.params, { event: "ready", eventId: 3 });
  connection.close();
});

test("once: an event before the reply to listen is heard once, then the listener goes", async () => {
  const { connection, ws } = await opened();
  const events = [];
  const listening = connection.once("ready", (e) => events.push(e.payload));
  const { id, params } = ws.last;
  const channel = Number(params.handler.split(":")[1]);
  const fire = (payload) =>
    ws.push({ jsonrpc: "2.0", method: "gatehouse:channel", params: { channel, message: { event: "ready", id: 4, payload } } });
  fire("early");
  fire("second");
  ws.reply(id, 4);
  await listening;
  assert.deepEqual(events, ["early"]);
  assert.deepEqual(ws.last.params, { event: "ready", eventId: 4 });
  connection.close();
});

test("emit and emitTo send the built-in commands", async () => {
  const { connection, ws } = await opened();
  const a = connection.emit("saved", { name: "a" });
  assert.deepEqual(ws.last, { jsonrpc: "2.0", id: 1, method: "plugin:event|emit", params: { event: "saved", payload: { name: "a" } } });
  const b = connection.emitTo("settings", "theme", "dark");
  assert.deepEqual(ws.last.params, { target: "settings", event: "theme", payload: "dark" });
  assert.equal(ws.last.method, "plugin:event|emit_to");
  const c = connection.emit("ping");
  assert.deepEqual(ws.last.params, { event: "ping" });
  ws.reply(1, null);
  ws.reply(2, null);
  ws.reply(3, null);
  assert.deepEqual(await Promise.all([a, b, c]), [undefined, undefined, undefined]);
  connection.close();
});

test("a drop rejects calls in flight; calls made meanwhile wait; listeners are registered again", async () => {
  const { connection, ws } = await opened();
  const statuses = [];
  connection.onStatus((status) => statuses.push(status));
  const listening = connection.listen("tick", () => {});
  const handler = ws.last.params.handler;
  ws.reply(ws.last.id, 5);
  const unlisten = await listening;

  const inFlight = connection.invoke("slow");
  const index = FakeSocket.all.length;
  ws.drop();
  const error = await inFlight.catch((e) => e);
  assert.equal(error.code, ErrorCode.ConnectionLost);
  assert.equal(error.data.method, "slow");

  const queued = connection.invoke("later", { n: 1 });
  const next = await socket(index);
  assert.equal(next.url, ws.url);
  next.accept();
  const [listen, later] = next.sent;
  assert.deepEqual(listen.params, { event: "tick", handler }, "same channel, registered again");
  assert.equal(listen.method, "plugin:event|listen");
  assert.deepEqual(later.params, { n: 1 });
  next.reply(later.id, "ok");
  assert.equal(await queued, "ok");

  next.reply(listen.id, 11);
  await settle();
  unlisten();
  assert.deepEqual(next.last.params, { event: "tick", eventId: 11 }, "unlisten uses the new id");
  assert.deepEqual(statuses, ["disconnected", "connecting", "connected"]);
  connection.close();
  assert.deepEqual(statuses.at(-1), "closed");
});

test("a listener removed while disconnected is not registered again", async () => {
  const { connection, ws } = await opened();
  const listening = connection.listen("tick", () => {});
  ws.reply(ws.last.id, 5);
  const unlisten = await listening;
  const index = FakeSocket.all.length;
  ws.drop();
  await unlisten();
  const next = await socket(index);
  next.accept();
  assert.deepEqual(next.sent, []);
  connection.close();
});

test("a timeout rejects the call; its late reply is ignored", async () => {
  const { connection, ws } = await opened();
  const error = await connection.invoke("slow", {}, { timeout: 20 }).catch((e) => e);
  assert.equal(error.code, ErrorCode.Timeout);
  assert.match(error.message, /`slow` got no reply within 20 ms/);
  ws.reply(1, "late");
  const next = connection.invoke("ping");
  ws.reply(2, "pong");
  assert.equal(await next, "pong");
  connection.close();
});

test("a call waiting for a connection times out", async () => {
  const connection = new Connection({ url: "ws://127.0.0.1:4000/gatehouse/ws", token: "t" });
  const error = await connection.invoke("ping", undefined, { timeout: 20 }).catch((e) => e);
  assert.equal(error.code, ErrorCode.Timeout);
  assert.match(error.message, /no connection to the core within 20 ms/);
  connection.close();
});

test("close rejects pending and later calls", async () => {
  const { connection, ws } = await opened();
  const pending = connection.invoke("slow");
  connection.close();
  assert.equal((await pending.catch((e) => e)).code, ErrorCode.ConnectionLost);
  assert.equal((await connection.invoke("ping").catch((e) => e)).code, ErrorCode.ConnectionLost);
  assert.equal(connection.status, "closed");
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(FakeSocket.all.at(-1), ws, "no reconnection after close");
});

test("arguments that cannot be serialised reject at once", async () => {
  const { connection } = await opened();
  await assert.rejects(connection.invoke("x", { big: 1n }), TypeError);
  connection.close();
});

test("connect takes an explicit url and token and becomes the shared connection", async () => {
  const statuses = [];
  const stop = gh.onStatus((status) => statuses.push(status));
  const index = FakeSocket.all.length;
  const connection = gh.connect({ url: "ws://example.test:9/gatehouse/ws?x=1", token: "s3cr&t" });
  assert.ok(connection instanceof Connection);
  const ws = await socket(index);
  assert.equal(ws.url, "ws://example.test:9/gatehouse/ws?x=1&token=s3cr%26t");
  ws.accept();
  const call = gh.invoke("ping");
  assert.equal(ws.last.method, "ping");
  ws.reply(ws.last.id, 1);
  assert.equal(await call, 1);
  assert.deepEqual(statuses, ["closed", "connecting", "connected"], "the previous shared one closed");
  stop();
  assert.throws(() => gh.connect({ url: "http://example.test/" }), TypeError);
  const replaced = new Connection({ url: "wss://h.test/gatehouse/ws?token=old&x=1", token: "new" });
  const kept = new Connection({ url: "wss://h.test/gatehouse/ws?token=old" });
  for (const c of [replaced, kept]) c.open();
  assert.equal(FakeSocket.all.at(-2).url, "wss://h.test/gatehouse/ws?x=1&token=new");
  assert.equal(FakeSocket.all.at(-1).url, "wss://h.test/gatehouse/ws?token=old");
  replaced.close();
  kept.close();
  connection.close();
});

test("reconnection backs off from 100 ms, doubling to 5 s, and resets after an open", async (t) => {
  t.mock.method(Math, "random", () => 1); // no jitter: the full delay
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const connection = new Connection({ url: "ws://127.0.0.1:4000/gatehouse/ws", token: "t" });
    connection.open();
    let ws = FakeSocket.all.at(-1);
    const delays = [];
    for (let i = 0; i < 8; i++) {
      const count = FakeSocket.all.length;
      ws.drop();
      let waited = 0;
      while (FakeSocket.all.length === count) {
        mock.timers.tick(50);
        waited += 50;
      }
      delays.push(waited);
      ws = FakeSocket.all.at(-1);
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    ws.accept();
    const count = FakeSocket.all.length;
    ws.drop();
    mock.timers.tick(100);
    assert.equal(FakeSocket.all.length, count + 1, "back to 100 ms");
    connection.close();
  } finally {
    mock.timers.reset();
  }
});
