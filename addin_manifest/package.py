"""The app package an administrator uploads to Microsoft 365 (integrated apps) for the unified manifest: a zip of
manifest.json with the two icons it names, color.png (192x192) and outline.png (32x32), at its root."""

import io
import json
import zipfile

from addin_manifest import manifest_json
from addin_manifest.urls import ASSETS
from crm_core.settings import Settings


def render(settings: Settings) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", render_json(settings))
        for name in (manifest_json.COLOR_ICON, manifest_json.OUTLINE_ICON):
            package.write(ASSETS / name, name)
    return buffer.getvalue()


def render_json(settings: Settings) -> bytes:
    return json.dumps(manifest_json.build(settings), indent=2, ensure_ascii=False).encode() + b"\n"
