// A small stand-in for Office.js (https://appsforoffice.microsoft.com/lib/1/hosted/office.js), for the task pane's
// browser tests only: the test answers the CDN address with this file. What Outlook would hold comes from
// window.__officeStubConfig, set by the test's init script before the page loads:
//   { token: "crm_...", tokenError: {code, message} (getAccessToken fails), item: {...} or null,
//     userProfile: {...}, sets: {"Mailbox": "1.13"} }
// An item is given as Outlook's read mode shows it: itemType "message" or "appointment", itemId, subject,
// from/organizer {displayName, emailAddress}, to/cc/requiredAttendees/optionalAttendees arrays, seriesId,
// internetMessageId, conversationId, and `shared` ({owner, targetMailbox}) for an item in a shared mailbox.
// window.__officeStub.selectItem(item) swaps the item and fires ItemChanged, as Outlook does for a pinned pane.
// An item with `compose: true` is a draft as compose mode shows it: subject, from, to and cc are objects with
// getAsync (the subject setAsync too), the body has getAsync, getTypeAsync (`bodyType`, default "html") and
// setSelectedDataAsync; what the pane sets is recorded in window.__officeStub.composed {subject, inserted: [...]}.
(function () {
  "use strict";
  const config = window.__officeStubConfig || {};
  const handlers = [];
  const stub = { tokenRequests: [], handlers: handlers };

  function succeeded(value) {
    return { status: "succeeded", value: value };
  }

  function answer(options, callback, value) {
    const done = typeof options === "function" ? options : callback;
    setTimeout(() => done(succeeded(value)), 0);
  }

  function composeField(value, name) {
    const field = { getAsync: (options, callback) => answer(options, callback, value) };
    if (name) {
      field.setAsync = function (data, options, callback) {
        value = data;
        stub.composed[name] = data;
        answer(options, callback, undefined);
      };
    }
    return field;
  }

  function makeDraft(spec) {
    stub.composed = { subject: null, inserted: [] };
    const body = {
      getAsync: (type, options, callback) => answer(options, callback, spec.body || ""),
      getTypeAsync: (options, callback) => answer(options, callback, spec.bodyType || "html"),
      setSelectedDataAsync: function (data, options, callback) {
        stub.composed.inserted.push({ data: data, coercionType: (options && options.coercionType) || "text" });
        answer(options, callback, undefined);
      },
    };
    return {
      itemType: "message", conversationId: spec.conversationId || null, body: body,
      subject: composeField(spec.subject || "", "subject"), from: composeField(spec.from || null),
      to: composeField(spec.to || []), cc: composeField(spec.cc || []),
    };
  }

  function makeItem(spec) {
    if (!spec) return null;
    if (spec.compose) return makeDraft(spec);
    const item = Object.assign({ to: [], cc: [], requiredAttendees: [], optionalAttendees: [] }, spec);
    item.getSharedPropertiesAsync = function (options, callback) {
      const done = typeof options === "function" ? options : callback;
      setTimeout(() => done(spec.shared ? succeeded(spec.shared)
        : { status: "failed", error: { code: 9041, message: "The item is not in a shared folder." } }), 0);
    };
    return item;
  }

  const mailbox = {
    item: makeItem(config.item),
    userProfile: Object.assign({ displayName: "Rita Rep", emailAddress: "rita@contoso.example",
                                 timeZone: "UTC", accountType: "enterprise" }, config.userProfile || {}),
    convertToRestId: function (id, version) {
      stub.restVersion = version;
      return String(id).replace(/\//g, "-").replace(/\+/g, "_"); // what Outlook does to an EWS id
    },
    addHandlerAsync: function (type, handler, options, callback) {
      const done = typeof options === "function" ? options : callback;
      handlers.push({ type: type, handler: handler });
      if (done) setTimeout(() => done(succeeded(undefined)), 0);
    },
  };

  const sets = Object.assign({ Mailbox: "1.13", IdentityAPI: "1.3" }, config.sets || {});
  function versionAtLeast(have, want) {
    const a = String(have).split(".").map(Number);
    const b = String(want || "1.1").split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  }

  window.Office = {
    onReady: function (callback) {
      const info = { host: "Outlook", platform: "OfficeOnline" };
      const ready = new Promise((resolve) => setTimeout(() => resolve(info), 0));
      if (callback) ready.then(callback);
      return ready;
    },
    EventType: { ItemChanged: "olkItemSelectedChanged" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    CoercionType: { Html: "html", Text: "text" },
    MailboxEnums: {
      RestVersion: { v1_0: "v1.0", v2_0: "v2.0", Beta: "beta" },
      ItemType: { Message: "message", Appointment: "appointment" },
    },
    context: {
      mailbox: mailbox,
      requirements: {
        isSetSupported: function (name, version) {
          return name in sets && versionAtLeast(sets[name], version);
        },
      },
    },
    auth: {
      getAccessToken: function (options) {
        stub.tokenRequests.push(options || {});
        if (config.tokenError) return Promise.reject(config.tokenError);
        return Promise.resolve(config.token);
      },
    },
  };

  stub.selectItem = function (spec) {
    mailbox.item = makeItem(spec);
    for (const h of handlers) {
      if (h.type === window.Office.EventType.ItemChanged) h.handler({ type: h.type });
    }
  };
  window.__officeStub = stub;
})();
