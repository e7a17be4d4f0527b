"""The admin console's web page: GET /admin/ and its script and style (the console itself is mailbridge/admin/web).

The page is static and holds no data, so it is served without authentication; its script asks the API with the
token the administrator gives it (kept in the URL fragment, then in the tab's sessionStorage), exactly as any
other API client would: creating email server profiles and mailboxes, testing, approving, enabling, previewing
and syncing them, and watching every mailbox's sync health live. Its headers are crm_core.api.static_pages'
(a self-only Content-Security-Policy: mail subjects and server errors are hostile input)."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from crm_core.api.static_pages import CSS, JS, StaticPage

WEB = StaticPage(Path(__file__).parent / "web", "admin.html", {
    "admin.css": CSS, "admin.js": JS, "api.js": JS, "dom.js": JS, "health.js": JS, "forms.js": JS, "reports.js": JS})

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_console_redirect() -> RedirectResponse:
    # Relative, so that the page's relative URLs (its assets, ../api/v1) resolve under any mount point; the
    # browser keeps the #token fragment across the redirect.
    return RedirectResponse("admin/", status_code=308)


@router.get("/admin/")
def admin_console_page() -> FileResponse:
    return WEB.page_response()


@router.get("/admin/{name}")
def admin_console_asset(name: str) -> FileResponse:
    return WEB.asset_response(name)
