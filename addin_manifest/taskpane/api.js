// The pane's only way to the data: /addin/api/... with the add-in's bearer token. The token comes from Office's
// single sign-on; in development (the server's CRM_ADDIN_DEV_TOKENS) a CRM token given in the URL fragment
// (#token=crm_...) is used when single sign-on fails. Every failure becomes an ApiError whose message is the
// problem's detail, with the correlation id support looks up.

const API = new URL("api/", location.href); // the page is /addin/taskpane.html: the API is /addin/api/
const DEV_TOKEN_KEY = "crm.addin.devToken";
const SSO_OPTIONS = { allowSignInPrompt: true, allowConsentPrompt: true, forMSGraphAccess: false };

export class ApiError extends Error {
  constructor(message, status, correlationId, problem) {
    super(message);
    this.status = status;
    this.correlationId = correlationId || null;
    this.problem = problem || null; // the problem body, for the callers that read more than its detail
  }
}

let mode = null; // "sso" or "dev", once signed in

function devToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given) {
    sessionStorage.setItem(DEV_TOKEN_KEY, given);
    // Out of the address bar (some Office.js builds set history.replaceState to null: then it stays).
    if (typeof history.replaceState === "function") history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(DEV_TOKEN_KEY);
}

// Office caches its tokens and renews them: asking it before each call is what Microsoft recommends.
async function bearer() {
  if (mode === "dev") return devToken();
  return Office.auth.getAccessToken(SSO_OPTIONS);
}

export async function signIn() {
  const dev = devToken();
  try {
    await Office.auth.getAccessToken(SSO_OPTIONS);
    mode = "sso";
  } catch (error) {
    if (!dev) {
      const code = error && error.code ? " (" + error.code + ")" : "";
      throw new ApiError("Sign-in failed" + code + ": " + ((error && error.message) || String(error)), 0, null);
    }
    mode = "dev";
  }
}

function problemMessage(response, data) {
  if (data && typeof data === "object") {
    const text = data.detail || data.title;
    if (text) return typeof text === "string" ? text : JSON.stringify(text);
  }
  return "The CRM answered " + response.status + " " + response.statusText + ".";
}

// api("GET", "context", {query: {sender: "a@b", to: ["c@d"]}}) or api("POST", "track", {body: {...}}).
export async function api(method, path, options) {
  const { query, body } = options || {};
  const url = new URL(path, API);
  for (const [name, value] of Object.entries(query || {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== null && one !== undefined && one !== "") url.searchParams.append(name, one);
    }
  }
  let token;
  try {
    token = await bearer();
  } catch (error) {
    throw new ApiError("Sign-in failed: " + ((error && error.message) || String(error)), 0, null);
  }
  const headers = { Authorization: "Bearer " + (token || ""), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError("The CRM could not be reached (" + error.message + ").", 0, null);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const id = (data && data.correlation_id) || response.headers.get("X-Correlation-Id");
    throw new ApiError(problemMessage(response, data), response.status, id, data);
  }
  return data;
}
