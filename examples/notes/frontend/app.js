// The notes page. Everything it does goes through the Gatehouse client: the core decides what
// this window may do, so the page never hides a button to "enforce" anything — it shows what
// the core answers, refusals included.

import { invoke, Channel, listen, onStatus } from "/gatehouse/gatehouse.js";

const $ = (id) => document.getElementById(id);
const ui = {
  list: $("notes"), empty: $("empty"), listTitle: $("list-title"), clearSearch: $("clear-search"),
  name: $("name"), body: $("body"), meta: $("meta"), status: $("status"), whoami: $("whoami"),
  search: $("search"), searchForm: $("search-form"), progress: $("search-progress"),
  newNote: $("new"), save: $("save"), remove: $("delete"),
};

// The note in the editor: its name and text as last loaded or saved (null for a new note).
let current = null;
let notes = [];
let searching = null; // the query whose results are shown, or null
let me = null; // this window's label, from whoami
// Changes this page made whose `note-changed` event has not come back yet, by note name: the
// page already shows them, so their events only refresh the list.
const own = new Map();
const expect = (name) => own.set(name, (own.get(name) || 0) + 1);
function consume(name) {
  const n = own.get(name) || 0;
  if (n > 1) own.set(name, n - 1); else own.delete(name);
  return n > 0;
}

function setStatus(text, kind = "info") {
  ui.status.textContent = text;
  ui.status.className = `status ${kind}`;
}

function showError(action, error) {
  // GatehouseError carries the core's message ("… not allowed …" for a refused call).
  const message = error && error.message ? error.message : String(error);
  setStatus(`${action}: ${message}`, "error");
  console.warn(action, error);
}

function dirty() {
  if (current === null) return ui.name.value !== "" || ui.body.value !== "";
  return ui.name.value !== current.name || ui.body.value !== current.body;
}

function ago(ms) {
  if (!ms) return "";
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Text with every case-insensitive occurrence of `query` in a <mark>, built without innerHTML.
function highlighted(text, query) {
  const span = el("span", "snippet");
  const lower = text.toLowerCase();
  const needle = query.toLowerCase();
  let at = 0;
  while (needle && at <= text.length) {
    const found = lower.indexOf(needle, at);
    if (found < 0) break;
    span.append(text.slice(at, found), el("mark", "", text.slice(found, found + needle.length)));
    at = found + needle.length;
  }
  span.append(text.slice(at));
  return span;
}

function renderList(items, { hits = false } = {}) {
  ui.list.replaceChildren();
  for (const item of items) {
    const li = el("li", "note");
    li.dataset.name = item.name;
    li.tabIndex = 0;
    if (current && current.name === item.name) li.classList.add("selected");
    const head = el("div", "note-head");
    head.append(el("span", "note-name", item.name));
    if (hits) {
      head.append(el("span", "note-count", `${item.matches} ${item.matches === 1 ? "match" : "matches"}`));
      li.append(head, highlighted(item.snippet, searching));
    } else {
      head.append(el("span", "note-time", ago(item.modified)));
      const summary = item.title && item.title !== item.name ? item.title : item.preview;
      li.append(head, el("span", "note-preview", summary || "Empty note"));
    }
    li.addEventListener("click", () => open(item.name));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(item.name); });
    ui.list.append(li);
  }
  ui.empty.textContent = hits ? "Nothing found." : "No notes yet.";
  ui.empty.hidden = items.length > 0;
}

async function refreshList() {
  try {
    notes = await invoke("list_notes");
    if (searching === null) renderList(notes);
  } catch (error) {
    showError("Could not list the notes", error);
  }
}

function showNote(note) {
  current = note ? { name: note.name, body: note.body } : null;
  ui.name.value = note ? note.name : "";
  ui.body.value = note ? note.body : "";
  ui.meta.textContent = note ? `Last changed ${ago(note.modified)}` : "A new note";
  for (const li of ui.list.children) li.classList.toggle("selected", !!note && li.dataset.name === note.name);
}

async function open(name) {
  if (dirty() && !confirm("Discard the changes to this note?")) return;
  try {
    showNote(await invoke("read_note", { name }));
    setStatus(`Opened “${name}”.`);
  } catch (error) {
    showError(`Could not open “${name}”`, error);
  }
}

async function save() {
  const name = ui.name.value.trim();
  if (!name) {
    setStatus("Give the note a name first.", "error");
    ui.name.focus();
    return;
  }
  const body = ui.body.value;
  expect(name);
  try {
    await invoke("write_note", { name, body });
    current = { name, body };
    ui.name.value = name;
    ui.meta.textContent = "Saved just now";
    setStatus(`Saved “${name}”.`, "ok");
    await refreshList();
  } catch (error) {
    consume(name);
    showError(`Could not save “${name}”`, error);
  }
}

async function remove() {
  if (current === null) {
    showNote(null);
    return;
  }
  const { name } = current;
  if (!confirm(`Delete “${name}”?`)) return;
  expect(name);
  try {
    await invoke("delete_note", { name });
    showNote(null);
    setStatus(`Deleted “${name}”.`, "ok");
    await refreshList();
  } catch (error) {
    consume(name);
    showError(`Could not delete “${name}”`, error);
  }
}

let searchRun = 0;
async function search(query) {
  const run = ++searchRun;
  query = query.trim();
  if (!query) {
    clearSearch();
    return;
  }
  ui.progress.hidden = false;
  ui.progress.max = 1;
  ui.progress.value = 0;
  const progress = new Channel((step) => {
    if (run !== searchRun) return;
    ui.progress.max = Math.max(step.total, 1);
    ui.progress.value = step.scanned;
    ui.progress.title = `${step.scanned} of ${step.total} notes searched`;
  });
  try {
    const hits = await invoke("search", { query, progress });
    if (run !== searchRun) return;
    searching = query;
    ui.listTitle.textContent = `Results for “${query}”`;
    ui.clearSearch.hidden = false;
    ui.newNote.hidden = true;
    renderList(hits, { hits: true });
    setStatus(`${hits.length} ${hits.length === 1 ? "note contains" : "notes contain"} “${query}”.`);
  } catch (error) {
    if (run === searchRun) showError("Search failed", error);
  } finally {
    if (run === searchRun) ui.progress.hidden = true;
  }
}

function clearSearch() {
  searchRun++;
  searching = null;
  ui.search.value = "";
  ui.progress.hidden = true;
  ui.listTitle.textContent = "All notes";
  ui.clearSearch.hidden = true;
  ui.newNote.hidden = false;
  renderList(notes);
}

// Another window (or this one) changed a note: refresh the list, and the open note if it is
// the one that changed and has no unsaved edits here.
async function onChanged({ name, kind, by }) {
  const mine = by === me && consume(name);
  await refreshList();
  if (searching !== null) search(searching);
  if (mine || !current || current.name !== name) return;
  if (kind === "deleted") {
    ui.meta.textContent = `Deleted by the ${by} window`;
    current = null;
    setStatus(`“${name}” was deleted by the ${by} window.`, "info");
  } else if (!dirty()) {
    try {
      const note = await invoke("read_note", { name });
      if (!dirty()) showNote(note);
      setStatus(`“${name}” was updated by the ${by} window.`);
    } catch (error) {
      showError(`Could not reload “${name}”`, error);
    }
  } else {
    setStatus(`“${name}” was changed by the ${by} window; saving will replace that version.`, "error");
  }
}

async function whoami() {
  try {
    const who = await invoke("whoami");
    me = who.label;
    const writes = who.commands.includes("write_note");
    ui.whoami.replaceChildren(el("strong", "", who.label), el("span", "", writes ? "read & write" : "read only"));
    ui.whoami.classList.add(writes ? "rw" : "ro");
    ui.whoami.title = `This page is the “${who.label}” window. It may call: ${who.commands.join(", ")}`;
    document.title = `Notes · ${who.label}`;
    document.body.dataset.window = who.label;
  } catch (error) {
    ui.whoami.textContent = "unknown window";
    showError("Could not connect", error);
  }
}

ui.newNote.addEventListener("click", () => {
  if (dirty() && !confirm("Discard the changes to this note?")) return;
  showNote(null);
  ui.name.focus();
  setStatus("A new note: give it a name, write, then Save.");
});
ui.save.addEventListener("click", save);
ui.remove.addEventListener("click", remove);
ui.clearSearch.addEventListener("click", clearSearch);
ui.searchForm.addEventListener("submit", (e) => { e.preventDefault(); search(ui.search.value); });
let typing;
ui.search.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => search(ui.search.value), 250);
});
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); }
});
window.addEventListener("beforeunload", (e) => { if (dirty()) e.preventDefault(); });

// The client reconnects by itself (and re-registers the listener); events sent while the
// connection was down are lost, so the list is reloaded when it comes back.
let wasDown = false;
onStatus((status) => {
  document.body.dataset.connection = status;
  if (status === "disconnected" && !wasDown) {
    wasDown = true;
    setStatus("Lost the connection to the core; reconnecting…", "error");
  } else if (status === "connected" && wasDown) {
    wasDown = false;
    setStatus("Reconnected.", "ok");
    refreshList();
  }
});

await whoami();
await refreshList();
try {
  await listen("note-changed", (event) => onChanged(event.payload));
} catch (error) {
  showError("Live updates are off", error);
}
if (!ui.status.textContent) setStatus("Ready.");
document.body.dataset.ready = "true";
