"""/addin/api/whoami: who the add-in is signed in as, for the task pane's header and for checking the setup."""

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from addin_manifest.auth.principal import AddinCallerDep
from crm_core.models import User

router = APIRouter(prefix="/addin/api", tags=["outlook add-in"])


class WhoAmI(BaseModel):
    id: uuid.UUID
    full_name: str
    email: str
    entra_tenant_id: str | None
    entra_object_id: str | None
    record_url: str | None = Field(description="A template ({type}, {id}) of a record's page in the CRM's web "
                                   "front end (CRM_ADDIN_RECORD_URL), or null.")


@router.get("/whoami", response_model=WhoAmI, summary="The CRM user the add-in is signed in as")
def whoami(caller: AddinCallerDep) -> WhoAmI:
    user = caller.uow.session.get_one(User, caller.principal.user_id)
    return WhoAmI(id=user.id, full_name=user.full_name, email=user.email, entra_tenant_id=user.entra_tenant_id,
                  entra_object_id=user.entra_object_id, record_url=caller.context.settings.addin_record_url)
