"""The processes: the ASGI app assembly, the `crm` CLI and (later) the Celery app. The composition root."""
