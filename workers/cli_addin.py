"""`crm addin manifest`: the Outlook add-in's manifests, written from the same settings the server uses (the
public base URL, the add-in id, the Entra app id), for an administrator who installs the add-in by file."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crm_core.settings import Settings

addin_app = typer.Typer(help="The Outlook add-in.", no_args_is_help=True)
err = Console(stderr=True)


class ManifestFormat(StrEnum):
    xml = "xml"
    json = "json"
    zip = "zip"


@addin_app.command("manifest")
def addin_manifest(
    format: Annotated[ManifestFormat, typer.Option(
        "--format", help="xml: add-in only manifest; json: unified manifest; zip: the app package for "
        "Microsoft 365.")] = ManifestFormat.xml,
    output: Annotated[Path | None, typer.Option(help="Write to this file; default: standard output (not zip).")]
    = None,
) -> None:
    """Write the add-in's manifest, generated from settings (CRM_PUBLIC_URL, CRM_ADDIN_ID, CRM_ENTRA_CLIENT_ID)."""
    from addin_manifest import manifest_xml, package

    settings = Settings()
    if format is ManifestFormat.xml:
        data = manifest_xml.render(settings)
    elif format is ManifestFormat.json:
        data = package.render_json(settings)
    else:
        data = package.render(settings)
    if not settings.base_url.startswith("https://"):
        err.print(f"[yellow]warning:[/yellow] the base URL {settings.base_url} is not HTTPS: Outlook needs HTTPS "
                  "outside development (set CRM_PUBLIC_URL).")
    if output is not None:
        output.write_bytes(data)
        err.print(f"wrote {output}")
    elif format is ManifestFormat.zip:
        err.print("[red]error:[/red] a zip goes to a file: give --output PATH")
        raise typer.Exit(1)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
