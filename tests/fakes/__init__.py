"""Faithful fakes of remote services (Microsoft Graph and Entra ID under `graph/`, Exchange Web Services
under `ews/`), started on loopback by fixtures
so that clients are tested against the documented wire behaviour instead of mocks of their own calls."""
