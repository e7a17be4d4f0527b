"""/unit-groups (and their /units), /products and /price-lists (and their /items): the product catalogue.

The three collections come from Resource declarations, with their lifecycle verbs; `router` adds the units
of a unit group and the items of a price list."""

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Response, status

from crm_core.api.deps import CallerDep
from crm_core.api.resource import CHANGED_FILTERS, FilterField, Resource, Verb
from crm_core.api.schemas.catalog import (
    PriceListCreate,
    PriceListItemCreate,
    PriceListItemOut,
    PriceListItemUpdate,
    PriceListOut,
    PriceListUpdate,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    UnitGroupCreate,
    UnitGroupOut,
    UnitGroupUpdate,
    UnitIn,
    UnitOut,
    UnitUpdate,
)
from crm_core.services.catalog import ProductService, UnitGroupService
from crm_core.services.listing import Op
from crm_core.services.price_lists import PriceListService

_COMMON = [FilterField("statecode", int), *CHANGED_FILTERS]
_ACTIVE_VERBS = [
    Verb("activate", 0, "Activate (statecode 0, Active)"),
    Verb("deactivate", 1, "Deactivate (statecode 1, Inactive): read-only, offered to nothing new"),
]

RESOURCES = [
    Resource(
        "unit_group", UnitGroupService, UnitGroupCreate, UnitGroupUpdate, UnitGroupOut, tag="unit-groups",
        verbs=_ACTIVE_VERBS, filters=[*_COMMON, FilterField("name", str, (Op.EQ, Op.CONTAINS))],
    ),
    Resource(
        "product", ProductService, ProductCreate, ProductUpdate, ProductOut, tag="products",
        verbs=[
            Verb("publish", 0, "Publish a Draft or Under Revision product (or a Retired one again): Active"),
            Verb("revise", 3, "Revise an Active product: Under Revision, editable until published"),
            Verb("retire", 1, "Retire a product: read-only, no longer sold"),
        ],
        filters=[*_COMMON, FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("product_number", str),
                 FilterField("unit_group_id", uuid.UUID), FilterField("product_type_code", int),
                 FilterField("currency_code", str)],
    ),
    Resource(
        "price_list", PriceListService, PriceListCreate, PriceListUpdate, PriceListOut, tag="price-lists",
        verbs=[Verb("activate", 0, "Activate (statecode 0, Active)"),
               Verb("deactivate", 1, "Deactivate (statecode 1, Inactive): read-only, prices nothing new")],
        filters=[*_COMMON, FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("currency_code", str),
                 FilterField("begin_date", date, (Op.GTE, Op.LTE)), FilterField("end_date", date, (Op.GTE, Op.LTE))],
    ),
]

router = APIRouter()


# --- units of a unit group -------------------------------------------------------------------------
@router.post("/unit-groups/{record_id}/units", response_model=UnitOut, status_code=status.HTTP_201_CREATED,
             tags=["unit-groups"], summary="Add a unit to a unit group")
def add_unit(caller: CallerDep, record_id: uuid.UUID, body: UnitIn) -> Any:
    return UnitGroupService(caller.uow, caller.principal).add_unit(record_id, body.model_dump())


@router.patch("/unit-groups/{record_id}/units/{unit_id}", response_model=UnitOut, tags=["unit-groups"],
              summary="Rename a unit or change how many base units it is")
def update_unit(caller: CallerDep, record_id: uuid.UUID, unit_id: uuid.UUID, body: UnitUpdate) -> Any:
    values = body.model_dump(exclude_unset=True)
    return UnitGroupService(caller.uow, caller.principal).update_unit(record_id, unit_id, values)


@router.delete("/unit-groups/{record_id}/units/{unit_id}", status_code=status.HTTP_204_NO_CONTENT,
               tags=["unit-groups"], summary="Delete a unit nothing uses (not the base unit)")
def delete_unit(caller: CallerDep, record_id: uuid.UUID, unit_id: uuid.UUID) -> Response:
    UnitGroupService(caller.uow, caller.principal).delete_unit(record_id, unit_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- items of a price list -------------------------------------------------------------------------
@router.get("/price-lists/{record_id}/items", response_model=list[PriceListItemOut], tags=["price-lists"],
            summary="The items of a price list, by product number")
def list_items(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return PriceListService(caller.uow, caller.principal).items(record_id)


@router.post("/price-lists/{record_id}/items", response_model=PriceListItemOut,
             status_code=status.HTTP_201_CREATED, tags=["price-lists"],
             summary="Price a product in one of its units on this price list")
def add_item(caller: CallerDep, record_id: uuid.UUID, body: PriceListItemCreate) -> Any:
    values = body.model_dump(exclude_unset=True)
    return PriceListService(caller.uow, caller.principal).add_item(record_id, values)


@router.get("/price-lists/{record_id}/items/{item_id}", response_model=PriceListItemOut, tags=["price-lists"],
            summary="Read a price list item")
def read_item(caller: CallerDep, record_id: uuid.UUID, item_id: uuid.UUID) -> Any:
    return PriceListService(caller.uow, caller.principal).item(record_id, item_id)


@router.patch("/price-lists/{record_id}/items/{item_id}", response_model=PriceListItemOut, tags=["price-lists"],
              summary="Change a price list item")
def update_item(caller: CallerDep, record_id: uuid.UUID, item_id: uuid.UUID, body: PriceListItemUpdate) -> Any:
    values = body.model_dump(exclude_unset=True)
    return PriceListService(caller.uow, caller.principal).update_item(record_id, item_id, values)


@router.delete("/price-lists/{record_id}/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT,
               tags=["price-lists"], summary="Remove a product (in one unit) from a price list")
def delete_item(caller: CallerDep, record_id: uuid.UUID, item_id: uuid.UUID) -> Response:
    PriceListService(caller.uow, caller.principal).delete_item(record_id, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
