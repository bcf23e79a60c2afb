"""A Pulumi program of your own that declares tuned models with the tuned-models library.

Install the project into the program's virtualenv (``pip install tuned-models``, or
``pip install -e <path to this repository>``), then ``pulumi up --stack dev``. No YAML stack
spec: the models are declared in Python with typed arguments. The provider reads its
connection from the stack's ``tuned-models:*`` config (``Pulumi.dev.yaml`` runs everything on
the embedded emulator).

What a change does is the same as in a stack file: a changed dataset, base model or
hyperparameter retrains (create before delete); a changed description or sampling default is
patched in place; a removed model is deleted.
"""

from __future__ import annotations

import pulumi

from tuned_models import Example, Hyperparameters, Permission, TunedModel, TunedModelArgs

greeter = TunedModel(
    "greeter",
    TunedModelArgs(
        displayName="greeter",
        description="Answers a greeting",
        baseModel="models/gemini-1.5-flash-001-tuning",
        dataset="datasets/greetings.jsonl",  # relative to the project root (where Pulumi.yaml is)
        hyperparameters=Hyperparameters(epochCount=3, batchSize=4),
        temperature=0.4,
        permissions=[
            Permission(user="analyst@example.com", role="READER"),
            Permission(group="ml-team@googlegroups.com", role="WRITER"),
        ],
    ),
    pulumi.ResourceOptions(protect=True),
)

counter = TunedModel(
    "counter",
    TunedModelArgs(
        description="Next number in a sequence",
        baseModel="models/gemini-1.5-flash-001-tuning",
        examples=[Example(textInput=str(n), output=str(n + 1)) for n in range(1, 21)],
        hyperparameters=Hyperparameters(epochCount=5),
        wait=False,  # return once submitted; a later `pulumi up` or refresh records the outcome
    ),
    pulumi.ResourceOptions(depends_on=[greeter]),
)

pulumi.export("greeter", greeter.name)
pulumi.export("counter", counter.name)
