"""Orders (Dynamics' salesorder, DOMAIN.md §5): made from a won quote or by hand; submit, fulfill
(Complete, Partial), cancel, and invoice (a new invoice with the order's lines; the order is Invoiced)."""

import uuid
from datetime import date
from typing import ClassVar

from sqlalchemy import exists, select

from crm_core import sales_document_states as st
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Invoice, Order, OrderLine
from crm_core.security.privileges import Privilege
from crm_core.services.sales_documents import SalesDocumentService, today


class OrderService(SalesDocumentService[Order]):
    entity_name = "order"
    line_model = OrderLine
    parent_key = "order_id"
    number_prefix = "ORD"
    number_column = "order_number"
    verb_names = "submit, fulfill, cancel, invoice"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name", "order_number", "total_amount"}

    def before_delete(self, record: Order) -> None:
        if self.session.scalar(select(exists().where(Invoice.order_id == record.id))):
            raise Conflict("invoices were made from this order; it cannot be deleted")

    def submit(self, record_id: uuid.UUID) -> Order:
        order = self.get(record_id, Privilege.WRITE)
        self.move(order, st.ORDER_SUBMITTED, None, "submit")
        return self._commit(order)

    def fulfill(self, record_id: uuid.UUID, statuscode: int = st.ORDER_COMPLETE,
                date_fulfilled: date | None = None) -> Order:
        """FulfillSalesOrder: Complete (100001) or Partial (100002)."""
        if statuscode not in (st.ORDER_COMPLETE, st.ORDER_PARTIAL):
            raise ValidationFailed.field("statuscode", "100001 (Complete) or 100002 (Partial)")
        order = self.get(record_id, Privilege.WRITE)
        self.move(order, st.ORDER_FULFILLED, statuscode, "fulfill")
        order.date_fulfilled = date_fulfilled or today()
        return self._commit(order)

    def cancel(self, record_id: uuid.UUID) -> Order:
        """CancelSalesOrder (its one status reason, No Money 4)."""
        order = self.get(record_id, Privilege.WRITE)
        self.move(order, st.ORDER_CANCELED, None, "cancel")
        return self._commit(order)

    def invoice(self, record_id: uuid.UUID) -> tuple[Order, Invoice]:
        """ConvertSalesOrderToInvoice: a new invoice with the order's header and lines, prices locked; the
        order becomes Invoiced (so it is invoiced once)."""
        from crm_core.services.invoices import InvoiceService

        order = self.get(record_id, Privilege.WRITE)
        self.move(order, st.ORDER_INVOICED, None, "invoice")
        invoice = self.derive(order, InvoiceService(self.uow, self.principal), order_id=order.id,
                              is_price_locked=True)
        return self._commit(order, invoice), invoice
