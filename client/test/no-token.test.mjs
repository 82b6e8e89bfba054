// A page opened without a token: its own process, since the client reads the token at import.
import assert from "node:assert/strict";
import { test } from "node:test";

const sockets = [];
const store = new Map();
globalThis.location = { protocol: "http:", host: "127.0.0.1:4000", pathname: "/", search: "", hash: "#section-2", href: "http://127.0.0.1:4000/#section-2" };
globalThis.history = { replaceState: () => assert.fail("nothing to remove from the URL") };
globalThis.sessionStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
globalThis.WebSocket = class extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    sockets.push(this);
  }
  close() {}
};
const gh = await import("../../runtime/client/gatehouse.js");

test("without a token, calls reject with NoToken and no socket is opened", async () => {
  const error = await gh.invoke("ping").catch((e) => e);
  assert.ok(error instanceof gh.GatehouseError);
  assert.equal(error.code, gh.ErrorCode.NoToken);
  assert.match(error.message, /no gatehouse token/);
  await assert.rejects(gh.listen("x", () => {}), { code: gh.ErrorCode.NoToken });
  assert.throws(() => gh.connect(), { code: gh.ErrorCode.NoToken });
  assert.equal(sockets.length, 0);
});

test("a token stored by an earlier page of the tab is used", () => {
  store.set("gatehouse.token", "stored");
  const connection = gh.connect();
  assert.equal(sockets[0].url, "ws://127.0.0.1:4000/gatehouse/ws?token=stored");
  connection.close();
});
