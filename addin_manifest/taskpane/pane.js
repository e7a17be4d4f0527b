// The task pane (Dynamics 365 App for Outlook is the model): signs in through Office, then shows for the item in
// view its people's CRM records, their open cases and opportunities, recent activities and whether the mail is
// tracked; follows the selected item when pinned (ItemChanged). The actions (track, create) are actions.js'.

import { setupActions, showActions } from "./actions.js";
import { api, ApiError, signIn } from "./api.js";
import { $, el, fillList, recordName, say, showProblem, typeName, when } from "./dom.js";
import { contextQuery, readItem } from "./item.js";

const state = {
  whoami: null,
  snapshot: null, // the item in view (item.js), null when none is selected
  context: null, // GET /addin/api/context for it
  loads: 0, // each load's number: an answer for an item no longer in view is dropped
};

function setState(name) {
  document.body.dataset.state = name;
}

function fail(error) {
  showProblem(error instanceof Error ? error : new ApiError(String(error), 0, null));
}

function recordLine(record) {
  const li = el("li", "record");
  li.dataset.type = record.type;
  li.append(el("span", "type", typeName(record.type)), " ", recordName(record, state.whoami.record_url));
  return li;
}

function personItem(person) {
  const li = el("li", "person");
  li.dataset.address = person.address;
  const head = el("p", "who");
  head.append(el("span", "role", person.role), " ", el("span", "address", person.address));
  const records = el("ul", "records");
  if (person.records.length) records.append(...person.records.map(recordLine));
  else records.append(el("li", "empty", "No CRM record"));
  li.append(head, records);
  return li;
}

function openItem(item) {
  const li = el("li", "open-item");
  li.dataset.type = item.type;
  const title = recordName({ type: item.type, id: item.id, name: item.title }, state.whoami.record_url);
  li.append(title);
  const detail = [item.number, item.customer && item.customer.name, when(item.modified_on)].filter(Boolean);
  li.append(el("p", "detail", detail.join(" · ")));
  return li;
}

function activityItem(activity) {
  const li = el("li", "activity");
  li.append(el("span", "type", activity.activity_type), " ", el("span", "subject", activity.subject));
  const detail = [when(activity.occurred_on), activity.regarding && "regarding " + activity.regarding.name];
  li.append(el("p", "detail", detail.filter(Boolean).join(" · ")));
  return li;
}

function trackedText(tracked) {
  if (!tracked) return "Not tracked";
  return tracked.regarding ? "Tracked: regarding " + tracked.regarding.name : "Tracked";
}

function render() {
  const { snapshot, context } = state;
  $("item-kind").textContent = snapshot.kind === "appointment" ? "Meeting" : "Mail";
  $("subject").textContent = snapshot.subject || "(no subject)";
  $("tracked-status").textContent = snapshot.kind === "appointment" ? "" : trackedText(context.tracked);
  fillList($("people"), context.people, personItem);
  fillList($("cases"), context.open_cases, openItem, $("no-cases"));
  fillList($("opportunities"), context.open_opportunities, openItem, $("no-opportunities"));
  fillList($("activities"), context.recent_activities, activityItem, $("no-activities"));
  showActions(snapshot, context);
}

// Reads the item in view and its context; called at start, on ItemChanged, and after each action.
export async function load() {
  const number = ++state.loads;
  const item = Office.context.mailbox.item;
  if (!item) {
    state.snapshot = state.context = null;
    $("item").hidden = true;
    $("no-item").hidden = false;
    showProblem(null);
    setState("no-item");
    return;
  }
  setState("loading");
  try {
    const snapshot = await readItem(item);
    const context = await api("GET", "context", { query: contextQuery(snapshot) });
    if (number !== state.loads) return; // another item was selected meanwhile
    Object.assign(state, { snapshot, context });
    showProblem(null);
    render();
    $("no-item").hidden = true;
    $("item").hidden = false;
    setState("ready");
  } catch (error) {
    if (number !== state.loads) return;
    $("item").hidden = true;
    fail(error);
    setState("error");
  }
}

function itemChanged() {
  say("");
  load();
}

async function start() {
  setState("signing-in");
  try {
    await signIn();
    state.whoami = await api("GET", "whoami");
  } catch (error) {
    fail(error);
    setState("error");
    return;
  }
  $("who").textContent = "Signed in as " + state.whoami.full_name + " (" + state.whoami.email + ")";
  setupActions(state, load);
  const mailbox = Office.context.mailbox;
  if (Office.context.requirements.isSetSupported("Mailbox", "1.5")) { // a pinned pane follows the selection
    mailbox.addHandlerAsync(Office.EventType.ItemChanged, itemChanged, (result) => {
      if (result && result.status === "failed") say("This Outlook does not tell the pane about another item.");
    });
  }
  await load();
}

if (typeof Office === "undefined") {
  showProblem(new ApiError("Office.js did not load: open this pane from Outlook.", 0, null));
  setState("error");
} else {
  Office.onReady(() => start());
}
