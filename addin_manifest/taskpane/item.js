// What the pane needs of the Outlook item in view, read once per item through Office.js into a plain object:
// its kind, ids, subject and people. Read mode gives values; compose mode gives objects with getAsync, read too.

function callAsync(target, method) {
  return new Promise((resolve, reject) => {
    target[method]((result) => {
      if (result.status === "failed") reject(result.error || new Error(method + " failed"));
      else resolve(result.value);
    });
  });
}

async function value(field) {
  if (field && typeof field.getAsync === "function") return callAsync(field, "getAsync");
  return field;
}

function person(details) {
  if (!details || !details.emailAddress) return null;
  return { name: details.displayName || "", address: details.emailAddress };
}

async function people(field) {
  const list = (await value(field)) || [];
  return list.map(person).filter(Boolean);
}

// The shared or delegate mailbox the item is in (null in the user's own): the server tracks it from there.
async function sharedMailbox(item) {
  if (typeof item.getSharedPropertiesAsync !== "function") return null;
  try {
    const shared = await callAsync(item, "getSharedPropertiesAsync");
    return (shared && (shared.targetMailbox || shared.owner)) || null;
  } catch {
    return null; // not in a shared folder
  }
}

// Office.js' compose mode: the subject can be set and text inserted in the body (read mode has neither).
function isComposing(item) {
  return Boolean((item.subject && typeof item.subject.setAsync === "function")
    || (item.body && typeof item.body.setSelectedDataAsync === "function"));
}

export async function readItem(item) {
  const mailbox = Office.context.mailbox;
  const appointment = item.itemType === "appointment";
  const itemId = item.itemId || null; // none while composing a new item
  const from = appointment ? person(await value(item.organizer)) : person(await value(item.from));
  const to = appointment
    ? [...await people(item.requiredAttendees), ...await people(item.optionalAttendees)]
    : await people(item.to);
  return {
    kind: appointment ? "appointment" : "message",
    itemId: itemId,
    restId: itemId ? mailbox.convertToRestId(itemId, Office.MailboxEnums.RestVersion.v2_0) : null,
    internetMessageId: item.internetMessageId || null,
    conversationId: item.conversationId || null,
    seriesId: item.seriesId || null,
    subject: (await value(item.subject)) || "",
    from: from,
    to: to,
    cc: appointment ? [] : await people(item.cc),
    mailbox: await sharedMailbox(item),
    composing: isComposing(item), // a draft: templates can be inserted into it
  };
}

// GET /addin/api/context's query for the item: a meeting's organizer is its sender, its attendees its `to`.
export function contextQuery(snapshot) {
  return {
    sender: snapshot.from ? snapshot.from.address : null,
    to: snapshot.to.map((p) => p.address),
    cc: snapshot.cc.map((p) => p.address),
    internet_message_id: snapshot.internetMessageId,
  };
}

// "Doe, Jane" or "Jane Q. Doe" -> {first, last}; an address alone gives its local part as the last name.
export function splitName(from) {
  if (!from) return { first: "", last: "" };
  const name = from.name.trim();
  if (!name || name === from.address) return { first: "", last: from.address.split("@")[0] };
  if (name.includes(",")) {
    const [last, first] = name.split(",", 2).map((s) => s.trim());
    return { first: first, last: last };
  }
  const words = name.split(/\s+/);
  if (words.length === 1) return { first: "", last: words[0] };
  return { first: words.slice(0, -1).join(" "), last: words.at(-1) };
}

