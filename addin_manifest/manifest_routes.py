"""The add-in's manifests and icons over HTTP: GET /addin/manifest.xml (add-in only manifest),
/addin/manifest.json (unified manifest), /addin/manifest.zip (the package for Microsoft 365) and
/addin/assets/{name} (the icons both manifests point at).

No authentication: a manifest holds no secret (ids and public addresses only), and Outlook fetches the icons
without credentials. Every manifest is built from the server's settings at each request (cheap)."""

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse

from addin_manifest import manifest_xml, package
from addin_manifest.urls import ASSET_NAMES, ASSETS
from crm_core.settings import Settings

router = APIRouter(prefix="/addin", include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.crm.settings
    return settings


@router.get("/manifest.xml")
def manifest_xml_route(request: Request) -> Response:
    return Response(manifest_xml.render(_settings(request)), media_type="application/xml")


@router.get("/manifest.json")
def manifest_json_route(request: Request) -> Response:
    return Response(package.render_json(_settings(request)), media_type="application/json")


@router.get("/manifest.zip")
def manifest_zip_route(request: Request) -> Response:
    return Response(package.render(_settings(request)), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="mailbox-crm-addin.zip"'})


@router.get("/assets/{name}")
def asset_route(name: str) -> FileResponse:
    if name not in ASSET_NAMES:  # a fixed list: the name never reaches the file system
        raise HTTPException(status_code=404)
    return FileResponse(ASSETS / name, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
