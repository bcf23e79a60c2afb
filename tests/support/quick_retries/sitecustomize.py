"""Every Python process started with this folder first on ``PYTHONPATH`` (a provider server, a
Pulumi program) retries ten times sooner than the product: the per-call policy
(``tuned_models.rest.core.DEFAULT_RETRY``) and :class:`tuned_models.waiter.Patience`'s pauses
(``tuned_models.waiter.PATIENCE``) are replaced by the same policies with every wait, bound and
deadline divided by ten. Attempt counts, what is retried and the waits the service asks for are
unchanged.

It runs at interpreter start-up, before anything imports those names, so every client and every
default argument sees the quick policy. The chaos suites use it (tests/support/chaos.py,
``QUICK_RETRIES``), which tests how many `up`s converge, not how long the product waits.
"""

from __future__ import annotations

from dataclasses import replace

import tuned_models.rest
from tuned_models import waiter
from tuned_models.rest import core
from tuned_models.rest.retry import RetryPolicy

#: How much sooner than the product every retry comes.
SPEED_UP = 10.0


def quick(policy: RetryPolicy) -> RetryPolicy:
    """``policy`` with its waits, their cap and its deadline divided by :data:`SPEED_UP`."""
    return replace(
        policy,
        initial=policy.initial / SPEED_UP,
        maximum=policy.maximum / SPEED_UP,
        deadline=policy.deadline / SPEED_UP,
    )


core.DEFAULT_RETRY = tuned_models.rest.DEFAULT_RETRY = quick(core.DEFAULT_RETRY)
waiter.PATIENCE = quick(waiter.PATIENCE)
