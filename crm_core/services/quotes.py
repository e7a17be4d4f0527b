"""Quotes (DOMAIN.md §5): Draft → activate → Active → win (Won, and an order) | close (Lost, Canceled) |
revise (Closed as Revised, and a new Draft revision with the same number and lines)."""

import uuid
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import exists, select

from crm_core import sales_document_states as st
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Order, Quote, QuoteLine
from crm_core.security.privileges import Privilege
from crm_core.services import document_lines
from crm_core.services.sales_documents import COPIED_HEADER, SalesDocumentService, today


class QuoteService(SalesDocumentService[Quote]):
    entity_name = "quote"
    line_model = QuoteLine
    parent_key = "quote_id"
    number_prefix = "QUO"
    number_column = "quote_number"
    verb_names = "activate, revise, win, close"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name", "quote_number", "total_amount"}

    def validate_own(self, record: Quote, values: dict[str, Any], creating: bool) -> None:
        if record.effective_from and record.effective_to and record.effective_to < record.effective_from:
            raise ValidationFailed.field("effective_to", "comes before effective_from")

    def ensure_editable(self, record: Quote) -> None:
        """Only a draft quote (and its lines) can change, as in Dynamics."""
        if record.statecode == st.QUOTE_ACTIVE:
            raise Conflict("this quote is Active and read-only; revise it to get an editable draft")
        if record.statecode != st.QUOTE_DRAFT:
            state = st.QUOTE.state(record.statecode).name
            raise Conflict(f"this quote is {state} and read-only")

    def before_delete(self, record: Quote) -> None:
        if self.session.scalar(select(exists().where(Order.quote_id == record.id))):
            raise Conflict("orders were made from this quote; it cannot be deleted")

    # --- verbs ---------------------------------------------------------------------------------------
    def activate(self, record_id: uuid.UUID) -> Quote:
        quote = self.get(record_id, Privilege.WRITE)
        self.move(quote, st.QUOTE_ACTIVE, None, "activate")
        return self._commit(quote)

    def revise(self, record_id: uuid.UUID) -> Quote:
        """Dynamics' ReviseQuote: the active quote closes as Revised; its copy, a draft with the next
        revision number, the same quote number, owner and lines, is returned."""
        quote = self.get(record_id, Privilege.WRITE)
        self.principal.require(self.entity_name, Privilege.CREATE)
        self.move(quote, st.QUOTE_CLOSED, st.QUOTE_REVISED, "revise")
        quote.closed_on = today()
        draft = self.model(id=uuid.uuid4(), quote_number=quote.quote_number,
                           revision_number=quote.revision_number + 1,
                           owning_user_id=quote.owning_user_id, owning_team_id=quote.owning_team_id,
                           owning_business_unit_id=quote.owning_business_unit_id,
                           effective_from=quote.effective_from, effective_to=quote.effective_to,
                           expires_on=quote.expires_on)
        draft.statecode, draft.statuscode = st.QUOTE.resolve(st.QUOTE_DRAFT, None)
        for name in COPIED_HEADER:
            setattr(draft, name, getattr(quote, name))
        self.session.add(draft)
        document_lines.copy_lines(quote, draft, QuoteLine, "quote_id")
        return self._commit(draft, quote)

    def win(self, record_id: uuid.UUID, closed_on: date | None = None) -> tuple[Quote, Order]:
        """WinQuote then ConvertQuoteToSalesOrder: the quote is Won and an order with its lines is made,
        prices locked (they stay what the customer accepted)."""
        from crm_core.services.orders import OrderService

        quote = self.get(record_id, Privilege.WRITE)
        self.move(quote, st.QUOTE_WON, None, "win")
        quote.closed_on = closed_on or today()
        order = self.derive(quote, OrderService(self.uow, self.principal), quote_id=quote.id, is_price_locked=True)
        return self._commit(quote, order), order

    def close(self, record_id: uuid.UUID, statuscode: int, closed_on: date | None = None) -> Quote:
        """CloseQuote as Lost (5) or Canceled (6); Revised (7) is what revise does."""
        if statuscode not in (st.QUOTE_LOST, st.QUOTE_CANCELED):
            raise ValidationFailed.field("statuscode",
                                         "5 (Lost) or 6 (Canceled); revise a quote to close it as Revised")
        quote = self.get(record_id, Privilege.WRITE)
        self.move(quote, st.QUOTE_CLOSED, statuscode, "close")
        quote.closed_on = closed_on or today()
        return self._commit(quote)

