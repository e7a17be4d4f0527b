"""EWS responses: whatever a SyncFolderItems change element holds (missing ItemId, no item element, a bad date,
a bad PropertyTag), turning it into our ItemChange gives a change or our ProtocolError (a MailError the sync
policy handles), never a ValueError or IndexError that would end the sync as a bug. Seeds: Microsoft's
documented response (tests/data/ews) mutated."""

from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from mailbridge.errors import MailError
from mailbridge.sources.ews.sync import _change
from tests.fuzz.profiles import FUZZ

T = "http://schemas.microsoft.com/exchange/services/2006/types"
SEED = Path(__file__).resolve().parents[1] / "data" / "ews" / "SyncFolderItems" / "initial-sync-response.xml"
_XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=12)  # what XML can carry
_CHILDREN = {
    "ItemId": st.fixed_dictionaries({}, optional={"Id": _XML_TEXT, "ChangeKey": _XML_TEXT}),
    "DateTimeReceived": st.sampled_from(["2025-01-01T09:00:00Z", "yesterday", "", "9999-99-99T99:99:99"]),
    "IsRead": st.sampled_from(["true", "false", "", "1"]),
}


def _seed_kinds() -> list[str]:
    tree = etree.fromstring(SEED.read_bytes())
    return [
        *sorted({etree.QName(e).localname for e in tree.iter(f"{{{T}}}Create")}),
        "Update",
        "Delete",
        "ReadFlagChange",
        "Bogus",
    ]


@st.composite
def change_element(draw: st.DrawFn) -> etree._Element:
    change = etree.Element(f"{{{T}}}{draw(st.sampled_from(_seed_kinds()))}")
    holder = change
    if draw(st.booleans()):
        holder = etree.SubElement(change, f"{{{T}}}{draw(st.sampled_from(['Message', 'MeetingRequest']))}")
    for name in draw(st.lists(st.sampled_from([*_CHILDREN, "ExtendedProperty"]), max_size=4)):
        if name == "ItemId":
            etree.SubElement(holder, f"{{{T}}}ItemId", draw(_CHILDREN["ItemId"]))
        elif name == "ExtendedProperty":
            prop = etree.SubElement(holder, f"{{{T}}}ExtendedProperty")
            etree.SubElement(
                prop,
                f"{{{T}}}ExtendedFieldURI",
                {"PropertyTag": draw(st.sampled_from(["0x1081", "4225", "zz", "", "0x"]))},
            )
            etree.SubElement(prop, f"{{{T}}}Value").text = draw(st.sampled_from(["102", "-1", "x", ""]))
        else:
            etree.SubElement(holder, f"{{{T}}}{name}").text = draw(_CHILDREN[name])
    return change


@FUZZ
@given(change_element())
@example(etree.fromstring(f'<t:Create xmlns:t="{T}"/>'))  # found by this test: IndexError, no item element
@example(etree.fromstring(f'<t:Delete xmlns:t="{T}"/>'))  # found by this test: ValueError, no ItemId
@example(
    etree.fromstring(
        f'<t:Create xmlns:t="{T}"><t:Message><t:ItemId Id="a"/>'
        "<t:DateTimeReceived>yesterday</t:DateTimeReceived></t:Message></t:Create>"
    )
)  # a bad date
def test_a_change_element_is_read_or_refused_as_a_protocol_error(element: etree._Element) -> None:
    try:
        change = _change(element)
    except MailError:
        return
    assert isinstance(change.item_id, str)
