"""The quality gate, run over a backend: ask the trained model, score its answers, judge.

No Pulumi here (like :mod:`tuned_models.lifecycle`, which calls it once training succeeded).

- :func:`load_evaluation_examples` re-reads the gate's examples and checks they are the ones the
  preview saw (the same digest), as the training data is checked.
- :func:`evaluate` sends each example's ``textInput`` to the model (:meth:`Backend.generate`: the
  model's own sampling settings, a fixed seed), :data:`CONCURRENCY` at a time, scores each answer
  with the gate's metric (:mod:`tuned_models.model.scoring`) and returns the
  :class:`~tuned_models.model.evaluation.GateResult`.
- :func:`enforce` raises :class:`GateFailed` when the result is below ``minScore``: its message
  has the score, the worst examples, and what the user can do. The provider turns it into a
  failed ``create`` (nothing is recorded, the serving model stays) or a failed ``update``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from tuned_models.backends.base import Backend, Log
from tuned_models.model.datasets import DatasetError, dataset_path, examples_digest, read_examples
from tuned_models.model.desired import ModelInputs
from tuned_models.model.evaluation import Answer, GateResult, judge
from tuned_models.model.scoring import score
from tuned_models.model.spec import Example
from tuned_models.model.state import iso_z
from tuned_models.waiter import Patience

#: How many evaluation requests are in flight at once, per model.
CONCURRENCY = 4


class GateFailed(RuntimeError):
    """A model scored below its gate's ``minScore``; ``result`` says by how much and where."""

    def __init__(self, message: str, result: GateResult) -> None:
        super().__init__(message)
        self.result = result


def load_evaluation_examples(inputs: ModelInputs, root: Path) -> list[Example]:
    """The gate's examples, checked against the digest the preview saw.

    Raises RuntimeError naming the model when there is no gate, or the file cannot be read or
    changed since the preview.
    """
    if inputs.evaluation is None:
        raise RuntimeError(f"{inputs.label}: no evaluation declared")
    source = inputs.evaluation.examples
    if isinstance(source, str):
        try:
            examples = read_examples(dataset_path(root, source))
        except DatasetError as e:
            raise RuntimeError(f"{inputs.label}: cannot read the evaluation examples: {e}") from None
    else:
        examples = list(source)
    digest = examples_digest(examples)
    if digest != inputs.evaluationDigest:
        where = source if isinstance(source, str) else "the inline evaluation examples"
        raise RuntimeError(
            f"{inputs.label}: {where} changed since the preview (digest {digest} != "
            f"{inputs.evaluationDigest}). Run `pulumi up` again to review the change."
        )
    return examples


def evaluate(
    backend: Backend,
    name: str,
    inputs: ModelInputs,
    root: Path,
    log: Log,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    patience: Patience | None = None,
) -> GateResult:
    """Evaluate the model ``name`` against the gate ``inputs`` declare; with ``patience``, an
    outage of the service is ridden out until its deadline (asking again changes nothing).

    Raises RuntimeError (naming the model and the example) when the service does not answer.
    """
    gate = inputs.gate
    if gate is None:
        raise RuntimeError(f"{inputs.label}: no evaluation declared")
    examples = load_evaluation_examples(inputs, root)
    log.info(f"{inputs.label}: evaluating {name} on {len(examples)} examples ({gate.describe()})")

    def ask(item: tuple[int, Example]) -> Answer:
        index, example = item

        def ask_once() -> str:
            return backend.generate(name, example.textInput)

        try:
            answer = patience.call(f"asking example {index}", ask_once) if patience else ask_once()
        except Exception as e:
            raise RuntimeError(
                f"{inputs.label}: evaluating {name}: example {index} got no answer: {e}"
            ) from e
        return Answer(
            index, example.textInput, example.output, answer, score(gate.metric, example.output, answer)
        )

    with ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="evaluate") as pool:
        answers = list(pool.map(ask, enumerate(examples, start=1)))
    return judge(gate, name, answers, iso_z(now()) or "")


def enforce(result: GateResult, label: str, log: Log, *, serving: bool) -> None:
    """Log a passed gate; raise :class:`GateFailed` for a failed one.

    ``serving``: the model already serves (a changed gate re-evaluated it), so there is no other
    model to fall back to; else it was just trained or adopted and does not replace anything.
    """
    if result.passed:
        log.info(f"{label}: quality gate passed: {result.summary()}")
        return
    if serving:
        outcome = (
            f"{label}: the serving model {result.model} fails its changed quality gate: "
            f"{result.summary()}. It keeps serving (there is no other model to fall back to) and the "
            "recorded gate stays as it was."
        )
        advice = "Change the gate back, or change the data or hyperparameters to train a new model."
    else:
        outcome = (
            f"{label}: {result.model} failed its quality gate: {result.summary()}. It stays on the "
            "service, trained but not serving: the model this stack serves, if any, is unchanged."
        )
        advice = (
            "Change the gate (or its examples) and run `pulumi up` to evaluate the same model again "
            "without training, or change the data or hyperparameters to train a new one (this one "
            "then stays on the service: `tuned-models plan` lists it as not managed)."
        )
    worst = "\n".join(f"  {line}" for line in result.worst_lines())
    raise GateFailed(f"{outcome}\nWorst examples:\n{worst}\n{advice}", result)
