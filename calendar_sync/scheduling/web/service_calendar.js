// The service calendar: resources down, time across; bookings as blocks, non-working time shaded, and the free
// slots of a search for a service highlighted. Record text (subjects, names) is user input: it only ever goes
// into textContent and attributes, never into HTML.
"use strict";

(function () {
  const TOKEN_KEY = "crm.serviceCalendar.token";
  const HOUR = 3600 * 1000;
  const $ = (id) => document.getElementById(id);
  const query = new URLSearchParams(location.search);
  let shown = null; // the last calendar answer

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function say(text, isError) {
    const message = $("message");
    message.textContent = text || "";
    message.classList.toggle("error", Boolean(isError));
  }

  // The token: from the fragment (never sent to a server, and removed from the address bar at once), else from
  // this tab's storage, else asked for.
  function token() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("token")) {
      sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function askToken(text) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("token-form").hidden = false;
    document.body.dataset.state = "token";
    say(text, Boolean(text));
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method: method,
      headers: Object.assign({ Authorization: "Bearer " + token(), Accept: "application/json" },
        body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    if (response.status === 401) {
      askToken("The token was refused: give a valid API token.");
      throw new Error("unauthenticated");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      throw new Error((data && (data.detail || data.title)) || response.statusText);
    }
    return data;
  }

  function zone() {
    return $("time-zone").value.trim() || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  }

  function format(instant, options) {
    return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: shown.time_zone }, options))
      .format(new Date(instant));
  }

  function localDate(instant, timeZone) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: timeZone, year: "numeric", month: "2-digit",
      day: "2-digit" }).format(new Date(instant));
  }

  // Where an instant falls across the track, in percent, clipped to the window.
  function place(node, start, end) {
    const from = Date.parse(shown.start);
    const length = Date.parse(shown.end) - from;
    const left = Math.max(0, (Date.parse(start) - from) / length);
    const right = Math.min(1, (Date.parse(end) - from) / length);
    node.style.left = (left * 100).toFixed(4) + "%";
    node.style.width = (Math.max(0, right - left) * 100).toFixed(4) + "%";
    return node;
  }

  function span(start, end) {
    return format(start, { weekday: "short", hour: "2-digit", minute: "2-digit" }) + " – " +
      format(end, { hour: "2-digit", minute: "2-digit" });
  }

  // Hour marks for a day; midnight marks (days) for a week or a month.
  function ticks() {
    const out = [];
    const end = Date.parse(shown.end);
    const byDay = Date.parse(shown.end) - Date.parse(shown.start) > 2 * 24 * HOUR;
    // A fixed locale to find midnights by; the labels are in the reader's.
    const clock = new Intl.DateTimeFormat("en-GB", { timeZone: shown.time_zone, hour: "2-digit", minute: "2-digit",
      hourCycle: "h23" });
    for (let t = Date.parse(shown.start); t < end; t += HOUR) {
      const iso = new Date(t).toISOString();
      if (!byDay) out.push([iso, format(iso, { hour: "numeric" })]);
      else if (clock.format(new Date(t)) === "00:00" || t === Date.parse(shown.start)) {
        out.push([iso, format(iso, { weekday: "short", day: "numeric", month: "short" })]);
      }
    }
    return out;
  }

  function complement(spans) {
    const out = [];
    let cursor = shown.start;
    for (const s of spans) {
      if (Date.parse(s.start) > Date.parse(cursor)) out.push({ start: cursor, end: s.start });
      if (Date.parse(s.end) > Date.parse(cursor)) cursor = s.end;
    }
    if (Date.parse(cursor) < Date.parse(shown.end)) out.push({ start: cursor, end: shown.end });
    return out;
  }

  // Overlapping bookings (a room that holds several) are stacked in lanes rather than drawn on one another.
  function lanes(items) {
    const ends = [];
    return items.map((item) => {
      let lane = ends.findIndex((end) => end <= Date.parse(item.start));
      if (lane < 0) lane = ends.length;
      ends[lane] = Date.parse(item.end);
      return [item, lane];
    }).map(([item, lane]) => [item, lane, ends.length]);
  }

  function row(resource) {
    const line = el("div", "row resource");
    line.dataset.resourceId = resource.id;
    const label = el("div", "label");
    label.append(el("span", "name", resource.name), el("span", "kind", resource.kind));
    const track = el("div", "track");
    for (const off of complement(resource.working)) {
      track.append(place(el("div", "off"), off.start, off.end));
    }
    for (const meeting of resource.appointments) {
      const block = place(el("div", "meeting", "Busy"), meeting.start, meeting.end);
      block.dataset.start = meeting.start;
      block.title = "In a meeting, " + span(meeting.start, meeting.end);
      track.append(block);
    }
    for (const [booking, lane, count] of lanes(resource.bookings)) {
      const busy = booking.kind === "busy";
      const block = place(el("div", busy ? "booking busy" : "booking", busy ? "Busy" : booking.subject),
        booking.start, booking.end);
      block.style.top = (lane * 100 / count).toFixed(3) + "%";
      block.style.height = (100 / count).toFixed(3) + "%";
      block.dataset.start = booking.start;
      block.dataset.end = booking.end;
      if (!busy) {
        block.dataset.activityId = booking.id;
        block.dataset.status = booking.status;
      }
      block.title = (busy ? "Booked" : booking.subject + " (" + booking.status + ")") + ", " +
        span(booking.start, booking.end);
      track.append(block);
    }
    line.append(label, track);
    return line;
  }

  function draw() {
    const timeline = $("timeline");
    timeline.replaceChildren();
    const head = el("div", "row scale");
    const track = el("div", "track");
    for (const [iso, text] of ticks()) {
      const tick = el("div", "tick", text);
      tick.style.left = place(el("div"), iso, shown.end).style.left;
      track.append(tick);
    }
    head.append(el("div", "label", format(shown.start, { dateStyle: "medium" }) + " · " + shown.time_zone), track);
    timeline.append(head);
    for (const resource of shown.resources) timeline.append(row(resource));
    if (!shown.resources.length) timeline.append(el("p", "empty", "No resources to show."));
  }

  function params() {
    const out = new URLSearchParams();
    for (const name of ["resource_id", "group_id", "site_id"]) {
      for (const value of query.getAll(name)) out.append(name, value);
    }
    if (query.get("start") && query.get("end")) {
      out.set("start", query.get("start"));
      out.set("end", query.get("end"));
    } else {
      if ($("date").value) out.set("date", $("date").value);
      out.set("view", $("view").value);
    }
    out.set("time_zone", zone());
    return out;
  }

  async function load() {
    document.body.dataset.state = "loading";
    say("Loading…");
    shown = await api("GET", "api/v1/service-calendar?" + params().toString());
    if (!$("date").value) $("date").value = localDate(shown.start, shown.time_zone);
    draw();
    say("");
    document.body.dataset.state = "ready";
  }

  async function loadServices() {
    const page = await api("GET", "api/v1/services?limit=500");
    const select = $("service");
    const services = page.items.slice().sort((a, b) => a.name.localeCompare(b.name));
    for (const service of services) {
      const option = el("option", null, service.name);
      option.value = service.id;
      select.append(option);
    }
    if (query.get("service_id")) select.value = query.get("service_id");
  }

  function clearSlots() {
    for (const slot of document.querySelectorAll(".slot-free")) slot.remove();
    $("proposals").replaceChildren();
    $("proposals-panel").hidden = true;
  }

  // The search covers the window shown, laid out on the shown zone's clock; each proposal's slot is marked on
  // the row of every resource it would take.
  async function search() {
    const serviceId = $("service").value;
    if (!serviceId || !shown) return;
    document.body.dataset.state = "searching";
    say("Searching…");
    clearSlots();
    const found = await api("POST", "api/v1/services/" + encodeURIComponent(serviceId) + "/available-times", {
      start: shown.start, end: shown.end, time_zone: shown.time_zone, max_results: 50,
    });
    for (const proposal of found.proposals) {
      for (const resource of proposal.resources) {
        const line = document.querySelector('.row.resource[data-resource-id="' + CSS.escape(resource.id) + '"]');
        if (!line) continue; // a resource outside the rows shown (another site, another group)
        const slot = place(el("div", "slot-free"), proposal.start, proposal.end);
        slot.dataset.resourceId = resource.id;
        slot.dataset.start = proposal.start;
        slot.dataset.end = proposal.end;
        slot.title = "Free: " + span(proposal.start, proposal.end);
        line.querySelector(".track").append(slot);
      }
      const item = el("li", "proposal", span(proposal.start, proposal.end) + " — " +
        proposal.resources.map((r) => r.name).join(", "));
      item.dataset.start = proposal.start;
      $("proposals").append(item);
    }
    $("proposals-panel").hidden = false;
    say(found.proposals.length ? found.proposals.length + " free times" : "No free time in this window.");
    document.body.dataset.state = "searched";
  }

  function shift(step) {
    const [y, m, d] = ($("date").value || localDate(new Date().toISOString(), zone())).split("-").map(Number);
    const view = $("view").value;
    const day = new Date(Date.UTC(y, m - 1, d));
    if (view === "month") day.setUTCMonth(day.getUTCMonth() + step, 1);
    else day.setUTCDate(day.getUTCDate() + step * (view === "week" ? 7 : 1));
    $("date").value = day.toISOString().slice(0, 10);
    navigate();
  }

  // Moving in time leaves an explicit start and end behind: the date and the view decide from then on.
  function navigate() {
    query.delete("start");
    query.delete("end");
    if ($("date").value) query.set("date", $("date").value);
    else query.delete("date"); // today, as the server's clock has it in the zone
    query.set("view", $("view").value);
    query.set("time_zone", zone());
    history.replaceState(null, "", location.pathname + "?" + query.toString());
    run(load);
  }

  function run(work) {
    return work().catch((error) => {
      if (error.message !== "unauthenticated") {
        say(error.message, true);
        document.body.dataset.state = "error";
      }
    });
  }

  async function start() {
    await load();
    await loadServices();
    if (query.get("service_id")) await search();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("date").value = query.get("date") || "";
    $("view").value = ["day", "week", "month"].includes(query.get("view")) ? query.get("view") : "week";
    $("time-zone").value = query.get("time_zone") || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      $("token").value = "";
      $("token-form").hidden = true;
      run(start);
    });
    $("view-form").addEventListener("submit", (event) => { event.preventDefault(); navigate(); });
    $("view").addEventListener("change", navigate);
    $("previous").addEventListener("click", () => shift(-1));
    $("next").addEventListener("click", () => shift(1));
    $("today").addEventListener("click", () => { $("date").value = ""; navigate(); });
    $("search-form").addEventListener("submit", (event) => { event.preventDefault(); run(search); });
    $("clear-search").addEventListener("click", () => { clearSlots(); say(""); });
    if (token()) run(start);
    else askToken("");
  });
})();
