"""Domain services: each owns its transaction, takes ids and plain values, and checks access."""
