"""The admin console's web page: GET /admin/ and its script and style (the console itself is mailbridge/admin/web).

The page is static and holds no data, so it is served without authentication; its script asks the API with the
token the administrator gives it (kept in the URL fragment, then in the tab's sessionStorage), exactly as any
other API client would: creating email server profiles and mailboxes, testing, approving, enabling, previewing
and syncing them, and watching every mailbox's sync health live. The Content-Security-Policy allows only this
origin's own script, style and requests: mail subjects and server error messages are hostile input, and even
one the script failed to keep as text could run nothing."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from crm_core.errors import NotFound

WEB = Path(__file__).parent / "web"
JS, CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
ASSETS = {  # only these names reach the file system: no path from the URL does
    "admin.css": CSS,
    "admin.js": JS,
    "api.js": JS,
    "dom.js": JS,
    "health.js": JS,
    "forms.js": JS,
    "reports.js": JS,
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the token travels in the fragment, never sent; keep the rest home too
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_console_redirect() -> RedirectResponse:
    # Relative, so that the page's relative URLs (its assets, ../api/v1) resolve under any mount point; the
    # browser keeps the #token fragment across the redirect.
    return RedirectResponse("admin/", status_code=308)


@router.get("/admin/")
def admin_console_page() -> FileResponse:
    return FileResponse(WEB / "admin.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/admin/{name}")
def admin_console_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise NotFound(f"no file {name!r}")
    return FileResponse(WEB / name, media_type=ASSETS[name], headers=PAGE_HEADERS)
