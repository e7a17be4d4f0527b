// A CRM record opened in the pane (as Dynamics' App for Outlook does): its main fields, open cases and
// opportunities, recent activities, each linked record opening in turn; "Back" returns along the way it came,
// then to the item in view. "Open in the CRM" leads to the record's page in the CRM's web front end when the
// server names one (whoami's record_url).

import { api } from "./api.js";
import { $, el, fillList, recordHref, recordName, showProblem, typeName } from "./dom.js";
import { activityItem, openItem } from "./lists.js";

let template = null; // whoami's record_url
const trail = []; // the records opened, the one shown last
let opens = 0;

function fieldRow(field) {
  const row = el("div", "field");
  const value = el("dd");
  value.append(field.record ? recordName(field.record, openRecord) : field.value);
  row.append(el("dt", null, field.label), value);
  return row;
}

function render(view) {
  $("record-type").textContent = typeName(view.type) + (view.state ? " · " + view.state : "");
  $("record-name").textContent = view.name || "(no name)";
  $("record-fields").replaceChildren(...view.fields.map(fieldRow));
  const customer = view.type === "account" || view.type === "contact";
  $("record-cases-panel").hidden = $("record-opportunities-panel").hidden = !customer;
  fillList($("record-cases"), view.open_cases, (item) => openItem(item, openRecord), $("record-no-cases"));
  fillList($("record-opportunities"), view.open_opportunities, (item) => openItem(item, openRecord),
    $("record-no-opportunities"));
  fillList($("record-activities"), view.recent_activities, (a) => activityItem(a, openRecord),
    $("record-no-activities"));
  const href = recordHref(view, template);
  $("record-open").hidden = !href;
  if (href) $("record-open").href = href;
}

async function show(record) {
  const number = ++opens;
  showProblem(null);
  document.body.dataset.state = "loading";
  try {
    const view = await api("GET", "records/" + encodeURIComponent(record.type) + "/" + encodeURIComponent(record.id));
    if (number !== opens) return;
    render(view);
    $("item").hidden = true;
    $("record").hidden = false;
    document.body.dataset.state = "record";
  } catch (error) {
    if (number !== opens) return;
    trail.pop();
    showProblem(error);
    document.body.dataset.state = trail.length ? "record" : "ready";
  }
}

export function openRecord(record) {
  trail.push(record);
  return show(record);
}

// Back to the item in view (on ItemChanged, and at the end of the trail).
export function closeRecord() {
  trail.length = 0;
  opens++;
  $("record").hidden = true;
}

function back() {
  trail.pop();
  if (trail.length) return show(trail[trail.length - 1]);
  closeRecord();
  $("item").hidden = false;
  document.body.dataset.state = "ready";
  showProblem(null);
}

export function setupRecord(whoami) {
  template = whoami.record_url || null;
  $("record-back").addEventListener("click", back);
}
