"""The `secretkeeper` command line: thin — parse options, call the library, map errors to exit codes.

Exit codes are a contract: 0 clean, 1 findings at/above --fail-on, 2 usage or runtime error (one line on
stderr naming the input), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM). Tracebacks never show
locals (a local may hold a secret); `--debug` re-raises for developers.

    app.py        the root app: families joined, --version, --debug, main() (the console script)
    scan.py       `scan`               baseline.py   `baseline`           rules.py   `rules list|test`
    rotate.py     `rotate`             status.py     `status`             put.py     `put`
    managed.py    what the commands on managed secrets share (config, audit options)
    errors.py     errors -> one line + exit code          gc_tuning.py   what a scan does to the GC
"""

from secretkeeper.cli.app import app, main

__all__ = ["app", "main"]
