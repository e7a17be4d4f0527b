"""Placeholder: the service levels collections land here."""

from fastapi import APIRouter

from crm_core.api.resource import Resource

RESOURCES: list[Resource] = []
router = APIRouter()
