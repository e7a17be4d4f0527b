"""A calendar's stored cursor (Calendar.sync_cursor): the server's incremental state (a sync-collection token,
an EWS SyncState, a Graph deltaLink) and the CRM side's, kept in the one column as

    crm:<the CRM side's cursor>
    <the server's cursor, or nothing>

A value without the `crm:` line is a server cursor as stored before the CRM side had one: the CRM side is then
listed whole once. Neither cursor holds a line break (tokens and links are single-line)."""

_CRM = "crm:"


def split(stored: str | None) -> tuple[str | None, str | None]:
    """(server cursor, CRM cursor) of a stored value."""
    if stored is None or not stored.startswith(_CRM):
        return stored, None
    crm, _, server = stored.partition("\n")
    return server or None, crm.removeprefix(_CRM) or None


def joined(server: str | None, crm: str | None) -> str | None:
    """The value to store for the two cursors."""
    if crm is None:
        return server
    return f"{_CRM}{crm}\n{server or ''}"
