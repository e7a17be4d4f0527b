// Small DOM and formatting helpers of the admin console. Every string that came from the API (mailbox names,
// server error messages, mail subjects and addresses) is hostile input: it only ever goes into textContent or
// an attribute through these, never into HTML.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function button(label, className, onClick) {
  const node = el("button", className, label);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

// Sets a node's text only when it changed, so that a poll every two seconds leaves a selection alone.
export function setText(node, text) {
  const value = text === undefined || text === null ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
  return node;
}

// The page-wide message line: what went wrong, or what was done.
export function say(text, isError) {
  const message = $("message");
  setText(message, text || "");
  message.classList.toggle("error", Boolean(isError));
}

// Keeps a container's children in step with a list, one child per key: children are created once and updated in
// place, so that buttons and open details survive the polls.
export function keyed(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of container.children) existing.set(child.dataset.key, child);
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (node) existing.delete(key);
    else {
      node = create(item);
      node.dataset.key = key;
    }
    update(node, item);
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (node !== expected) container.insertBefore(node, expected);
    previous = node;
  }
  for (const node of existing.values()) node.remove();
}

// A table body from rows of cells (strings or nodes), replaced whole: for lists read on demand.
export function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = el("tr");
    for (const cell of cells) {
      const td = el("td");
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell === null || cell === undefined ? "" : String(cell);
      tr.append(td);
    }
    return tr;
  }));
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return s + " s";
  if (s < 90 * 60) return Math.round(s / 60) + " min";
  if (s < 36 * 3600) return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
  return Math.round(s / 86400) + " d";
}

// A time of today as its clock time, another day's with its date: in the reader's zone and language.
export function clock(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  const sameDay = at.toDateString() === new Date().toDateString();
  return sameDay ? at.toLocaleTimeString() : at.toLocaleString();
}

export function secondsUntil(iso) {
  return (Date.parse(iso) - Date.now()) / 1000;
}

export function ago(iso) {
  return iso ? clock(iso) + " (" + duration(-secondsUntil(iso)) + " ago)" : "never";
}
