"""What an administrator does with a mailbox that needs the connectors: test its connection (and, with the
pipeline, sync it). crm_core keeps the records and the secrets; this package logs in with them."""

from mailbridge.admin.actions import run_connection_test
from mailbridge.admin.checks import check_connection

__all__ = ["check_connection", "run_connection_test"]
