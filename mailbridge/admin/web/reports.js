// What the console reads on demand: a connection test's outcome, a dry run's report, a mailbox's run history,
// the quarantine and the email server profiles. Mail subjects, addresses and error messages only ever become
// text.

import { clock, el, fillRows } from "./dom.js";

export function testText(test) {
  if (!test) return "not tested";
  const head = test.outcome === "ok" ? "ok" : "failed (" + (test.reason || "unknown") + ")";
  return head + (test.message ? " — " + test.message : "") + " · " + clock(test.on);
}

function counts(pairs) {
  const list = el("dl", "counts");
  for (const [name, label, value] of pairs) {
    const pair = el("div");
    const dd = el("dd", null, value);
    dd.dataset.field = name;
    pair.append(el("dt", null, label), dd);
    list.append(pair);
  }
  return list;
}

function table(columns, rows, className) {
  const node = el("table", className);
  const head = el("tr");
  for (const name of columns) head.append(el("th", null, name));
  node.append(el("thead"), el("tbody"));
  node.tHead.append(head);
  fillRows(node.tBodies[0], rows);
  return node;
}

function listing(title, className, items, emptyText) {
  const part = el("div", className);
  part.append(el("h5", null, title));
  if (!items.length) {
    part.append(el("p", "empty", emptyText));
    return part;
  }
  const list = el("ul");
  for (const text of items) list.append(el("li", null, text));
  part.append(list);
  return part;
}

function byReason(reasons) {
  return Object.entries(reasons || {}).map(([reason, n]) => reason + ": " + n).join(", ");
}

// POST /api/v1/mailboxes/{id}/dry-run: nothing was written and nothing sent; this says what would have been.
export function showDryRun(section, report) {
  section.hidden = false;
  section.classList.remove("error");
  const title = el("h4", null, "Dry run: what a first sync would do (nothing was written, nothing sent)");
  const summary = counts([["fetched", "Read", report.fetched], ["tracked", "Would track", report.tracked],
    ["duplicates", "Already in the CRM", report.duplicates], ["skipped", "Would skip", report.skipped],
    ["quarantined", "Would quarantine", report.quarantined]]);
  const parts = [title, summary];
  if (report.limit_reached) {
    parts.push(el("p", "warn", "Only the first " + report.limit + " messages were read" +
      (report.folders_not_read.length ? "; not read: " + report.folders_not_read.join(", ") : "") + "."));
  }
  parts.push(table(["Folder", "Read", "Would track", "Duplicates", "Skipped", "Quarantined", "Seen before", "Why skipped",
    "Error"], report.folders.map((f) => [f.folder, f.fetched, f.tracked, f.duplicates, f.skipped, f.quarantined,
    f.already_seen, byReason(f.skipped_by_reason), f.error || ""]), "dry-run-folders"));
  const records = [
    ...report.contacts.map((c) => "Contact: " + c.name + (c.email_address ? " <" + c.email_address + ">" : "")),
    ...report.leads.map((l) => "Lead: " + (l.name || l.email_address || "?") + " — " + l.subject),
    ...report.cases.map((c) => "Case: " + c.title + (c.customer ? " (" + c.customer + ")" : "")),
  ];
  parts.push(listing("Records it would create", "would-create", records, "None."));
  parts.push(listing("Acknowledgements it would send", "would-send", report.acknowledgements.map((a) =>
    "To " + a.to.join(", ") + ": " + (a.subject || "(no subject)")), "None."));
  parts.push(listing("Existing records it would link mail to", "would-link", report.linked.map((l) =>
    l.record_type + ": " + l.records + " record(s), " + l.mails + " mail(s)"), "None."));
  const decisions = Object.entries(report.case_decisions || {});
  if (decisions.length) {
    parts.push(listing("Email-to-case decisions", "case-decisions", decisions.map(([k, n]) => k + ": " + n), ""));
  }
  section.replaceChildren(...parts);
}

export function showFailure(section, title, message) {
  section.hidden = false;
  section.classList.add("error");
  section.replaceChildren(el("h4", null, title), el("p", "error", message));
}

// GET /api/v1/mailboxes/{id}/sync-runs, newest first.
export function showRuns(section, runs) {
  section.hidden = false;
  section.classList.remove("error");
  const rows = runs.map((r) => [clock(r.started_on), r.trigger, r.outcome,
    r.seconds === null ? "…" : r.seconds.toFixed(1) + " s", r.fetched, r.tracked, r.duplicates, r.skipped,
    r.quarantined, r.error_reason ? r.error_reason + ": " + (r.error_message || "") : ""]);
  section.replaceChildren(el("h4", null, "Run history"), runs.length
    ? table(["Started", "Trigger", "Outcome", "Took", "Read", "Tracked", "Duplicates", "Skipped", "Quarantined",
      "Error"], rows, "runs-table")
    : el("p", "empty", "No run in the last 90 days."));
}

// GET /api/v1/quarantine: the messages the tracking could not read.
export function showQuarantine(tbody, items, names) {
  fillRows(tbody, items.map((q) => {
    const reason = el("span", null, q.reason);
    reason.title = q.reason_meaning || "";
    return [clock(q.quarantined_on), names.get(q.mailbox_id) || q.mailbox_id, q.folder, reason, q.message];
  }));
}

export function showProfiles(tbody, profiles) {
  const place = (host, port, security) => host ? host + (port ? ":" + port : "") + " (" + security + ")" : "—";
  fillRows(tbody, profiles.map((p) => [p.name, p.incoming_protocol + " " +
    place(p.incoming_host, p.incoming_port, p.incoming_security),
    place(p.outgoing_host, p.outgoing_port, p.outgoing_security), p.username || "—",
    p.has_password ? "set" : "—", p.state || (p.statecode === 0 ? "active" : "inactive")]));
}
