"""Knee-angle trajectory of an eccentric-first session: the runner's stretch (bandlog.sim.planted).

The knee rests bent; each rep straightens under control (the eccentric, fitted exactly as the
reverse curl's so its labelled duration matches the plan), holds the stretch with the knee straight,
bends back to the rest (minimum jerk, the plan's flex_s) and rests there (the plan's rest_s, 'bottom'
rest in the curl's words). The standing "L" rests straight and bends first, like the curl, and is
laid out by bandlog.sim.kinematics.build_trajectory itself.
"""

from __future__ import annotations

from bandlog.sim.kinematics import GRID_HZ, Piece, RepTimes, Trajectory, _Ecc, _Flex, _Hold, fit_eccentric, synthesise
from bandlog.sim.plan import RepPlan
from bandlog.sim.spec import SessionSpec


def build_eccentric_first(spec: SessionSpec, plans: list[list[RepPlan]]) -> Trajectory:
    """Lay out every rep (eccentric, hold straight, flexion back, bent rest) and synthesise the angle.
    A rep's truth runs from where the knee leaves its rest to the end of the next rest; its loading
    flexion (for telling an inverted session) is the flexion back to the rest."""
    dt = 1.0 / GRID_HZ
    pieces: list[Piece] = []
    reps: list[RepTimes] = []
    set_bounds: list[tuple[float, float]] = []
    t_now = spec.lead_in_s
    flat = [plan for set_plans in plans for plan in set_plans]
    following = 0
    for set_index, set_plans in enumerate(plans):
        set_start = t_now
        for plan in set_plans:
            following += 1
            rest_deg = flat[following].top_deg if following < len(flat) else plan.top_deg
            t_ecc, theta_ecc = fit_eccentric(plan, plan.top_deg, plan.top_deg, spec, dt)
            ecc_end = t_now + float(t_ecc[-1])
            back_s = ecc_end + plan.hold_s
            rested_s = back_s + plan.flex_s
            end = rested_s + plan.rest_s
            bottom = float(theta_ecc[-1])
            pieces.append(_Ecc(t_now, ecc_end, t_ecc, theta_ecc))
            pieces.append(_Hold(ecc_end, back_s, bottom, 0.0, plan.tremor_dps))
            pieces.append(_Flex(back_s, rested_s, bottom, rest_deg, 0.0))
            reps.append(RepTimes(plan, t_now, t_now, t_now, ecc_end, end, flexion_s=(back_s, rested_s)))
            t_now = end
        set_bounds.append((set_start, t_now))
        if set_index < len(plans) - 1:
            t_now += spec.rest_between_sets_s
    return synthesise(spec, pieces, reps, set_bounds, t_now + spec.tail_s, flat[0].top_deg if flat else spec.ext_deg)
