"""Business rules (issue 11): an administrator's automation, stored as data (crm_core.models.rules).

`definitions` checks a rule at save (each field and value against the entity's columns), `conditions` evaluates
its expression tree, `events` writes the events rules wait for into an outbox in the transaction of the change,
`runner` runs the rules for each event (and `scans` for dates and SLA warnings reached) once per (rule, event),
and `actions` does what a rule says through the record services, as the rule's owner."""
