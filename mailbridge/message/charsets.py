"""Text from a MIME part whatever its declared charset says. Mail lies about charsets (8-bit text labelled
us-ascii, Windows-1252 labelled iso-8859-1, made-up names): we decode anyway, with replacement characters
as a last resort, and report what we repaired as a defect instead of failing."""

import codecs
from email.message import Message


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the bytes UTF-8 cannot read are read as Windows-1252 (mixed-encoding text)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error("mailbridge.cp1252", _cp1252_fallback)

_ASCII_NAMES = {"us-ascii", "ascii", "ansi_x3.4-1968", ""}
# Labels that browsers (WHATWG) read as a superset: decoding with the superset loses nothing.
_SUPERSETS = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "utf-8",
              "gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949", "euc-kr": "cp949"}


def _known(charset: str) -> str | None:
    try:
        return codecs.lookup(charset).name
    except (LookupError, ValueError):
        return None


def decode_text(payload: bytes, declared: str | None) -> tuple[str, list[str]]:
    """(text, defects). Tries the declared charset (through its superset), then UTF-8, then Windows-1252
    with replacement; a defect names the charset that did not hold."""
    charset = (declared or "").strip().strip('"').lower()
    candidate = _SUPERSETS.get(charset, charset)
    defects: list[str] = []
    if charset in _ASCII_NAMES:
        candidate = "utf-8"
    elif _known(candidate) is None:
        defects.append(f"unknown_charset:{charset[:40]}")
        candidate = "utf-8"
    try:
        return payload.decode(candidate), defects
    except (UnicodeDecodeError, LookupError):
        pass
    if candidate != "utf-8":
        try:
            text = payload.decode("utf-8")
            defects.append(f"wrong_charset:{charset[:40]}")
            return text, defects
        except UnicodeDecodeError:
            pass
    if not defects:
        defects.append(f"wrong_charset:{charset[:40] or 'none'}")
    try:
        if candidate == "utf-8":
            return payload.decode("utf-8", errors="mailbridge.cp1252"), defects
        return payload.decode(candidate, errors="replace"), defects
    except LookupError:
        return payload.decode("utf-8", errors="replace"), defects


def part_text(part: Message) -> tuple[str, list[str]]:
    """The decoded text of a text/* part (transfer encoding undone leniently) and its defects."""
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, AssertionError) as exc:
        return "", [f"undecodable_part:{type(exc).__name__}"]
    if payload is None:
        return "", []
    if not isinstance(payload, bytes):
        payload = str(payload).encode("utf-8", "surrogateescape")
    try:
        declared = part.get_content_charset()
    except (ValueError, LookupError, UnicodeError):
        declared = "unknown"
    return decode_text(payload, declared)


def repair_header_text(value: str) -> str:
    """Header text without the lone surrogates the stdlib uses for raw 8-bit bytes (RFC 6532 UTF-8, or a
    legacy charset sent unencoded): read as UTF-8 when that holds, else as Windows-1252. Databases refuse
    surrogates, and a name like "Jürgen" should read as one."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", errors="mailbridge.cp1252")
