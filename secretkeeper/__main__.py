"""`python -m secretkeeper`: the same entry point as the `secretkeeper` command."""

import sys

from secretkeeper.cli import main

sys.exit(main())
