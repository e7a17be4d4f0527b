// DOM helpers of the task pane. Everything that came from the mail (subject, names, addresses) or from the API
// (record names, server messages) is hostile input: it only ever reaches the page through textContent or an
// attribute set here, never through HTML.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function button(label, action, onClick) {
  const node = el("button", null, label);
  node.type = "button";
  if (action) node.dataset.action = action;
  node.addEventListener("click", onClick);
  return node;
}

// A record's name: a link that opens the record in the pane when `open` is given, else plain text.
export function recordName(record, open) {
  if (!open || !record.id) return el("span", "name", record.name);
  const link = el("a", "name", record.name);
  link.href = "#";
  link.dataset.action = "open-record";
  link.dataset.type = record.type;
  link.addEventListener("click", (event) => {
    event.preventDefault();
    open(record);
  });
  return link;
}

// The record's page in the CRM's web front end, from whoami's record_url template ("https://crm/{type}/{id}"),
// or null. Only http(s) addresses become links (a template is configuration, still checked).
export function recordHref(record, template) {
  if (!template) return null;
  const href = template.replaceAll("{type}", encodeURIComponent(record.type))
    .replaceAll("{id}", encodeURIComponent(record.id));
  try {
    const url = new URL(href, location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function say(text) {
  $("message").textContent = text || "";
}

// An error, as support needs it: what went wrong and the correlation id to find it in the server's logs.
export function showProblem(error) {
  const box = $("problem");
  box.querySelector(".detail").textContent = error ? error.message : "";
  const id = error && error.correlationId;
  box.querySelector(".correlation").textContent = id ? "Correlation id: " + id : "";
  box.hidden = !error;
}

export function fillList(list, items, render, emptyNote) {
  list.replaceChildren(...items.map(render));
  if (emptyNote) emptyNote.hidden = items.length > 0;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleDateString() : "";
}

export const TYPE_NAMES = {
  contact: "Contact", lead: "Lead", account: "Account", case: "Case", opportunity: "Opportunity",
};

export function typeName(type) {
  return TYPE_NAMES[type] || type;
}
