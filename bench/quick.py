"""`--quick`, as every benchmark reads it: smaller sizes for a smoke run, except where the command line set them."""

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def apply_quick(args: argparse.Namespace, argv: Sequence[str] | None, sizes: Mapping[str, Any]) -> None:
    """Sets each `--flag: value` of `sizes` on `args` unless the flag was given."""
    given = set(argv if argv is not None else sys.argv[1:])
    for flag, value in sizes.items():
        if flag not in given:
            setattr(args, flag[2:].replace("-", "_"), value)
