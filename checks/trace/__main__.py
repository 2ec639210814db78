"""`python -m checks.trace`: see checks/trace/cli.py."""

import sys

from checks.trace.cli import main

sys.exit(main())
