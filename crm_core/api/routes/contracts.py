"""Placeholder: the contract collections land here. `early_router` is included before the collections, for
paths such as /contracts/available that /contracts/{record_id} would otherwise take."""

from fastapi import APIRouter

from crm_core.api.resource import Resource

RESOURCES: list[Resource] = []
early_router = APIRouter()
router = APIRouter()
