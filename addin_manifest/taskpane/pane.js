// The task pane (Dynamics 365 App for Outlook is the model): signs in through Office, then shows for the item in
// view its people's CRM records, their open cases and opportunities, recent activities and whether the mail is
// tracked; follows the selected item when pinned (ItemChanged). The actions (track, create) are actions.js'; a
// record opened from any list is record.js'; inserting a template into a draft is templates.js'.

import { setupActions, showActions } from "./actions.js";
import { api, ApiError, signIn } from "./api.js";
import { $, fillList, recordName, say, showProblem } from "./dom.js";
import { contextQuery, readItem } from "./item.js";
import { activityItem, openItem, personItem } from "./lists.js";
import { closeRecord, openRecord, setupRecord } from "./record.js";
import { setupTemplates, showTemplates, templateRecordPicked } from "./templates.js";

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

function trackedStatus(tracked) {
  const status = $("tracked-status");
  if (!tracked) {
    status.textContent = "Not tracked";
    return;
  }
  status.replaceChildren("Tracked");
  if (tracked.regarding && tracked.regarding.name) {
    status.append(": regarding ", recordName(tracked.regarding, openRecord));
  }
}

function render() {
  const { snapshot, context } = state;
  $("item-kind").textContent = snapshot.kind === "appointment" ? "Meeting" : snapshot.composing ? "Draft" : "Mail";
  $("subject").textContent = snapshot.subject || "(no subject)";
  if (snapshot.kind === "appointment") $("tracked-status").textContent = "";
  else if (snapshot.composing) $("tracked-status").textContent = "Not sent yet";
  else trackedStatus(context.tracked);
  fillList($("people"), context.people, (person) => personItem(person, openRecord));
  fillList($("cases"), context.open_cases, (item) => openItem(item, openRecord), $("no-cases"));
  fillList($("opportunities"), context.open_opportunities, (item) => openItem(item, openRecord),
    $("no-opportunities"));
  fillList($("activities"), context.recent_activities, (a) => activityItem(a, openRecord), $("no-activities"));
  showActions(snapshot, context);
}

// Reads the item in view and its context; called at start, on ItemChanged, and after each action.
export async function load() {
  const number = ++state.loads;
  closeRecord(); // a record opened for the last item gives way to the item now in view
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
    await showTemplates(snapshot, context);
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
  setupActions(state, load, templateRecordPicked);
  setupTemplates();
  setupRecord(state.whoami);
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
