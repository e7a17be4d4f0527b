"""The API's static web pages (the service calendar, the admin console): files that hold no data, served without
authentication, whose scripts ask the API with the token the user gives them (kept in the URL fragment, never
sent to a server). The Content-Security-Policy allows only this origin's own script, style and requests, so that
hostile text the script failed to keep as text (a mail subject, a server's error) could still run nothing."""

from dataclasses import dataclass, field
from pathlib import Path

from fastapi.responses import FileResponse

from crm_core.errors import NotFound

HTML, JS, CSS = "text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the token travels in the fragment, never sent; keep the rest home too
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class StaticPage:
    folder: Path
    page: str  # the HTML file
    assets: dict[str, str] = field(default_factory=dict)  # file name -> media type: only these are served
    headers: dict[str, str] = field(default_factory=lambda: dict(PAGE_HEADERS))  # a page framed elsewhere: its own

    def page_response(self) -> FileResponse:
        return FileResponse(self.folder / self.page, media_type=HTML, headers=self.headers)

    def asset_response(self, name: str) -> FileResponse:
        if name not in self.assets:  # only the named files: no path from the URL reaches the file system
            raise NotFound(f"no file {name!r}")
        return FileResponse(self.folder / name, media_type=self.assets[name], headers=self.headers)
