"""The Gemini API client's retries: the policy and loop every client here shares
(:mod:`tuned_models.rest.retry`)."""

from __future__ import annotations

from tuned_models.rest.retry import RetryPolicy, send_with_retry

__all__ = ["RetryPolicy", "send_with_retry"]
