"""``python -m vecgen`` and the ``vecgen`` command.

The entry point imports the command's modules (Polars, NumPy, pyarrow) only
after it can answer Ctrl-C with one line instead of an import traceback.
"""

import sys

EXIT_INTERRUPTED = 130


def main() -> int:
    """Run the command; Ctrl-C while it is still starting up exits 130 quietly."""
    try:
        from vecgen.cli import main as cli_main

        # The command handles Ctrl-C during a run itself; what reaches here came
        # before it started (parsing the arguments), when nothing was written yet.
        return cli_main()
    except KeyboardInterrupt:
        print("\nvecgen: interrupted while starting; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
