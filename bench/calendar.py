"""`python bench/calendar.py`: the calendar benchmark, whose code is bench/calendar_bench.py.

The issue names this file, and a file named calendar.py in bench/ is what `import calendar` finds whenever a
bench script runs with bench/ first on sys.path (http.cookiejar and email import the standard library's
calendar). So this file is only a door: run as a script it starts the benchmark; imported as `calendar` it
puts the standard library's module in its place."""

import sys

if __name__ == "__main__":
    import runpy
    from pathlib import Path

    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    runpy.run_module("bench.calendar_bench", run_name="__main__", alter_sys=True)
else:
    import importlib.util
    import sysconfig
    from pathlib import Path

    _spec = importlib.util.spec_from_file_location("calendar", Path(sysconfig.get_paths()["stdlib"]) / "calendar.py")
    assert _spec is not None
    assert _spec.loader is not None
    _stdlib = importlib.util.module_from_spec(_spec)
    sys.modules["calendar"] = _stdlib  # the import that found this file returns what sys.modules holds
    _spec.loader.exec_module(_stdlib)
