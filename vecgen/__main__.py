"""``python -m vecgen``: the same as the ``vecgen`` command."""

import sys

from vecgen.cli import main

sys.exit(main())
