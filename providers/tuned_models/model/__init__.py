"""The pure domain of a tuned model: its spec, field behaviour, desired state, planner,
ids, datasets and problems. No Pulumi, no HTTP: ``validate`` and ``plan`` import it cheaply."""
