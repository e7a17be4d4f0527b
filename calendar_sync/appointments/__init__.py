"""Appointments and recurring appointments to and from iCalendar: `from_ical.write_item` stores one calendar
object as CRM rows, `to_ical.render` turns them back into one, `relevance.concerns_crm` decides whether a server
event the CRM has not seen enters it, and `versions.versions` gives the CRM side's ETags for the sync."""
