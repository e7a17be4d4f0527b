"""Calendar stores: one interface (base.CalendarStore), one module per backend, chosen in registry.py only."""
