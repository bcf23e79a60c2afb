"""The tuned-models Pulumi program: stack config -> validated specs -> TunedModel resources.

Kept thin on purpose; everything lives in tuned_models.program.
"""

from tuned_models.program import run

run()
