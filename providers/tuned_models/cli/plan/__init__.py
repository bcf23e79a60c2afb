"""``tuned-models plan --stack NAME``: exactly what ``pulumi up`` will do to a stack's models and
their sharing, for a reviewer to approve.

``pulumi up`` (with ``refresh: always``, see Pulumi.yaml) first reads every resource of the
stack's state from the service, then compares each declared resource with what it read (the
provider's ``diff``), then deletes the resources of the state the program no longer declares.
This command does the same, read-only, with the same code: the stack's state
(:mod:`tuned_models.stack.state`), the refresh (:func:`tuned_models.lifecycle.refreshed_outputs`),
the desired inputs (:func:`tuned_models.model.desired.model_inputs`) and the one planner
(:func:`tuned_models.model.planner.decide`, ``decide_unrecorded``, ``decide_grant``,
``decide_owner``).

What it says, per model (``action``; ``step`` is the step ``pulumi preview`` shows):

- ``create`` (step create): trained anew; or, when the service already has the exact
  deterministic id from an ``up`` that did not record it (interrupted, or the model failed its
  quality gate), adopted without a second training (waited for while it still trains);
- ``adopt`` (create): ``adopt: tunedModels/...`` takes over an existing model, no training;
- ``retrain`` (replace, or create when the state does not record it): with the fields that
  force it, the dataset file and its example counts, the source model whose retrain cascades,
  or the previous attempt that FAILED (deleted, then trained again); when the new id is
  already trained (its gate failed before), it replaces the serving model without training;
- ``update`` (update): the updatable fields, old and new;
- ``re-evaluate`` (update): only the quality gate changed: the same model is evaluated again,
  nothing retrains;
- ``delete`` (delete): in the state, no longer declared: removed from the service (adopted
  models included); ``forget``: the same with ``retainOnDelete``, left on the service;
- ``none`` (same).

A model with a quality gate says so: ``evaluates`` (the action runs the gate, which must pass
before the model is recorded or replaces the serving one) and ``gate`` (the declared metric and
``minScore``, and the score Pulumi recorded for the current model).

``tunedModel`` is the model's name once ``up`` is done (null for a vertex model not trained yet:
the service names its job), ``current`` its name now; for a vertex model, ``deployment`` is what
``current`` made: its tuning job, Model Registry model version and endpoint, which a retrain or
delete removes (the job stays: Vertex AI keeps every job).

``refused`` says when ``pulumi up`` will stop instead (``protect``, an adopted model that does
not exist). Models that carry the stack's tag but are neither in the state nor declared are
listed apart and are never changes: "not managed" (left by ``retainOnDelete``, an ownership
transfer, or a retrain that failed its quality gate before the spec changed again), "orphan"
(a FAILED attempt: ``tuned-models prune`` removes it), or, without state, "not attributed"
(the tag is not proof: it may be another stack's). Without state (no Pulumi
CLI, ``--no-state``) the plan is partial and says so: declared models are still matched by
their exact deterministic id, which is certain.

Exit codes: 0, or with ``--detailed-exitcode`` 0 (no changes) / 2 (changes); 1 on error.
"""

from __future__ import annotations

import argparse

from tuned_models.cli.frame import run_command
from tuned_models.cli.plan.build import build_plan
from tuned_models.cli.plan.markdown import render_markdown
from tuned_models.cli.plan.shapes import (
    ACTION_WORDS,
    GrantPlan,
    ModelAction,
    ModelPlan,
    SharingChange,
    StackPlan,
)

__all__ = [
    "ACTION_WORDS",
    "GrantPlan",
    "ModelAction",
    "ModelPlan",
    "SharingChange",
    "StackPlan",
    "build_plan",
    "render_markdown",
    "run_plan",
]


def run_plan(args: argparse.Namespace) -> int:
    """The ``plan`` command (see the module docstring)."""
    return run_command(
        args,
        "plan",
        build_plan,
        lambda plan: plan.to_json(),
        render_markdown,
        changes=lambda plan: plan.changes,
    )
