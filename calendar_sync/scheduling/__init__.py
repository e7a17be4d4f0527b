"""The service calendar (issue 7): when resources work, what occupies them, the search for times at which every
resource a service needs is free, booking without double-booking, and the calendar view.

Times inside the engine are whole minutes since the Unix epoch, UTC (`Minute`): interval arithmetic over four
weeks and a few hundred resources stays integer work. A busy stretch that does not fall on whole minutes (a
synced meeting at 10:00:30) is widened to them, never narrowed."""
