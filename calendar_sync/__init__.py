"""calendar_sync: see ../shared/ARCHITECTURE.md. Built by later issues."""
