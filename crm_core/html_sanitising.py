"""HTML bodies made safe to show with nh3 (ammonia): no scripts or styles elements, no event handlers, no
javascript: or other unknown URL schemes, only a conservative list of inline CSS properties, whose values may
call no CSS function but colours (no expression(), url() or image-set(): nothing runs or fetches) and hold no
escape or comment. Remote images (tracking pixels) are dropped unless allowed; inline images keep their cid:
reference for the UI to map.

In crm_core because the CRM sanitises too: mailbridge for every tracked mail, the activities API for the HTML
body a caller writes (an email composed in the CRM keeps its remote images: they are its content)."""

import re
from collections.abc import Callable

import nh3

_TAGS = set(nh3.ALLOWED_TAGS) | {"font", "tfoot"}
_ATTRIBUTES: dict[str, set[str]] = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["*"] = {"style", "title", "dir", "lang", "align", "valign", "width", "height", "bgcolor"}
_ATTRIBUTES["font"] = {"color", "face", "size"}
_ATTRIBUTES["td"] = _ATTRIBUTES.get("td", set()) | {"nowrap"}
_ATTRIBUTES["table"] = _ATTRIBUTES.get("table", set()) | {"border", "cellpadding", "cellspacing"}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "text-align", "text-decoration", "text-indent", "line-height", "letter-spacing", "white-space",
    "vertical-align", "margin", "margin-top", "margin-right", "margin-bottom", "margin-left", "padding",
    "padding-top", "padding-right", "padding-bottom", "padding-left", "border", "border-top", "border-right",
    "border-bottom", "border-left", "border-color", "border-style", "border-width", "border-collapse",
    "width", "height", "max-width", "min-width", "direction", "list-style-type",
}


# A CSS function other than a colour's, an escape (wid\74h), a comment or an at-rule: the declaration goes.
_CSS_RISK = re.compile(r"(?<![a-z-])(?!(?:rgba?|hsla?)\s*\()[a-z-]+\s*\(|\\|/\*|@", re.IGNORECASE)


def _safe_style(value: str) -> str:
    return ";".join(d for d in value.split(";") if not _CSS_RISK.search(d))


def _image_filter(allow_remote: bool) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src" and not allow_remote:
            return value if value.strip().lower().startswith("cid:") else None
        if attribute == "style":
            return _safe_style(value)
        return value

    return keep


def sanitise_html(html: str, *, allow_remote_images: bool = False) -> str:
    """Safe HTML for display. The raw HTML is kept elsewhere for audit; this is what a page may render."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template", "iframe", "object"},
        attributes=_ATTRIBUTES,
        attribute_filter=_image_filter(allow_remote_images),
        url_schemes=_URL_SCHEMES,
        filter_style_properties=_STYLE_PROPERTIES,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )
