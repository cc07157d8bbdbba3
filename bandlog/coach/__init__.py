"""Coaching a session through a prescription: the plan, hands-free sets, loss-of-control rules.

    plan = parse_plan("3x8@4 r90 LR", stop_on="2 fast")     # or plan_from_toml(file text)
    tracker = SetTracker(plan)
    coach_events = tracker.feed(analyzer_events, block.t_s[-1])   # after each block the analyzer took
    tracker.view(now_s)  ->  CoachView (set and rep counters, legs, rest timer)
    tracker.finish(last_t_s); tracker.report()  ->  PlanReport

Pure: device time comes in with the events and blocks; nothing here reads a clock, a file or prints.
"""

from bandlog.coach.control import FAST_FRACTION, ControlRules
from bandlog.coach.events import CoachEvent, ControlLost, PlanDone, RestEnded, SetEnded, SetStarted, SetWithdrawn
from bandlog.coach.plan import Plan, StopRule, parse_plan, parse_stop_on, plan_from_toml
from bandlog.coach.report import PlanReport, SetResult, plan_report
from bandlog.coach.sets import SET_END_AFTER_S, CoachView, SetTracker, TrackerState

__all__ = [
    "FAST_FRACTION",
    "SET_END_AFTER_S",
    "CoachEvent",
    "CoachView",
    "ControlLost",
    "ControlRules",
    "Plan",
    "PlanDone",
    "PlanReport",
    "RestEnded",
    "SetEnded",
    "SetResult",
    "SetStarted",
    "SetTracker",
    "SetWithdrawn",
    "StopRule",
    "TrackerState",
    "parse_plan",
    "parse_stop_on",
    "plan_from_toml",
    "plan_report",
]
