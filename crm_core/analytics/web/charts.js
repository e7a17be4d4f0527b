// Plotly charts of the API's figures. Values go in as numbers; labels (stage, owner, queue, campaign and mailbox
// names, which users type) go in as text: Plotly reads a few HTML-like tags in labels (<b>, <a href>, <br>), so
// "&" and "<" are written as entities, which it shows as the characters themselves.

const LAYOUT = {
  margin: { l: 50, r: 20, t: 40, b: 80 }, font: { size: 12 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  legend: { orientation: "h" },
};
const CONFIG = { displaylogo: false, responsive: false, modeBarButtonsToRemove: ["sendDataToCloud"] };

export function plain(label) {
  return String(label).replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

function layout(title, extra) {
  return Object.assign({}, LAYOUT, { title: { text: plain(title) } }, extra || {});
}

// No figures: an empty chart says so rather than drawing bare axes.
const EMPTY = {
  xaxis: { visible: false }, yaxis: { visible: false },
  annotations: [{ text: "Nothing to show", showarrow: false, font: { size: 14, color: "#5c6670" } }],
};

function draw(id, traces, title, extra) {
  const empty = traces.every((t) => (t.y || t.values || []).length === 0);
  const shape = Object.assign({}, extra || {}, empty ? EMPTY : {});
  window.Plotly.react(document.getElementById(id), empty ? [] : traces, layout(title, shape), CONFIG);
}

// One bar trace per series: series = [{name, values}], all over the same labels.
export function bars(id, title, labels, series, extra) {
  const x = labels.map(plain);
  draw(id, series.map((s) => ({ type: "bar", name: plain(s.name), x: x, y: s.values.map(Number) })), title,
    Object.assign({ barmode: "group", xaxis: { type: "category" } }, extra || {}));
}

export function pie(id, title, labels, values) {
  draw(id, [{ type: "pie", labels: labels.map(plain), values: values.map(Number), hole: 0.4, sort: false }], title);
}

export function stacked(id, title, labels, series) {
  bars(id, title, labels, series, { barmode: "stack" });
}

// One line per series over shared x values (days).
export function lines(id, title, series) {
  draw(id, series.map((s) => ({ type: "scatter", mode: "lines+markers", name: plain(s.name), x: s.x,
    y: s.values.map(Number) })), title);
}
