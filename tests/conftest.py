"""Suite-wide settings: no test may reach outside this machine.

google-auth's application-default lookup pings the GCE metadata server when nothing else is
configured; tests inject credentials instead, and this makes an accidental lookup fail fast
and locally (also in the provider processes the engine tests start, which inherit it).
"""

from __future__ import annotations

import os

os.environ["NO_GCE_CHECK"] = "true"
for _var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_API_KEY", "GEMINI_API_KEY"):
    os.environ.pop(_var, None)
