"""How a sync or an import shows itself in the terminal: a progress bar per folder while it runs (rich, on
standard error, so that scripts can still read the summary), then a summary table."""

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from mailbridge.tracking.results import ProgressEvent, SyncSummary


@contextmanager
def tracking_progress(console: Console) -> Iterator[object]:
    """Yields the callback the drivers take; one bar per folder, indeterminate when the total is unknown."""
    bars: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=not console.is_terminal) as progress:

        def on_message(event: ProgressEvent) -> None:
            if event.folder not in bars:
                bars[event.folder] = progress.add_task(event.folder, total=event.total)
            progress.update(bars[event.folder], completed=event.done, total=event.total)

        yield on_message


def print_summary(console: Console, summary: SyncSummary) -> None:
    table = Table("folder", "fetched", "tracked", "duplicates", "skipped", "quarantined", "how", box=None,
                  pad_edge=False, padding=(0, 2, 0, 0))
    for f in summary.folders.values():
        how = f.error or (f.strategy or "") + (", full resync (UIDVALIDITY changed)" if f.full_resync else "")
        skipped = f"{f.skipped}" + (f" ({_reasons(f.skipped_by_reason)})" if f.skipped else "")
        quarantined = f"{f.quarantined}" + (f" ({_reasons(f.quarantined_by_reason)})" if f.quarantined else "")
        table.add_row(f.folder, str(f.fetched), str(f.tracked), str(f.duplicates), skipped, quarantined, how)
    console.print(table)
    console.print(f"fetched {summary.fetched}, tracked {summary.tracked}, skipped {summary.skipped}, "
                  f"quarantined {summary.quarantined}", highlight=False)


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))
