// "Insert a template" while composing, as Dynamics' App for Outlook offers it: a template and the record it is
// for (the first record of the first recipient, or another of the item's records, or one picked under Tracking),
// then the template rendered by the server goes into the draft: its subject when the draft has none, its body at
// the cursor. The server escapes every value; the pane hands its answer to Outlook as it is and builds no HTML.

import { api } from "./api.js";
import { $, el, say, showProblem, typeName } from "./dom.js";

let templates = null; // GET /addin/api/templates, read once the first time a draft is in view
let picked = null; // the record picked in the regarding picker, offered as well

// One Office.js asynchronous call as a promise: office(item.subject, "setAsync", "Hi").
function office(target, method, ...args) {
  return new Promise((resolve, reject) => {
    target[method](...args, (result) => {
      if (result.status !== "failed") resolve(result.value);
      else reject(new Error("Outlook refused: " + ((result.error && result.error.message) || method)));
    });
  });
}

function option(value, text) {
  const node = el("option", null, text);
  node.value = value;
  return node;
}

function recordKey(record) {
  return record.type + ":" + record.id;
}

// The item's records: its recipients' first (the default is the very first), then the sender's, its open cases
// and opportunities, and the record picked under Tracking.
function recordOptions(context) {
  const people = [...context.people.filter((p) => p.role !== "from"), ...context.people.filter((p) => p.role === "from")];
  const records = [...people.flatMap((p) => p.records), ...context.open_cases, ...context.open_opportunities];
  if (picked) records.push(picked);
  const seen = new Set();
  const options = [];
  for (const record of records) {
    const key = recordKey(record);
    if (seen.has(key)) continue;
    seen.add(key);
    options.push(option(key, typeName(record.type) + ": " + (record.name || record.title || "")));
  }
  return options;
}

function templateLabel(template) {
  const kind = template.target_entity ? typeName(template.target_entity) : "any record";
  return template.name + " (" + kind + ", " + template.language_code + ")";
}

// Templates for another kind of record than the chosen one cannot be rendered for it: they are greyed out.
function fitTemplates() {
  const kind = $("template-record").value.split(":")[0];
  const select = $("template");
  for (const node of select.options) {
    const target = node.dataset.target;
    node.disabled = Boolean(target) && target !== kind;
  }
  if (!select.value || select.selectedOptions[0].disabled) {
    const first = [...select.options].find((node) => !node.disabled);
    select.value = first ? first.value : "";
  }
  $("insert-template").disabled = !select.value || !$("template-record").value;
}

function fillTemplates() {
  const select = $("template");
  select.replaceChildren(...templates.map((template) => {
    const node = option(template.id, templateLabel(template));
    if (template.target_entity) node.dataset.target = template.target_entity;
    return node;
  }));
  $("no-templates").hidden = templates.length > 0;
}

async function loadTemplates() {
  if (templates) return;
  templates = await api("GET", "templates");
  fillTemplates();
}

async function bodyType(body) {
  if (typeof body.getTypeAsync !== "function") return "html";
  return office(body, "getTypeAsync");
}

async function insert() {
  const [type, id] = $("template-record").value.split(":");
  const done = await api("POST", "templates/" + encodeURIComponent($("template").value) + "/render",
    { body: { type: type, id: id } });
  const item = Office.context.mailbox.item;
  const html = (await bodyType(item.body)) === "html";
  if (!html && done.body_text === null) return "This template has only an HTML body: write the mail in HTML.";
  const subject = await office(item.subject, "getAsync");
  const setSubject = !String(subject || "").trim() && Boolean(done.subject);
  if (setSubject) await office(item.subject, "setAsync", done.subject);
  const useHtml = html && done.body_html !== null;
  await office(item.body, "setSelectedDataAsync", useHtml ? done.body_html : done.body_text, {
    coercionType: useHtml ? Office.CoercionType.Html : Office.CoercionType.Text,
  });
  return setSubject ? "Template inserted, with its subject." : "Template inserted.";
}

export function setupTemplates() {
  $("template-record").addEventListener("change", fitTemplates);
  $("template-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const trigger = $("insert-template");
    trigger.disabled = true;
    showProblem(null);
    say("");
    try {
      say(await insert());
    } catch (error) {
      say("");
      showProblem(error);
    } finally {
      trigger.disabled = false;
    }
  });
}

// The regarding picker chose a record (null: cleared): it becomes the record the template is for.
export function templateRecordPicked(record) {
  picked = record;
  if (!record || $("templates-panel").hidden) return;
  const select = $("template-record");
  const key = recordKey(record);
  if (![...select.options].some((node) => node.value === key)) {
    select.append(option(key, typeName(record.type) + ": " + record.name));
  }
  select.value = key;
  fitTemplates();
}

export async function showTemplates(snapshot, context) {
  $("templates-panel").hidden = !snapshot.composing;
  if (!snapshot.composing) return;
  $("template-record").replaceChildren(...recordOptions(context));
  $("no-template-record").hidden = $("template-record").options.length > 0;
  try {
    await loadTemplates();
  } catch (error) {
    showProblem(error);
  }
  if (templates) fitTemplates();
}
