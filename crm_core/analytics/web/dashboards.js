// The dashboards: sales, service, marketing and mail figures from /api/v1/dashboards/*, drawn with plotly.js.
// Every text from the API is set as text (textContent) or given to Plotly as a plain label (charts.js).

import { ApiError, get, setToken, token } from "./api.js";
import { bars, lines, pie, stacked } from "./charts.js";

const $ = (id) => document.getElementById(id);

function say(text, state) {
  $("message").textContent = text;
  document.body.dataset.state = state;
}

function money(value) {
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: 2 });
}

function drawSales(sales) {
  const rate = sales.win_rate;
  $("win-rate").textContent = rate.rate === null ? "–" : Math.round(rate.rate * 100) + " %";
  $("win-detail").textContent = `${rate.won} won, ${rate.lost} lost from ${rate.start} to ${rate.end}`;
  bars("chart-pipeline-stage", "Open pipeline by stage", sales.by_stage.map((r) => r.label), [
    { name: "Estimated value", values: sales.by_stage.map((r) => r.value) },
    { name: "Weighted", values: sales.by_stage.map((r) => r.weighted) }]);
  bars("chart-pipeline-owner", "Open pipeline by owner", sales.by_owner.map((r) => r.label), [
    { name: "Estimated value", values: sales.by_owner.map((r) => r.value) }]);
  bars("chart-forecast", "Forecast by month of close", sales.forecast.map((r) => r.month), [
    { name: "Weighted value", values: sales.forecast.map((r) => r.weighted) },
    { name: "Estimated value", values: sales.forecast.map((r) => r.value) }]);
}

function drawService(service) {
  $("open-cases").textContent = String(service.open_cases);
  bars("chart-cases-queue", "Open cases by queue", service.by_queue.map((r) => r.label), [
    { name: "Cases", values: service.by_queue.map((r) => r.count) }]);
  pie("chart-cases-priority", "Open cases by priority", service.by_priority.map((r) => r.label),
    service.by_priority.map((r) => r.count));
  const kpis = [...new Set(service.by_sla.map((r) => r.kpi))];
  const statuses = [...new Set(service.by_sla.map((r) => r.status))];
  stacked("chart-cases-sla", "SLA state of open cases", kpis.map((k) => k.replace("_", " ")), statuses.map((s) => ({
    name: s, values: kpis.map((k) => (service.by_sla.find((r) => r.kpi === k && r.status === s) || { count: 0 }).count),
  })));
}

function drawMarketing(marketing) {
  const campaigns = marketing.campaigns;
  bars("chart-campaign-cost", "Campaign cost per response and per won deal", campaigns.map((c) => c.name), [
    { name: "Cost per response", values: campaigns.map((c) => c.cost_per_response ?? 0) },
    { name: "Cost per won deal", values: campaigns.map((c) => c.cost_per_won_deal ?? 0) }]);
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
}

function drawMail(mail) {
  const names = [...new Set(mail.tracked.map((r) => r.mailbox))];
  const days = [...new Set(mail.tracked.map((r) => r.day))].sort();
  lines("chart-mail-tracked", `Mail tracked per day (last ${mail.days} days)`, names.map((n) => ({
    name: n, x: days,
    values: days.map((d) => (mail.tracked.find((r) => r.mailbox === n && r.day === d) || { tracked: 0 }).tracked),
  })));
  $("mail-health").hidden = mail.mailboxes.length === 0;
  const body = $("mail-health").tBodies[0];
  body.replaceChildren();
  for (const m of mail.mailboxes) {
    const row = document.createElement("tr");
    row.dataset.stage = m.stage;
    cell(row, m.mailbox);
    cell(row, m.stage + (m.may_sync ? "" : " (blocked)"));
    cell(row, m.lag_seconds === null ? "–" : Math.round(m.lag_seconds / 60) + " min");
    cell(row, String(m.failure_count));
    cell(row, String(m.tracked_today));
    cell(row, String(m.backlog));
    cell(row, String(m.open_alerts));
    cell(row, m.last_error_reason || "");
    body.append(row);
  }
}

async function load() {
  if (!token()) {
    $("token-form").hidden = false;
    say("Give an API token to see the dashboards.", "token");
    return;
  }
  say("Loading…", "loading");
  try {
    const [sales, service, marketing] = await Promise.all(
      [get("dashboards/sales"), get("dashboards/service"), get("dashboards/marketing")]);
    $("dashboards").hidden = false;
    drawSales(sales);
    drawService(service);
    drawMarketing(marketing);
    try {
      drawMail(await get("dashboards/mail"));
    } catch (error) { // a user who may read no mailbox still has the other dashboards
      $("mail-unavailable").hidden = false;
      $("mail-unavailable").textContent = error.message;
    }
    $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
    say("", "ready");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setToken(null);
      $("token-form").hidden = false;
    }
    say(error.message, "error");
  }
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setToken($("token").value);
  $("token-form").hidden = true;
  load();
});

load();
