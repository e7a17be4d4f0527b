// The console's only way to the data: the CRM's REST API with the administrator's token, as any client.
// The token comes in the URL fragment (never sent to a server, and removed from the address bar at once) or
// the token form, and stays in this tab's sessionStorage.

const TOKEN_KEY = "crm.adminConsole.token";
const API = new URL("../api/v1/", location.href); // the page is /admin/: the API is beside it
const MAX_PAGES = 20;

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function token() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// Problem details (RFC 9457) say what went wrong in `detail`; a connector's refusal adds a `reason`.
function problemText(response, data) {
  if (data && typeof data === "object") {
    const text = data.detail || data.title;
    if (text) return typeof text === "string" ? text : JSON.stringify(text);
  }
  return response.status + " " + response.statusText;
}

export async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + (token() || ""), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(new URL(path, API), {
      method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "The server could not be reached (" + error.message + ").", null);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, problemText(response, data), data);
  return data;
}

// Every item of a paged collection (the API's pages are at most 500 long; next_cursor leads on).
export async function listAll(path) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({ limit: "500" });
    if (cursor) query.set("cursor", cursor);
    const data = await api("GET", path + (path.includes("?") ? "&" : "?") + query.toString());
    items.push(...data.items);
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  return items;
}
