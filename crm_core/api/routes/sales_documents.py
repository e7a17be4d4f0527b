"""/quotes, /orders and /invoices: the generated routes (list, create, read, update, delete, assign, share,
audit), their lines (`/{collection}/{id}/lines`) and their lifecycle actions."""

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from crm_core.api.deps import CallerDep
from crm_core.api.resource import OWNED_FILTERS, FilterField, Resource, render_record
from crm_core.api.schemas.sales_documents import (
    CloseQuoteIn,
    FulfillOrderIn,
    InvoiceCreate,
    InvoiceOut,
    InvoiceUpdate,
    LineCreate,
    LineOut,
    LineUpdate,
    OrderCreate,
    OrderInvoiced,
    OrderOut,
    OrderUpdate,
    PaidInvoiceIn,
    QuoteCreate,
    QuoteOut,
    QuoteUpdate,
    QuoteWon,
    WinQuoteIn,
)
from crm_core.services.invoices import InvoiceService
from crm_core.services.listing import Op
from crm_core.services.orders import OrderService
from crm_core.services.quotes import QuoteService
from crm_core.services.sales_documents import SalesDocumentService

_COMMON = [
    *OWNED_FILTERS,
    FilterField("customer_id", uuid.UUID),
    FilterField("opportunity_id", uuid.UUID),
    FilterField("price_list_id", uuid.UUID),
    FilterField("name", str, (Op.EQ, Op.CONTAINS)),
]

RESOURCES = [
    Resource("quote", QuoteService, QuoteCreate, QuoteUpdate, QuoteOut, tag="quotes",
             filters=[*_COMMON, FilterField("quote_number", str), FilterField("revision_number", int)]),
    Resource("order", OrderService, OrderCreate, OrderUpdate, OrderOut, tag="orders",
             filters=[*_COMMON, FilterField("order_number", str), FilterField("quote_id", uuid.UUID)]),
    Resource("invoice", InvoiceService, InvoiceCreate, InvoiceUpdate, InvoiceOut, tag="invoices",
             filters=[*_COMMON, FilterField("invoice_number", str), FilterField("order_id", uuid.UUID)]),
]

router = APIRouter()


# --- quotes ----------------------------------------------------------------------------------------
@router.post("/quotes/{record_id}/activate", response_model=QuoteOut, tags=["quotes"],
             summary="Activate a draft quote (Active, In Progress): it becomes read-only")
def activate_quote(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return render_record(QuoteOut, QuoteService(caller.uow, caller.principal).activate(record_id))


@router.post("/quotes/{record_id}/revise", response_model=QuoteOut, tags=["quotes"],
             summary="Revise an active quote: it closes as Revised; returns the new draft revision")
def revise_quote(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return render_record(QuoteOut, QuoteService(caller.uow, caller.principal).revise(record_id))


@router.post("/quotes/{record_id}/win", response_model=QuoteWon, tags=["quotes"],
             summary="Win an active quote: it is Won and an order is made with its lines")
def win_quote(caller: CallerDep, record_id: uuid.UUID, body: WinQuoteIn | None = None) -> Any:
    quote, order = QuoteService(caller.uow, caller.principal).win(record_id, body.closed_on if body else None)
    return QuoteWon(quote=render_record(QuoteOut, quote), order=render_record(OrderOut, order))


@router.post("/quotes/{record_id}/close", response_model=QuoteOut, tags=["quotes"],
             summary="Close an active quote as Lost (5) or Canceled (6)")
def close_quote(caller: CallerDep, record_id: uuid.UUID, body: CloseQuoteIn) -> Any:
    quote = QuoteService(caller.uow, caller.principal).close(record_id, body.statuscode, body.closed_on)
    return render_record(QuoteOut, quote)


# --- orders ----------------------------------------------------------------------------------------
@router.post("/orders/{record_id}/submit", response_model=OrderOut, tags=["orders"],
             summary="Submit an active order (Submitted, In Progress)")
def submit_order(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return render_record(OrderOut, OrderService(caller.uow, caller.principal).submit(record_id))


@router.post("/orders/{record_id}/fulfill", response_model=OrderOut, tags=["orders"],
             summary="Fulfil an order: Complete (100001) or Partial (100002)")
def fulfill_order(caller: CallerDep, record_id: uuid.UUID, body: FulfillOrderIn | None = None) -> Any:
    body = body or FulfillOrderIn()
    order = OrderService(caller.uow, caller.principal).fulfill(record_id, body.statuscode, body.date_fulfilled)
    return render_record(OrderOut, order)


@router.post("/orders/{record_id}/cancel", response_model=OrderOut, tags=["orders"],
             summary="Cancel an active or submitted order")
def cancel_order(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return render_record(OrderOut, OrderService(caller.uow, caller.principal).cancel(record_id))


@router.post("/orders/{record_id}/invoice", response_model=OrderInvoiced, tags=["orders"],
             summary="Invoice an order: a new invoice with its lines, prices locked; the order is Invoiced")
def invoice_order(caller: CallerDep, record_id: uuid.UUID) -> Any:
    order, invoice = OrderService(caller.uow, caller.principal).invoice(record_id)
    return OrderInvoiced(order=render_record(OrderOut, order), invoice=render_record(InvoiceOut, invoice))


# --- invoices --------------------------------------------------------------------------------------
@router.post("/invoices/{record_id}/paid", response_model=InvoiceOut, tags=["invoices"],
             summary="Record an invoice as paid: Complete (100001) or Partial (100002)")
def paid_invoice(caller: CallerDep, record_id: uuid.UUID, body: PaidInvoiceIn | None = None) -> Any:
    body = body or PaidInvoiceIn()
    invoice = InvoiceService(caller.uow, caller.principal).paid(record_id, body.statuscode, body.date_paid)
    return render_record(InvoiceOut, invoice)


@router.post("/invoices/{record_id}/cancel", response_model=InvoiceOut, tags=["invoices"],
             summary="Cancel an active invoice")
def cancel_invoice(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return render_record(InvoiceOut, InvoiceService(caller.uow, caller.principal).cancel(record_id))


# --- lines of every document -----------------------------------------------------------------------
def _add_line_routes(collection: str, service: type[SalesDocumentService[Any]]) -> None:
    base, tags, noun = f"/{collection}/{{record_id}}/lines", [collection], service.entity_name

    def list_lines(caller: CallerDep, record_id: uuid.UUID) -> Any:
        return service(caller.uow, caller.principal).lines(record_id)

    def add_line(caller: CallerDep, record_id: uuid.UUID, body: LineCreate) -> Any:
        return service(caller.uow, caller.principal).add_line(record_id, body.model_dump(exclude_unset=True))

    def read_line(caller: CallerDep, record_id: uuid.UUID, line_id: uuid.UUID) -> Any:
        return service(caller.uow, caller.principal).line(record_id, line_id)

    def update_line(caller: CallerDep, record_id: uuid.UUID, line_id: uuid.UUID, body: LineUpdate) -> Any:
        values = body.model_dump(exclude_unset=True)
        return service(caller.uow, caller.principal).update_line(record_id, line_id, values)

    def delete_line(caller: CallerDep, record_id: uuid.UUID, line_id: uuid.UUID) -> Response:
        service(caller.uow, caller.principal).delete_line(record_id, line_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    router.add_api_route(base, list_lines, methods=["GET"], response_model=list[LineOut], tags=tags,
                         summary=f"The lines of a {noun}", name=f"{noun}_lines")
    router.add_api_route(base, add_line, methods=["POST"], response_model=LineOut, tags=tags,
                         status_code=status.HTTP_201_CREATED, name=f"{noun}_add_line",
                         summary=f"Add a line to a {noun}: a product priced from its price list, or a write-in")
    router.add_api_route(f"{base}/{{line_id}}", read_line, methods=["GET"], response_model=LineOut, tags=tags,
                         summary=f"Read a line of a {noun}", name=f"{noun}_read_line")
    router.add_api_route(f"{base}/{{line_id}}", update_line, methods=["PATCH"], response_model=LineOut, tags=tags,
                         summary=f"Change a line of a {noun} (its totals follow)", name=f"{noun}_update_line")
    router.add_api_route(f"{base}/{{line_id}}", delete_line, methods=["DELETE"], tags=tags,
                         status_code=status.HTTP_204_NO_CONTENT, summary=f"Remove a line from a {noun}",
                         name=f"{noun}_delete_line")


for _collection, _service in (("quotes", QuoteService), ("orders", OrderService), ("invoices", InvoiceService)):
    _add_line_routes(_collection, _service)
