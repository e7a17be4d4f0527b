// The page's only way to the figures: the CRM's REST API with the user's token, as any client. The token comes
// in the URL fragment (never sent to a server, and removed from the address bar at once) or the token form, and
// stays in this tab's sessionStorage.

const TOKEN_KEY = "crm.dashboards.token";
const API = new URL("../api/v1/", location.href); // the page is /dashboards/: the API is beside it

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
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

export async function get(path) {
  let response;
  try {
    response = await fetch(new URL(path, API), {
      headers: { Authorization: "Bearer " + (token() || ""), Accept: "application/json" }, cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "The server could not be reached (" + error.message + ").");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : response.status + " " + response.statusText;
    throw new ApiError(response.status, detail);
  }
  return data;
}
