"""The tuned-models Pulumi program: stack config -> validated specs -> TunedModel resources.

Kept thin on purpose; everything lives in providers.program.
"""

from providers.program import run

run()
