"""``python -m backend.simulator`` = ``venuesim``."""

import sys

from backend.simulator.cli import main

sys.exit(main())
