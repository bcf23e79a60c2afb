"""``python -m tuned_models.stack --write-schema | --check-schema`` (see :mod:`.schema`)."""

from __future__ import annotations

import sys

from tuned_models.stack.schema import main

sys.exit(main())
