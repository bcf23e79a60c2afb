"""``python -m tuned_models.cli``: the ``tuned-models`` command."""

from __future__ import annotations

import sys

from tuned_models.cli import main

sys.exit(main())
