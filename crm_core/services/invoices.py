"""Invoices (DOMAIN.md §5): made from an order or by hand; paid (Complete, Partial) or canceled, after which
they are read-only."""

import uuid
from datetime import date
from typing import ClassVar

from crm_core import sales_document_states as st
from crm_core.errors import ValidationFailed
from crm_core.models import Invoice, InvoiceLine
from crm_core.security.privileges import Privilege
from crm_core.services.sales_documents import SalesDocumentService, today


class InvoiceService(SalesDocumentService[Invoice]):
    entity_name = "invoice"
    line_model = InvoiceLine
    parent_key = "invoice_id"
    number_prefix = "INV"
    number_column = "invoice_number"
    verb_names = "paid, cancel"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name", "invoice_number", "total_amount"}

    def paid(self, record_id: uuid.UUID, statuscode: int = st.INVOICE_COMPLETE, date_paid: date | None = None
             ) -> Invoice:
        """Paid in full (Complete 100001) or in part (Partial 100002)."""
        if statuscode not in (st.INVOICE_COMPLETE, st.INVOICE_PARTIAL):
            raise ValidationFailed.field("statuscode", "100001 (Complete) or 100002 (Partial)")
        invoice = self.get(record_id, Privilege.WRITE)
        self.move(invoice, st.INVOICE_PAID, statuscode, "paid")
        invoice.date_paid = date_paid or today()
        return self._commit(invoice)

    def cancel(self, record_id: uuid.UUID) -> Invoice:
        invoice = self.get(record_id, Privilege.WRITE)
        self.move(invoice, st.INVOICE_CANCELED, None, "cancel")
        return self._commit(invoice)
