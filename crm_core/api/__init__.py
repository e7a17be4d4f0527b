"""The REST API for records, under /api/v1. Assembled into an app by workers.app."""
