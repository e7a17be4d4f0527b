"""mailbridge: see ../shared/ARCHITECTURE.md. Built by later issues."""
