// The two set-up forms: an email server profile (IMAP in, SMTP out) and a mailbox (a user's or a queue's, on a
// profile, with its login and tracking options). Both post to the API as they are; the API checks everything
// and its problem detail is shown beside the form.

import { api } from "./api.js";
import { $, el, setText } from "./dom.js";

const owners = { user: [], queue: [] };
let autoAddress = ""; // the address filled in from the chosen user, replaced when another is chosen

function optional(id) {
  const value = $(id).value.trim();
  return value === "" ? undefined : value;
}

function optionalNumber(id) {
  const value = $(id).value.trim();
  return value === "" ? undefined : Number(value);
}

function options(select, pairs, placeholder) {
  const previous = select.value;
  const nodes = pairs.map(([value, label]) => {
    const option = el("option", null, label);
    option.value = value;
    return option;
  });
  if (placeholder) {
    const first = el("option", null, placeholder);
    first.value = "";
    nodes.unshift(first);
  }
  select.replaceChildren(...nodes);
  if (pairs.some(([value]) => value === previous)) select.value = previous;
}

function showOwners() {
  options($("mailbox-owner"), owners[$("mailbox-owner-type").value].map((o) => [o.id, o.label]), "Choose…");
}

export function fillOwners(users, queues) {
  owners.user = users.filter((u) => !u.is_disabled).map((u) => ({ id: u.id, label: u.full_name + " <" + u.email + ">",
    address: u.email }));
  owners.queue = queues.map((q) => ({ id: q.id, label: q.name + (q.email_address ? " <" + q.email_address + ">" : ""),
    address: q.email_address || "" }));
  showOwners();
}

export function fillProfiles(profiles) {
  options($("mailbox-profile"), profiles.map((p) => [p.id, p.name + " (" + (p.incoming_host || p.incoming_protocol) +
    ")"]), profiles.length ? null : "Add a profile first");
}

function report(form, text, isError) {
  const line = form.querySelector(".form-message");
  setText(line, text);
  line.classList.toggle("error", Boolean(isError));
}

function profileBody() {
  return {
    name: $("profile-name").value.trim(), incoming_protocol: "imap", incoming_host: optional("profile-in-host"),
    incoming_port: optionalNumber("profile-in-port"), incoming_security: $("profile-in-security").value,
    outgoing_protocol: "smtp", outgoing_host: optional("profile-out-host"),
    outgoing_port: optionalNumber("profile-out-port"), outgoing_security: $("profile-out-security").value,
    username: optional("profile-username"), password: optional("profile-password"),
  };
}

function mailboxBody() {
  const folders = $("mailbox-folders").value.split(",").map((f) => f.trim()).filter(Boolean);
  return {
    regarding_type: $("mailbox-owner-type").value, regarding_id: $("mailbox-owner").value || undefined,
    server_profile_id: $("mailbox-profile").value || undefined, email_address: $("mailbox-address").value.trim(),
    name: optional("mailbox-name"), username: optional("mailbox-username"), password: optional("mailbox-password"),
    incoming_filter: optional("mailbox-filter"), folders: folders.length ? folders : undefined,
    sync_interval_seconds: optionalNumber("mailbox-interval"), incoming_enabled: $("mailbox-incoming").checked,
  };
}

async function submit(form, work) {
  const submitButton = form.querySelector("button[type=submit]");
  submitButton.disabled = true;
  report(form, "Saving…", false);
  try {
    report(form, await work(), false);
  } catch (error) {
    report(form, error.message, true);
  } finally {
    submitButton.disabled = false;
  }
}

// `created(kind, record)` reloads what the console shows after a profile or a mailbox was added.
export function setupForms(created) {
  $("mailbox-owner-type").addEventListener("change", showOwners);
  $("mailbox-owner").addEventListener("change", () => {
    const list = owners[$("mailbox-owner-type").value];
    const chosen = list.find((o) => o.id === $("mailbox-owner").value);
    const address = $("mailbox-address");
    if (chosen && (address.value === "" || address.value === autoAddress)) address.value = autoAddress = chosen.address;
  });
  $("profile-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submit(form, async () => {
      const profile = await api("POST", "email-server-profiles", profileBody());
      form.reset();
      await created("profile", profile);
      $("mailbox-profile").value = profile.id;
      return "Profile “" + profile.name + "” added.";
    });
  });
  $("mailbox-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submit(form, async () => {
      const mailbox = await api("POST", "mailboxes", mailboxBody());
      form.reset();
      autoAddress = "";
      showOwners();
      await created("mailbox", mailbox);
      return "Mailbox “" + mailbox.name + "” added: test its connection, then approve it.";
    });
  });
}
