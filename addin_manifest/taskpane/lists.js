// The lists the pane shows for an item and for an opened record: people with their records, open cases and
// opportunities, recent activities. `open(record)` opens a record in the pane (record.js).

import { el, recordName, typeName, when } from "./dom.js";

function recordLine(record, open) {
  const li = el("li", "record");
  li.dataset.type = record.type;
  li.append(el("span", "type", typeName(record.type)), " ", recordName(record, open));
  return li;
}

export function personItem(person, open) {
  const li = el("li", "person");
  li.dataset.address = person.address;
  const head = el("p", "who");
  head.append(el("span", "role", person.role), " ", el("span", "address", person.address));
  const records = el("ul", "records");
  if (person.records.length) records.append(...person.records.map((record) => recordLine(record, open)));
  else records.append(el("li", "empty", "No CRM record"));
  li.append(head, records);
  return li;
}

export function openItem(item, open) {
  const li = el("li", "open-item");
  li.dataset.type = item.type;
  li.append(recordName({ type: item.type, id: item.id, name: item.title }, open));
  const detail = [item.number, item.customer && item.customer.name, when(item.modified_on)].filter(Boolean);
  li.append(el("p", "detail", detail.join(" · ")));
  return li;
}

export function activityItem(activity, open) {
  const li = el("li", "activity");
  li.append(el("span", "type", activity.activity_type), " ", el("span", "subject", activity.subject));
  const detail = el("p", "detail", when(activity.occurred_on));
  if (activity.regarding && activity.regarding.name) {
    detail.append(" · regarding ", recordName(activity.regarding, open));
  }
  li.append(detail);
  return li;
}
