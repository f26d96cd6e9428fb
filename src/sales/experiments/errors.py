from sales.core.errors import Conflict, NotFound


class ExperimentNotFound(NotFound):
    code, title = "experiment_not_found", "Experiment not found"


class ExperimentNotDraft(Conflict):
    """Variants, weights, coverage, seed and trigger change only while the experiment is a DRAFT."""

    code, title = "experiment_not_draft", "Only a DRAFT experiment changes its variants"


class InvalidTransition(Conflict):
    """DRAFT -> RUNNING -> STOPPED; CONCLUDED only through POST .../conclude."""

    code, title = "invalid_transition", "Status change not allowed"


class TriggerBusy(Conflict):
    """Another experiment is running (or its winner rolling out) on the same trigger."""

    code, title = "experiment_trigger_busy", "Another experiment drives this trigger"


class ExperimentChanged(Conflict):
    """`version` is no longer the experiment's version (or a concurrent change won)."""

    code, title = "experiment_changed", "Experiment changed"


class ConclusionRefused(Conflict):
    """The minimum sample is not reached or the winner is not significantly better; a `reason` overrides."""

    code, title = "conclusion_refused", "Conclusion refused"
