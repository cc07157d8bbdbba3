"""A recording's plan: kept in its metadata, so a live recording, its replay and `analyze` follow it alike.

The plan (bandlog.coach.Plan, from `--plan`) is written into the log header as `# extra.plan: 3x8@4
r90 LR` (and `# extra.plan_stop_on: 2 fast`); whoever runs a recording through the pipeline asks
`tracker_for(meta)` for the SetTracker that follows it, so the sets, rests and loss-of-control
counts of a replay are those the user saw live.
"""

from __future__ import annotations

from dataclasses import replace

from bandlog.coach import Plan, SetTracker, parse_plan
from bandlog.core.errors import ConfigError, LogFormatError
from bandlog.core.meta import RecordingMeta

PLAN_KEY = "plan"
"""RecordingMeta.extra key: the plan as `--plan` text (Plan.text())."""
STOP_ON_KEY = "plan_stop_on"
"""RecordingMeta.extra key: the plan's stop rules as `--stop-on` text ('' for none)."""
PLAN_NAME_KEY = "plan_name"


def with_plan(meta: RecordingMeta, plan: Plan) -> RecordingMeta:
    """`meta` carrying `plan` (its legs, when the plan names one leg, become the recording's leg)."""
    extra = {**meta.extra, PLAN_KEY: plan.text(), STOP_ON_KEY: ", ".join(rule.text() for rule in plan.stop_on)}
    if plan.name:
        extra[PLAN_NAME_KEY] = plan.name
    leg = meta.leg if meta.leg is not None or plan.legs not in ("left", "right") else plan.legs
    return replace(meta, extra=extra, leg=leg, target_ecc_s=plan.ecc_s)


def plan_of(meta: RecordingMeta | None) -> Plan | None:
    """The plan a recording followed, from its metadata; None when it followed none. A plan text that
    no longer parses is a LogFormatError naming it (never silently ignored)."""
    if meta is None or not meta.extra.get(PLAN_KEY, "").strip():
        return None
    text = meta.extra[PLAN_KEY]
    try:
        plan = parse_plan(text, stop_on=meta.extra.get(STOP_ON_KEY, ""))
    except ConfigError as error:
        raise LogFormatError(f"the log's plan {text!r} cannot be read ({error})") from None
    name = meta.extra.get(PLAN_NAME_KEY)
    return replace(plan, name=name) if name else plan


def tracker_for(meta: RecordingMeta | None) -> SetTracker | None:
    """The SetTracker that follows the recording's plan, or None when it has none."""
    plan = plan_of(meta)
    return None if plan is None else SetTracker(plan)
