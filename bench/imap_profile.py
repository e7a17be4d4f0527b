"""Where our IMAP sync's time goes: cProfile around `sync_mailbox` for bench/imap_sync.py's three scenarios,
on one Dovecot INBOX of generated mail and a fresh SQLite (or PostgreSQL) database.

    .venv/bin/python bench/imap_profile.py [--messages 2000] [--repeats 5] [--database-url URL]
                                           [--profile first,unchanged,change] [--top 30] [--sort cumulative]

Prints each scenario's wall-clock times (median of `--repeats` passes, unprofiled) and the profile of one more
pass of each scenario named in `--profile`. The warm-up is imap_sync's (the server's files and index warm)."""

import argparse
import cProfile
import pstats
import random
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `tests` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset import fresh_database, fresh_sqlite
from bench.imap_corpus import ChangeSet, Generator, apply_changes, fill_maildir
from bench.imap_sync import Account, BenchDovecot, OurSync, _client
from tests.mailbridge.dovecot import find_dovecot


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5, help="unprofiled passes per scenario (first: one)")
    p.add_argument("--database-url", help="a PostgreSQL server (a fresh database); default SQLite")
    p.add_argument("--profile", default="unchanged,change", help="scenarios to profile (first,unchanged,change)")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--sort", default="cumulative")
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    profiled = set(filter(None, args.profile.split(",")))
    binary = find_dovecot()
    if binary is None:
        print("needs Dovecot: apt-get install dovecot-imapd", file=sys.stderr)
        return 2
    server = BenchDovecot(binary)
    server.start()
    try:
        username, password = server.add_user()
        account = Account(server, username, password)
        generator = Generator(args.seed)
        fill_maildir(account.maildir, server.mail_owner(), generator, args.messages, lambda n: None)
        account.warm()
        rng, number = random.Random(args.seed), args.messages
        database = fresh_sqlite() if args.database_url is None else fresh_database(args.database_url)
        with database as url:
            ours = OurSync(url, account, generator.senders)
            try:

                def run(scenario: str, profile: bool) -> float:
                    nonlocal number
                    if scenario == "change":
                        client = _client(account)
                        number = apply_changes(client, generator, number, ChangeSet(), rng)
                        client.logout()
                    account.warm()
                    if not profile:
                        return ours.sync()[0]
                    profiler = cProfile.Profile()
                    profiler.enable()
                    seconds = ours.sync()[0]
                    profiler.disable()
                    print(f"\n=== {scenario}: {seconds * 1000:.1f} ms under the profiler ===")
                    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
                    return seconds

                first = run("first", "first" in profiled)
                print(f"first sync: {first:.3f} s ({args.messages / first:.0f} msg/s)")
                for scenario in ("unchanged", "change"):
                    times = [run(scenario, False) for _ in range(args.repeats)]
                    print(
                        f"{scenario}: median {statistics.median(times) * 1000:.1f} ms "
                        f"({', '.join(f'{t * 1000:.1f}' for t in times)})"
                    )
                    if scenario in profiled:
                        run(scenario, True)
            finally:
                ours.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
