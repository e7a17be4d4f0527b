"""`crm leads score`: the lead scores brought up to date now, as the workers do every few minutes, with a progress
bar (on standard error); `--retrain` first trains the predictive model on the qualified and disqualified leads
and prints how well it ranks the held-out ones."""

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crm_core.errors import Conflict
from workers.cli_mailbox import mail_factory

leads_app = typer.Typer(help="Leads: scoring.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@leads_app.command("score")
def score(
    retrain: Annotated[bool, typer.Option("--retrain", help="Train the predictive model first.")] = False,
    all_leads: Annotated[
        bool, typer.Option("--all", help="Every open lead, not only those changed since their scores.")
    ] = False,
) -> None:
    """Score the open leads with the active scoring model and the current predictive model."""
    from crm_core.scoring import refresh

    with mail_factory() as (settings, factory):
        if retrain:
            try:
                model = refresh.retrain(factory, refresh.Options.from_settings(settings))
            except Conflict as exc:
                err.print(f"[yellow]not trained:[/yellow] {exc.detail}", highlight=False, soft_wrap=True)
            else:
                console.print(
                    f"predictive model version {model.version}: {model.won_count} qualified and "
                    f"{model.lost_count} disqualified leads, held-out AUC {model.holdout_auc:.3f}; "
                    f"strongest inputs: {', '.join(i['label'] for i in model.importances[:3])}"
                )
        columns = (TextColumn("scoring leads"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("score", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            summary = refresh.rescore(factory, changed_only=not (all_leads or retrain), progress=advance)
    if summary.busy:
        err.print("another scoring run is under way (a worker's); nothing done")
        raise typer.Exit(1)
    kinds = [k for k, m in (("rule", summary.rule_model_id), ("predictive", summary.predictive_model_id)) if m]
    console.print(f"scored {summary.leads} leads ({', '.join(kinds) or 'no model: nothing'} scores)")
