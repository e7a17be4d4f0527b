"""The collections of /api/v1, one module per area."""
