// The pane's actions on the item in view: track it (regarding a record picked by search) or untrack it, track a
// meeting, and create a contact, a lead (past its possible duplicates, when the user says so) or a case (for a
// customer among the mail's people, or one searched for) from the mail. Each one calls /addin/api/..., says what
// was done (or the problem and its correlation id), then reloads the context. Buttons carry stable data-action
// names.

import { api } from "./api.js";
import { $, button, el, say, showProblem, typeName } from "./dom.js";
import { splitName } from "./item.js";

const SEARCH_DELAY_MS = 250;
const CUSTOMER_TYPES = ["contact", "account"];

let pane = null; // pane.js' state: the item in view (snapshot) and its context
let reload = null;
let picked = () => {}; // told of each record picked (templates.js: the record a template is for)
let regarding = null; // the record picked in the search, {type, id, name}
let shownKey = null; // the item the forms were last filled for
let searches = 0;
let customerSearches = 0;

function itemKey(snapshot) {
  return snapshot.itemId || snapshot.internetMessageId || snapshot.subject;
}

// What every write says about the item: its REST id, Message-ID and the shared mailbox it is in.
function itemFields() {
  const s = pane.snapshot;
  return { item_id: s.restId, internet_message_id: s.internetMessageId, mailbox: s.mailbox };
}

async function run(trigger, work) {
  trigger.disabled = true;
  showProblem(null);
  try {
    say(await work());
    shownKey = null; // done: the forms and the picker start afresh
    await reload();
  } catch (error) {
    say("");
    showProblem(error);
  } finally {
    trigger.disabled = false;
  }
}

// --- the regarding picker ---
function pick(record) {
  regarding = record;
  $("regarding-picked").textContent = record
    ? "Regarding: " + typeName(record.type) + " " + record.name : "Regarding: nothing";
  $("regarding-results").replaceChildren();
  picked(record);
}

function resultItem(found) {
  const li = el("li");
  const choose = button(typeName(found.type) + ": " + found.name, "pick", () => pick(found));
  choose.dataset.type = found.type;
  li.append(choose);
  if (found.detail) li.append(el("span", "detail", found.detail));
  return li;
}

async function search(text) {
  const number = ++searches;
  const results = $("regarding-results");
  if (text.length < 2) {
    results.replaceChildren();
    return;
  }
  try {
    const found = await api("GET", "search", { query: { q: text } });
    if (number !== searches) return; // typed on since
    results.replaceChildren(...(found.length ? found.map(resultItem) : [el("li", "empty", "No match.")]));
  } catch (error) {
    if (number === searches) showProblem(error);
  }
}

// --- each action ---
function track() {
  const s = pane.snapshot;
  if (s.kind === "appointment") {
    if (!regarding) return Promise.resolve("Pick what the meeting is regarding first.");
    return api("POST", "track-appointment", { body: {
      item_id: s.restId, series: Boolean(s.seriesId) && $("track-series").checked, mailbox: s.mailbox,
      regarding: { type: regarding.type, id: regarding.id },
    } }).then((done) => "Meeting tracked" + (done.regarding ? ": regarding " + done.regarding.name : "."));
  }
  return api("POST", "track", { body: {
    ...itemFields(), conversation_id: s.conversationId,
    regarding: regarding ? { type: regarding.type, id: regarding.id } : null,
  } }).then((done) => "Tracked" + (done.regarding ? ": regarding " + done.regarding.name : "."));
}

function untrack() {
  return api("DELETE", "track", { query: { internet_message_id: pane.snapshot.internetMessageId } })
    .then(() => "Untracked.");
}

function createdText(done) {
  const number = done.number ? " (" + done.number + ")" : "";
  const what = typeName(done.record.type) + " “" + done.record.name + "”" + number + " created";
  return what + (done.tracked ? " and this mail tracked to it." : ".");
}

function optional(id) {
  return $(id).value.trim() || null;
}

function createContact() {
  return api("POST", "contacts", { body: {
    ...itemFields(), email: $("contact-email").value.trim(), first_name: optional("contact-first-name"),
    last_name: $("contact-last-name").value.trim(), track: $("contact-track").checked,
  } }).then(createdText);
}

function duplicateItem(candidate) {
  const li = el("li", "duplicate");
  const on = candidate.matched_on || [];
  const matched = on.length ? " (same " + on.join(", ") + ")" : "";
  li.append(el("span", "type", typeName(candidate.entity)), " ", el("span", "name", candidate.name),
    el("span", "detail", " " + (candidate.state || "") + matched));
  return li;
}

// A lead like an existing one is refused (409) with the candidates: they are listed, and "Create anyway" sends
// the same lead again with ignore_duplicates.
async function createLead(anyway) {
  try {
    return createdText(await api("POST", "leads", { body: {
      ...itemFields(), email: $("lead-email").value.trim(), first_name: optional("lead-first-name"),
      last_name: $("lead-last-name").value.trim(), subject: $("lead-subject").value.trim(),
      company_name: optional("lead-company"), track: $("lead-track").checked, ignore_duplicates: anyway,
    } }));
  } catch (error) {
    const found = error.status === 409 && error.problem && error.problem.duplicates;
    if (Array.isArray(found) && found.length) {
      $("lead-duplicate-list").replaceChildren(...found.map(duplicateItem));
      $("lead-duplicates").hidden = false;
    }
    throw error;
  }
}

function createCase() {
  const chosen = $("case-customer").value;
  const customer = chosen ? { type: chosen.split(":")[0], id: chosen.split(":")[1] } : null;
  return api("POST", "cases", { body: { ...itemFields(), title: $("case-title").value.trim(), customer } })
    .then(createdText);
}

function onSubmit(formId, work) {
  $(formId).addEventListener("submit", (event) => {
    event.preventDefault();
    const trigger = event.submitter || $(formId).querySelector("button[type=submit]");
    run(trigger, () => work(trigger));
  });
}

// --- the case's customer: one of the mail's people's records, or one searched for ---
function chooseCustomer(found) {
  const select = $("case-customer");
  const key = found.type + ":" + found.id;
  if (![...select.options].some((option) => option.value === key)) {
    const option = el("option", null, typeName(found.type) + ": " + found.name);
    option.value = key;
    select.append(option);
  }
  select.value = key;
  $("case-customer-results").replaceChildren();
  $("case-customer-search").value = "";
}

async function searchCustomers(text) {
  const number = ++customerSearches;
  const results = $("case-customer-results");
  if (text.length < 2) {
    results.replaceChildren();
    return;
  }
  try {
    const found = await api("GET", "search", { query: { q: text, types: CUSTOMER_TYPES } });
    if (number !== customerSearches) return;
    results.replaceChildren(...(found.length ? found.map((one) => {
      const li = el("li");
      const choose = button(typeName(one.type) + ": " + one.name, "pick-customer", () => chooseCustomer(one));
      choose.dataset.type = one.type;
      li.append(choose);
      if (one.detail) li.append(el("span", "detail", one.detail));
      return li;
    }) : [el("li", "empty", "No match.")]));
  } catch (error) {
    if (number === customerSearches) showProblem(error);
  }
}

// Searches as the user types, once he pauses.
function searchAsTyped(input, work) {
  let timer = null;
  input.addEventListener("input", (event) => {
    const text = event.target.value.trim();
    clearTimeout(timer);
    timer = setTimeout(() => work(text), SEARCH_DELAY_MS);
  });
}

export function setupActions(state, refresh, onPick) {
  pane = state;
  reload = refresh;
  if (onPick) picked = onPick;
  searchAsTyped($("regarding-search"), search);
  searchAsTyped($("case-customer-search"), searchCustomers);
  $("untrack").addEventListener("click", (event) => run(event.currentTarget, untrack));
  onSubmit("track-form", track);
  onSubmit("contact-form", createContact);
  onSubmit("lead-form", (trigger) => createLead(trigger.id === "create-lead-anyway"));
  onSubmit("case-form", createCase);
}

// --- what is offered for the item in view ---
function customerOptions(context) {
  const seen = new Set();
  const options = [el("option", null, "Choose the customer")]; // a case needs one: a contact or an account
  options[0].value = "";
  for (const person of context.people) {
    for (const record of person.records) {
      const key = record.type + ":" + record.id;
      if (!CUSTOMER_TYPES.includes(record.type) || seen.has(key)) continue;
      seen.add(key);
      const option = el("option", null, typeName(record.type) + ": " + record.name);
      option.value = key;
      options.push(option);
    }
  }
  return options;
}

function fillForms(snapshot) {
  for (const id of ["track-form", "contact-form", "lead-form", "case-form"]) $(id).reset();
  for (const id of ["contact-panel", "lead-panel", "case-panel"]) $(id).open = false;
  pick(null);
  $("regarding-search").value = "";
  $("lead-duplicates").hidden = true;
  $("lead-duplicate-list").replaceChildren();
  $("case-customer-results").replaceChildren();
  const name = splitName(snapshot.from);
  const address = snapshot.from ? snapshot.from.address : "";
  $("contact-first-name").value = $("lead-first-name").value = name.first;
  $("contact-last-name").value = $("lead-last-name").value = name.last;
  $("contact-email").value = $("lead-email").value = address;
  $("lead-subject").value = $("case-title").value = snapshot.subject;
}

export function showActions(snapshot, context) {
  const meeting = snapshot.kind === "appointment";
  const key = itemKey(snapshot);
  if (key !== shownKey) fillForms(snapshot);
  shownKey = key;
  // A draft is on no server yet: nothing to track or make a record from; its picker chooses a template's record.
  const draft = Boolean(snapshot.composing);
  $("untrack").hidden = meeting || draft || !context.tracked;
  $("track-form").hidden = !meeting && !draft && Boolean(context.tracked);
  $("track-series-label").hidden = !(meeting && snapshot.seriesId);
  $("track").hidden = draft;
  $("track").textContent = meeting ? "Track meeting" : "Track";
  $("track").dataset.action = meeting ? "track-appointment" : "track";
  $("create").hidden = meeting || draft;
  $("case-customer").replaceChildren(...customerOptions(context));
}
