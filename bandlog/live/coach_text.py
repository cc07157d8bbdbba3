"""The coach in words for the live views: where the plan stands, and what just happened.

Pure text from bandlog.coach's view and events, so the terminal dashboard, the window and the phone
page say the same thing: 'set 2/4 (left) · rep 3/8', 'rest 45 s left · next: set 3/4 (right)',
'control lost: eccentric 1.3 s, under 2 s'.
"""

from __future__ import annotations

from bandlog.coach import CoachView, ControlLost, PlanDone, RestEnded, SetEnded, SetWithdrawn, TrackerState

ALERT_S = 6.0
"""How long (device time) a coach message stays on screen."""


def _set_words(number: int, planned: int, leg: str | None) -> str:
    return f"set {number}/{planned}" + (f" ({leg})" if leg else "")


def coach_label(view: CoachView | None) -> str:
    """One line on where the plan stands ('' without a plan)."""
    if view is None:
        return ""
    this_set = _set_words(view.set_number, view.sets_planned, view.leg_now)
    if view.state is TrackerState.WAITING:
        return f"plan: {this_set} next: it starts at your first rep"
    if view.state is TrackerState.IN_SET:
        lost = sum(view.control_lost.values())
        return f"{this_set} · rep {view.reps_done}/{view.reps_planned}" + (f" · control lost {lost}x" if lost else "")
    if view.state is TrackerState.RESTING:
        left = view.rest_left_s
        if left is not None and left > 0:
            return f"rest {left:.0f} s left · next: {this_set}"
        over = "" if left is None else f" {-left:.0f} s ago"
        return f"rest over{over}: start {this_set}"
    return f"plan done: {view.sets_planned}/{view.sets_planned} sets"


def coach_message(event: object) -> str | None:
    """What to tell the user about one coach event (None: nothing worth a message)."""
    if isinstance(event, ControlLost):
        return f"control lost ({event.kind}): {event.detail}"
    if isinstance(event, SetEnded):
        result = event.result
        return (f"set {result.set_number} done: {result.reps_done}/{result.reps_planned} reps, "
                f"{result.reps_on_tempo} on tempo ({result.end_reason})")
    if isinstance(event, RestEnded):
        return "rest over: start the next set" + (f" ({event.next_leg})" if event.next_leg else "")
    if isinstance(event, SetWithdrawn):
        return f"set {event.set_number} not started: {event.reason}"
    if isinstance(event, PlanDone):
        return f"plan done: {event.sets_done} sets"
    return None  # a set start: the counters say it
