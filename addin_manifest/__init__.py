"""addin_manifest: see ../shared/ARCHITECTURE.md. Built by later issues."""
