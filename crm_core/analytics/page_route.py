"""The dashboards page: GET /dashboards/ with its script and style (crm_core/analytics/web), and plotly.js from
the installed plotly package, served from this origin (the page's Content-Security-Policy allows nothing
else: no CDN).

The page is static and holds no data, so it is served without authentication; its script asks
/api/v1/dashboards/* with the token the user gives it (in the URL fragment, then the tab's sessionStorage), and
each figure is what the token's read scope allows. The Content-Security-Policy is the other pages' (scripts,
requests and images from this origin only), with the two style elements plotly.js adds allowed by hash."""

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from crm_core.api.static_pages import CSS, JS, PAGE_HEADERS, StaticPage
from crm_core.errors import NotFound

# plotly.js (4.1, the pinned plotly package's bundle) adds two <style> elements when it loads: an empty one it then
# fills through the CSS object model (which CSP leaves alone), and MapLibre's stylesheet. Their hashes are allowed,
# rather than 'unsafe-inline': nothing else inline may style the page. A new plotly with other styles fails the
# browser test (tests/crm_core/test_dashboards_page.py reports CSP violations) until they are listed here.
PLOTLY_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # "" (plotly.js-style-global, filled by insertRule)
    "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='",  # MapLibre's stylesheet, bundled with plotly.js
)
HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", "style-src 'self' " + " ".join(PLOTLY_STYLE_HASHES)
    ),
}
WEB = StaticPage(
    Path(__file__).parent / "web",
    "dashboards.html",
    {"dashboards.css": CSS, "dashboards.js": JS, "api.js": JS, "charts.js": JS},
    HEADERS,
)

router = APIRouter(include_in_schema=False)


def plotly_bundle() -> Path | None:
    """plotly.min.js of the installed plotly package (found without importing it: it is a large package)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


@router.get("/dashboards")
def dashboards_redirect() -> RedirectResponse:
    return RedirectResponse("dashboards/", status_code=308)  # relative, keeping the #token fragment


@router.get("/dashboards/")
def dashboards_page() -> FileResponse:
    return WEB.page_response()


@router.get("/dashboards/plotly.min.js")
def plotly_script() -> FileResponse:
    path = plotly_bundle()
    if path is None:
        raise NotFound("plotly is not installed")
    return FileResponse(path, media_type=JS, headers={**HEADERS, "Cache-Control": "public, max-age=86400"})


@router.get("/dashboards/{name}")
def dashboards_asset(name: str) -> FileResponse:
    return WEB.asset_response(name)
