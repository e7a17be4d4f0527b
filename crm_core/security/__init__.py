"""Security like Dynamics': roles with privilege depths, ownership, business units, teams and shares."""
