"""The add-in's task pane: GET /addin/taskpane.html (the page both manifests point Outlook at) and its scripts and
style under /addin/taskpane/{name} (an allow-list: no path from the URL reaches the file system).

The page is static and holds no data, so it is served without authentication; its script signs in through Office
(single sign-on) and asks /addin/api/... with that token. Its headers are crm_core.api.static_pages' but for an
add-in: Outlook on the web and the new Outlook show the pane in a frame, so `frame-ancestors` names Outlook's
origins instead of 'none', and Office.js must come from Microsoft's CDN (add-ins may not bundle it), so
`script-src` allows that one host. Everything else stays this origin's own: the mail's subject and names are
hostile input, and a slip of the script still could run nothing."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from crm_core.api.static_pages import CSS, JS, PAGE_HEADERS, StaticPage

OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
OUTLOOK_ORIGINS = ("https://outlook.office.com", "https://outlook.office365.com", "https://*.outlook.com",
                   "https://outlook.live.com", "https://*.office.com")
TASKPANE_CSP = ("default-src 'none'; script-src 'self' https://appsforoffice.microsoft.com; style-src 'self'; "
                "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
                f"frame-ancestors {' '.join(OUTLOOK_ORIGINS)} 'self'")
TASKPANE_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": TASKPANE_CSP}

WEB = StaticPage(Path(__file__).parent / "taskpane", "taskpane.html", {
    "taskpane.css": CSS, "pane.js": JS, "actions.js": JS, "api.js": JS, "dom.js": JS, "item.js": JS,
    "lists.js": JS, "record.js": JS, "templates.js": JS},
    headers=TASKPANE_HEADERS)

router = APIRouter(prefix="/addin", include_in_schema=False)


@router.get("/taskpane.html")
def taskpane_page() -> FileResponse:
    return WEB.page_response()


@router.get("/taskpane/{name}")
def taskpane_asset(name: str) -> FileResponse:
    return WEB.asset_response(name)
