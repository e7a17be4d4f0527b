// The admin console: sets up email server profiles and mailboxes, tests, approves, enables, previews and syncs
// them, and shows every mailbox's sync health live (GET /api/v1/sync-health every two seconds). It only speaks
// to the API, with the administrator's token; what the API says goes into the page as text.

import { api, ApiError, listAll, setToken, token } from "./api.js";
import { $, clock, keyed, say, setText } from "./dom.js";
import { fillOwners, fillProfiles, setupForms } from "./forms.js";
import { mailboxCard, showMailbox } from "./health.js";
import { showDryRun, showFailure, showProfiles, showQuarantine, showRuns, testText } from "./reports.js";

const POLL_MS = 2000;
const QUARANTINE_SHOWN = 100;
const state = {
  records: new Map(), // mailbox id -> the mailbox (GET /mailboxes): its last test and options
  health: new Map(), // mailbox id -> its latest health
  quarantined: null, // the quarantine's size at the last poll: the table is read again when it changes
  timer: null,
  inFlight: null,
  again: false,
  pollFailed: false,
};

function setState(name) {
  document.body.dataset.state = name;
}

function stopPolling() {
  clearTimeout(state.timer);
  state.timer = null;
}

function askToken(text) {
  setToken(null);
  stopPolling();
  $("console").hidden = true;
  $("token-form").hidden = false;
  setState("token");
  say(text, Boolean(text));
}

// A refused token asks for another (true); the caller says anything else.
function refused(error) {
  if (error instanceof ApiError && error.status === 401) {
    askToken("The token was refused: give a valid API token.");
    return true;
  }
  return false;
}

async function loadMailboxes() {
  const records = await listAll("mailboxes");
  state.records = new Map(records.map((r) => [r.id, r]));
}

async function loadProfiles() {
  const profiles = await listAll("email-server-profiles");
  fillProfiles(profiles);
  showProfiles($("profiles").tBodies[0], profiles);
}

async function loadQuarantine() {
  const page = await api("GET", "quarantine?limit=" + QUARANTINE_SHOWN);
  const names = new Map([...state.health.values()].map((h) => [h.mailbox_id, h.name]));
  showQuarantine($("quarantine").tBodies[0], page.items, names);
  $("quarantine-empty").hidden = page.items.length > 0;
}

// The run history, when open, follows each new pass.
function followRuns(card, health) {
  const seen = health.stage + "|" + (health.last_attempt_on || "");
  const changed = card.dataset.seen !== undefined && card.dataset.seen !== seen;
  card.dataset.seen = seen;
  if (changed && !card.querySelector(".runs").hidden) loadRuns(card).catch(() => {});
}

async function loadHealth() {
  const list = await api("GET", "sync-health");
  if (list.some((h) => !state.records.has(h.mailbox_id))) await loadMailboxes();
  state.health = new Map(list.map((h) => [h.mailbox_id, h]));
  keyed($("mailboxes"), list, (h) => h.mailbox_id, (h) => mailboxCard(h, actions), (card, h) => {
    showMailbox(card, h, state.records.get(h.mailbox_id), actions);
    followRuns(card, h);
  });
  $("no-mailboxes").hidden = list.length > 0;
  const quarantined = list.reduce((n, h) => n + h.quarantined, 0);
  if (state.quarantined !== null && quarantined !== state.quarantined) await loadQuarantine();
  state.quarantined = quarantined;
  setText($("updated"), "Live · updated " + clock(new Date().toISOString()));
}

// One health read at a time; asked for during one, another follows it.
function refresh() {
  if (state.inFlight) {
    state.again = true;
    return state.inFlight;
  }
  state.inFlight = (async () => {
    do {
      state.again = false;
      await loadHealth();
    } while (state.again);
  })().finally(() => { state.inFlight = null; });
  return state.inFlight;
}

async function tick() {
  try {
    await refresh();
    if (state.pollFailed) say("");
    state.pollFailed = false;
  } catch (error) {
    if (refused(error)) return;
    state.pollFailed = true;
    say("Could not refresh: " + error.message, true);
  }
  if (document.body.dataset.state === "ready") state.timer = setTimeout(tick, POLL_MS);
}

async function loadRuns(card) {
  showRuns(card.querySelector(".runs"), await api("GET", "mailboxes/" + card.dataset.mailboxId + "/sync-runs?limit=20"));
}

// Runs one action of a card: its button is busy meanwhile, and the outcome is said on the card.
async function act(card, buttonClass, busyText, work) {
  const button = card.querySelector("button." + buttonClass);
  const line = card.querySelector(".outcome");
  const before = [line.textContent, line.classList.contains("error")];
  button.disabled = true;
  setText(line, busyText);
  line.classList.remove("error");
  try {
    const [text, isError] = (await work(card.dataset.mailboxId)) || before; // nothing to say: as it was
    setText(line, text);
    line.classList.toggle("error", Boolean(isError));
  } catch (error) {
    if (refused(error)) return;
    setText(line, error.message);
    line.classList.add("error");
  } finally {
    button.disabled = false;
  }
  refresh().catch(() => {}); // the next poll says what went wrong
}

function keep(record) {
  state.records.set(record.id, record);
  return record;
}

const actions = {
  test: (card) => act(card, "test", "Testing the connection…", async (id) => {
    const test = keep(await api("POST", "mailboxes/" + id + "/test")).last_test;
    return ["Connection test: " + testText(test), !test || test.outcome !== "ok"];
  }),
  approve: (card) => act(card, "approve", "Approving…", async (id) => {
    keep(await api("POST", "mailboxes/" + id + "/approve"));
    return ["Approved.", false];
  }),
  toggleIncoming: (card) => act(card, "incoming-toggle", "Saving…", async (id) => {
    const enable = !state.health.get(id).incoming_enabled;
    const record = keep(await api("PATCH", "mailboxes/" + id, { incoming_enabled: enable }));
    return [record.incoming_enabled ? "Incoming sync enabled." : "Incoming sync disabled.", false];
  }),
  syncNow: (card) => act(card, "sync-now", "Asking the workers…", async (id) => {
    const request = await api("POST", "mailboxes/" + id + "/sync-requests");
    if (!request.may_sync) return ["Sync requested, but the mailbox may not sync: " + request.blocked_reason, true];
    return ["Sync requested: a worker picks it up within seconds.", false];
  }),
  dryRun: (card) => act(card, "dry-run-button", "Dry run: reading the mailbox…", async (id) => {
    const section = card.querySelector(".dry-run");
    try {
      showDryRun(section, await api("POST", "mailboxes/" + id + "/dry-run", {}));
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 401) throw error;
      showFailure(section, "Dry run failed", error.message);
      return ["Dry run failed.", true];
    }
    return ["Dry run done: nothing was written, nothing sent.", false];
  }),
  history: (card) => act(card, "history-button", "Reading the run history…", async () => {
    const section = card.querySelector(".runs");
    if (!section.hidden) section.hidden = true;
    else await loadRuns(card);
    return null;
  }),
  dismiss: async (card, alertId) => {
    const line = card.querySelector(".outcome");
    try {
      await api("POST", "mailboxes/" + card.dataset.mailboxId + "/alerts/" + alertId + "/dismiss");
      setText(line, "Alert dismissed.");
      line.classList.remove("error");
    } catch (error) {
      if (refused(error)) return;
      setText(line, error.message);
      line.classList.add("error");
    }
    refresh().catch(() => {});
  },
};

async function created(kind) {
  if (kind === "profile") await loadProfiles();
  else {
    await loadMailboxes();
    await refresh();
  }
}

async function start() {
  setState("loading");
  say("Loading…");
  try {
    const [users, queues] = await Promise.all([listAll("users"), listAll("queues"), loadProfiles(), loadMailboxes()]);
    fillOwners(users, queues);
    await refresh();
    await loadQuarantine();
  } catch (error) {
    if (refused(error)) return;
    $("console").hidden = true;
    setState("error");
    if (error instanceof ApiError && error.status === 403) {
      setToken(null);
      $("token-form").hidden = false; // another token may open it
      say("This console needs an administrator's token: " + error.message, true);
    } else say(error.message, true);
    return;
  }
  $("console").hidden = false;
  setState("ready");
  say("");
  state.timer = setTimeout(tick, POLL_MS);
}

setupForms(created);
$("quarantine-refresh").addEventListener("click", () => loadQuarantine().catch((e) => refused(e) || say(e.message, true)));
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setToken($("token").value.trim());
  $("token").value = "";
  $("token-form").hidden = true;
  start();
});
if (token()) start();
else askToken("");
