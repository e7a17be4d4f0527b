// One mailbox's card: its sync health as GET /api/v1/sync-health gives it, refreshed in place at every poll,
// and the buttons that act on it. The card is made once per mailbox; only its texts change afterwards.

import { button, clock, ago, duration, el, keyed, secondsUntil, setText } from "./dom.js";
import { testText } from "./reports.js";

const FIELDS = [
  ["stage", "Stage"],
  ["last_success_on", "Last successful sync"],
  ["tracked_today", "Tracked today"],
  ["lag", "Lag"],
  ["next_run", "Next run"],
  ["throttle", "Throttled"],
  ["progress", "Running pass"],
  ["error", "Current error"],
  ["syncing", "May sync"],
  ["failures", "Failures in a row"],
  ["quarantined", "Quarantined"],
  ["backlog", "Backlog"],
  ["interval", "Interval"],
  ["last_test", "Last connection test"],
  ["worker", "Worker"],
];
const FOLDER_COLUMNS = ["Folder", "Cursor age", "Last read", "Last tracked", "Error"];

function field(card, name) {
  return card.querySelector('[data-field="' + name + '"]');
}

export function mailboxCard(health, actions) {
  const card = el("article", "mailbox");
  card.dataset.mailboxId = health.mailbox_id;
  const head = el("header");
  for (const [name, tag, className] of [["name", "h3", "name"], ["email_address", "span", "address"],
    ["approval", "span", "badge"], ["incoming", "span", "badge"]]) {
    const node = el(tag, className);
    node.dataset.field = name;
    head.append(node);
  }
  const stats = el("dl", "stats");
  for (const [name, label] of FIELDS) {
    const pair = el("div");
    const value = el("dd");
    value.dataset.field = name;
    pair.append(el("dt", null, label), value);
    stats.append(pair);
  }
  const alerts = el("ul", "alerts");
  alerts.setAttribute("aria-label", "Alerts");
  const folders = el("table", "folders");
  const headRow = el("tr");
  for (const name of FOLDER_COLUMNS) headRow.append(el("th", null, name));
  folders.append(el("caption", null, "Folders"), el("thead"), el("tbody"));
  folders.tHead.append(headRow);
  const bar = el("div", "actions");
  const act = (name) => () => actions[name](card);
  bar.append(button("Test connection", "test", act("test")), button("Approve", "approve", act("approve")),
    button("Enable incoming sync", "incoming-toggle", act("toggleIncoming")),
    button("Sync now", "sync-now", act("syncNow")), button("Dry run", "dry-run-button", act("dryRun")),
    button("Run history", "history-button", act("history")));
  const outcome = el("p", "outcome");
  outcome.setAttribute("role", "status");
  const dryRun = el("section", "dry-run");
  const runs = el("section", "runs");
  dryRun.hidden = runs.hidden = true;
  card.append(head, stats, alerts, folders, bar, outcome, dryRun, runs);
  return card;
}

function nextRun(health) {
  if (!health.may_sync) return "— (not syncing)";
  if (health.stage === "running") return "running now";
  if (health.stage === "queued") return "queued for a worker";
  if (!health.next_run_on) return "due now";
  const wait = secondsUntil(health.next_run_on);
  return wait <= 0 ? "due now" : "in " + duration(wait) + " (" + clock(health.next_run_on) + ")";
}

function progressText(progress) {
  if (!progress) return "—";
  const parts = [progress.folder || "starting"];
  if (progress.done !== undefined) parts.push((progress.done ?? 0) + (progress.total ? " of " + progress.total : "") +
    " read");
  if (progress.tracked !== undefined) parts.push((progress.tracked ?? 0) + " tracked");
  return parts.join(" · ");
}

function errorText(health) {
  if (!health.last_error_reason && !health.last_error_message) return "none";
  return (health.last_error_reason || "error") + ": " + (health.last_error_message || "");
}

function showAlerts(list, alerts, actions, card) {
  keyed(list, alerts, (a) => a.id, (alert) => {
    const item = el("li", "alert");
    item.dataset.alertId = alert.id;
    item.append(el("span", "level"), el("span", "code"), el("span", "text"), el("span", "count"),
      button("Dismiss", "dismiss", () => actions.dismiss(card, alert.id)));
    return item;
  }, (item, alert) => {
    item.className = "alert level-" + alert.level;
    setText(item.querySelector(".level"), alert.level);
    setText(item.querySelector(".code"), alert.code);
    setText(item.querySelector(".text"), alert.message);
    setText(item.querySelector(".count"), (alert.occurrences > 1 ? "×" + alert.occurrences + ", " : "") + "last " +
      clock(alert.last_on));
  });
}

function showFolders(tbody, folders) {
  keyed(tbody, folders, (f) => f.folder, () => {
    const row = el("tr");
    for (let i = 0; i < FOLDER_COLUMNS.length; i++) row.append(el("td"));
    return row;
  }, (row, f) => {
    const cells = row.children;
    setText(cells[0], f.folder);
    setText(cells[1], f.cursor_age_seconds === null ? "never synced" : duration(f.cursor_age_seconds));
    setText(cells[2], f.last_fetched ?? "—");
    setText(cells[3], f.last_tracked ?? "—");
    setText(cells[4], (f.last_error || "") + (f.retry_after ? " (retry after " + duration(f.retry_after) + ")" : ""));
  });
}

// `record` is the mailbox as GET /api/v1/mailboxes gives it (its last test, options); the health is fresher for
// what both hold.
export function showMailbox(card, health, record, actions) {
  card.dataset.stage = health.stage;
  setText(field(card, "name"), health.name);
  setText(field(card, "email_address"), health.email_address + " · " + health.protocol);
  setText(field(card, "approval"), health.approval_status === "approved" ? "approved" : "pending approval");
  setText(field(card, "incoming"), health.incoming_enabled ? "incoming sync on" : "incoming sync off");
  field(card, "approval").classList.toggle("warn", health.approval_status !== "approved");
  field(card, "incoming").classList.toggle("warn", !health.incoming_enabled);
  const stage = field(card, "stage");
  setText(stage, health.stage);
  stage.className = "stage stage-" + health.stage;
  setText(field(card, "last_success_on"), ago(health.last_success_on));
  setText(field(card, "tracked_today"), health.tracked_today);
  setText(field(card, "lag"), duration(health.lag_seconds));
  setText(field(card, "next_run"), nextRun(health));
  const throttled = health.throttled_until && secondsUntil(health.throttled_until) > 0;
  setText(field(card, "throttle"), throttled ? "until " + clock(health.throttled_until) : "no");
  setText(field(card, "progress"), progressText(health.progress));
  setText(field(card, "error"), errorText(health));
  field(card, "error").classList.toggle("error", Boolean(health.last_error_reason || health.last_error_message));
  setText(field(card, "syncing"), health.may_sync ? "yes" : "no: " + (health.blocked_reason || "blocked"));
  setText(field(card, "failures"), health.failure_count);
  setText(field(card, "quarantined"), health.quarantined);
  setText(field(card, "backlog"), health.backlog + (health.pending_send ? " (" + health.pending_send + " to send)" : ""));
  setText(field(card, "interval"), "every " + duration(health.sync_interval_seconds));
  setText(field(card, "last_test"), record ? testText(record.last_test) : "…");
  setText(field(card, "worker"), health.worker || "—");
  card.querySelector("button.approve").hidden = health.approval_status === "approved";
  setText(card.querySelector("button.incoming-toggle"),
    health.incoming_enabled ? "Disable incoming sync" : "Enable incoming sync");
  showAlerts(card.querySelector(".alerts"), health.alerts, actions, card);
  showFolders(card.querySelector(".folders tbody"), health.folders);
}
