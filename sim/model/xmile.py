"""The mean-field core (:mod:`sim.model.meanfield`) written as an XMILE 1.0 model.

XMILE (OASIS, "XML Interchange Language for System Dynamics" v1.0, 2015,
https://docs.oasis-open.org/xmile/xmile/v1.0/xmile-v1.0.html) is the exchange format of
Stella and read by Vensim and PySD. :func:`xmile_text` returns the document; the command
line writes it (``python run.py export-xmile``). Stocks are those of
:data:`sim.model.meanfield.STOCKS`, flows carry the names of :data:`sim.model.structure.FLOWS`,
the scenario's values are constants, and the simulation is Euler with a step of one month
from 0 to the horizon: the value of a stock at time ``t + 1`` is the stochastic model's record
of month ``t``. Every flow is written from the stocks at the start of the month, so the chain
of one month's transitions (:func:`sim.model.meanfield.simulate_mean_field`) is spelled out
in the flows' equations (docs/structure.md §2).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from sim.model.meanfield import MeanFieldGrant, MeanFieldParameters
from sim.model.structure import LOOPS

__all__ = ["xmile_text"]

_NS = "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"

# name: (inflows, outflows, initial value, unit)
_STOCKS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, str]] = {
    "las_unaware": ((), ("awareness",), "las - initial_aware", "LAs"),
    "las_aware": (("awareness", "return_from_lapse", "rejection"), ("evaluation_start",),
                  "initial_aware", "LAs"),
    "las_evaluating": (("evaluation_start",), ("approval", "rejection"), "0", "LAs"),
    "las_member": (("approval",), ("contribution", "orphan_lapse", "renewal_lapse_member"),
                   "0", "LAs"),
    "las_contributor": (("contribution",), ("championing", "renewal_lapse_contributor"), "0",
                        "LAs"),
    "las_champion": (("championing",), ("renewal_lapse_champion",), "0", "LAs"),
    "las_lapsed": (("orphan_lapse", "renewal_lapse_member", "renewal_lapse_contributor",
                    "renewal_lapse_champion"), ("return_from_lapse",), "0", "LAs"),
    "staff_delivery": (("hires_delivery",), ("resignations_delivery",), "initial_delivery",
                       "FTE"),
    "staff_engagement": (("hires_engagement",), ("resignations_engagement",),
                         "initial_engagement", "FTE"),
    "staff_leadership": (("hires_leadership",), ("resignations_leadership",),
                         "initial_leadership", "FTE"),
    "reserves": (("income",), ("costs",), "opening_reserves_gbp", "GBP"),
}

_ROLES = ("delivery", "engagement", "leadership")
_POLARITY = {"R": "reinforcing", "B": "balancing"}


def _sum(terms: list[str]) -> str:
    return " + ".join(terms) if terms else "0"


def _grant_equations(grants: tuple[MeanFieldGrant, ...]) -> dict[str, tuple[str, str, str]]:
    """Each grant's expected payment due and at risk (its terms written out as conditions on
    TIME), and what the grants pay: fixed ones their profile, eligible-spend ones claimed in
    order (:func:`sim.model.meanfield.claim_grants`)."""
    eq: dict[str, tuple[str, str, str]] = {}
    for g, grant in enumerate(grants):
        running, risk = [], []
        terms = len(grant.terms())
        for k in range(terms):
            # the term's dates and chances as expressions of the grant's constants
            c = f"grant{g}_"
            first_x = (f"{c}start_month" if k == 0
                       else f"({c}end_month + {k - 1} * {c}renewal_months)")
            end_x = f"({c}end_month + {k} * {c}renewal_months)" if k else f"{c}end_month"
            weight = f"{c}renewal_prob ^ {k}" if k else "1"
            real = f"(1 - {c}renewal_prob)" if k < terms - 1 else "1"
            running.append(f"(IF TIME >= {first_x} AND TIME < {end_x} THEN {weight} ELSE 0)")
            risk.append(f"(IF TIME >= {first_x} AND TIME < {end_x} AND TIME >= {end_x} - "
                        f"uncertainty_window_months THEN {weight} * {real} ELSE 0)")
        eq[f"grant{g}_due"] = ("aux", f"({_sum(running)}) * grant{g}_gbp_per_month",
                               "GBP/Month")
        eq[f"grant{g}_at_risk"] = ("aux", f"({_sum(risk)}) * grant{g}_gbp_per_month",
                                   "GBP/Month")
    eq["grants_due"] = ("aux", _sum([f"grant{g}_due" for g in range(len(grants))]),
                        "GBP/Month")
    eq["grants_at_risk"] = ("aux", _sum([f"grant{g}_at_risk" for g in range(len(grants))]),
                            "GBP/Month")
    return eq


def _claim_equations(grants: tuple[MeanFieldGrant, ...]) -> dict[str, tuple[str, str, str]]:
    eq: dict[str, tuple[str, str, str]] = {
        "fixed_grants": ("aux", _sum([f"(1 - grant{g}_eligible_spend) * grant{g}_due"
                                      for g in range(len(grants))]), "GBP/Month"),
        "need_0": ("aux", "MAX(costs - fixed_grants - core_income, 0)", "GBP/Month"),
        "earned_0": ("aux", "subscriptions", "GBP/Month"),
    }
    for g in range(len(grants)):
        c = f"grant{g}_"
        eq[f"deducted_{g}"] = ("aux", f"IF {c}eligible_spend = 1 AND {c}offsets = 1 THEN "
                               f"MIN(earned_{g}, need_{g}) ELSE 0", "GBP/Month")
        eq[f"earned_{g + 1}"] = ("aux", f"earned_{g} - deducted_{g}", "GBP/Month")
        eq[f"claimed_{g}"] = ("aux", f"IF {c}eligible_spend = 1 THEN MIN(need_{g} - "
                              f"deducted_{g}, {c}due) ELSE 0", "GBP/Month")
        eq[f"need_{g + 1}"] = ("aux", f"IF {c}eligible_spend = 1 THEN MAX(need_{g} - "
                               f"deducted_{g} - claimed_{g}, 0) ELSE need_{g}", "GBP/Month")
    eq["grant_paid"] = ("aux", "fixed_grants + " + _sum([f"claimed_{g}"
                                                         for g in range(len(grants))]),
                        "GBP/Month")
    return eq


def _equations(grants: tuple[MeanFieldGrant, ...]) -> dict[str, tuple[str, str, str]]:
    """name → (kind ``flow`` or ``aux``, equation, unit), in reading order."""
    eq: dict[str, tuple[str, str, str]] = {
        # calendar (docs/model.md §1.2, §5.6)
        "paying": ("aux", "IF TIME >= subscriptions_from_month THEN 1 ELSE 0", "dmnl"),
        "april": ("aux", "IF TIME >= first_april AND (TIME - first_april) - "
                  "12 * INT((TIME - first_april) / 12) = 0 THEN 1 ELSE 0", "dmnl"),
        "renew_chance": ("aux", "IF TIME = first_paid_april THEN renew_first_paid ELSE "
                         "(IF paying = 1 THEN renew_paid ELSE renew_free)", "dmnl"),
        "lapse_share": ("aux", "april * (1 - renew_chance)", "dmnl"),
        # §2.7 April renewal
        "renewal_lapse_member": ("flow", "las_member * lapse_share", "LAs/Month"),
        "renewal_lapse_contributor": ("flow", "las_contributor * lapse_share", "LAs/Month"),
        "renewal_lapse_champion": ("flow", "las_champion * lapse_share", "LAs/Month"),
        "members_renewed": ("aux", "las_member - renewal_lapse_member", "LAs"),
        "contributors_renewed": ("aux", "las_contributor - renewal_lapse_contributor", "LAs"),
        "champions_renewed": ("aux", "las_champion - renewal_lapse_champion", "LAs"),
        "lapsed_now": ("aux", "las_lapsed + renewal_lapse_member + renewal_lapse_contributor + "
                       "renewal_lapse_champion", "LAs"),
        # §5 income contracted now; §3.3 the hiring freeze
    }
    eq.update(_grant_equations(grants))
    eq.update({
        "core_income": ("aux", "IF TIME >= core_budget_from_month THEN "
                        "core_budget_gbp_per_month ELSE 0", "GBP/Month"),
        "subscriptions_due": ("aux", "paying * (members_renewed + contributors_renewed + "
                              "champions_renewed) * member_price_gbp_per_year / 12",
                              "GBP/Month"),
        "income_now": ("aux", "grants_due + core_income + subscriptions_due", "GBP/Month"),
        "full_team_costs": ("aux", "fixed_costs_gbp_per_month + "
                            + " + ".join(f"establishment_{r} * cost_{r}_gbp_per_month"
                                         for r in _ROLES), "GBP/Month"),
        "frozen": ("aux", "IF reserves + freeze_months * (income_now - full_team_costs) < 0 "
                   "THEN 1 ELSE 0", "dmnl"),
        # §3.1 resignations, faster ahead of the grant's end; §3.2 hires
        "ending_share": ("aux", "IF income_now > 0 THEN grants_at_risk / income_now ELSE 0",
                         "dmnl"),
        "leave_chance": ("aux", "1 - EXP(-resignation_per_month * (1 + uncertainty_uplift * "
                         "ending_share))", "dmnl"),
    })
    for r in _ROLES:
        eq[f"resignations_{r}"] = ("flow", f"staff_{r} * leave_chance", "FTE/Month")
        eq[f"hires_{r}"] = ("flow", f"MAX(establishment_{r} - (staff_{r} - resignations_{r}), 0)"
                            " * fill_chance * (1 - frozen)", "FTE/Month")
        eq[f"staff_{r}_now"] = ("aux", f"staff_{r} - resignations_{r} + hires_{r}", "FTE")
    eq.update({
        # §2.3 awareness; §2.4 return; §2.5 evaluation start; §2.6 approval
        "outreach": ("aux", "MIN(staff_engagement_now / outreach_reference_fte, "
                     "outreach_max_multiplier)", "dmnl"),
        "peer_share": ("aux", "(members_renewed + contributors_renewed + champion_peer_weight * "
                       "champions_renewed) / las", "dmnl"),
        "awareness": ("flow", "las_unaware * (1 - EXP(-(p_per_month * outreach + q_per_month * "
                      "peer_share)))", "LAs/Month"),
        "return_from_lapse": ("flow", "lapsed_now * return_chance", "LAs/Month"),
        "evaluation_start": ("flow", "(las_aware + awareness + return_from_lapse) * "
                             "start_chance", "LAs/Month"),
        "evaluating_now": ("aux", "las_evaluating + evaluation_start", "LAs"),
        # §2.10 once members pay, only LAs willing to pay join: the market's ceiling
        "willing_left": ("aux", "MAX(willing_las - (members_renewed + contributors_renewed + "
                         "champions_renewed), 0) / MAX(las - (members_renewed + "
                         "contributors_renewed + champions_renewed), 1)", "dmnl"),
        "approval": ("flow", "evaluating_now * (IF paying = 1 THEN join_paid * willing_left "
                     "ELSE join_free)", "LAs/Month"),
        "rejection": ("flow", "evaluating_now * (IF paying = 1 THEN decide_paid ELSE "
                      "decide_free) - approval", "LAs/Month"),
        # §2.8 champions: orphaned members lapse; contribution; championing
        "members_now": ("aux", "members_renewed + approval", "LAs"),
        "orphan_lapse": ("flow", "members_now * champion_leave_chance * orphan_lapse_prob",
                         "LAs/Month"),
        "contribution": ("flow", "(members_now - orphan_lapse) * contribute_chance",
                         "LAs/Month"),
        "championing": ("flow", "(contributors_renewed + contribution) * champion_chance",
                        "LAs/Month"),
        # §5 money: subscriptions at their run rate, running costs, the grant
        "subscriptions": ("aux", "paying * (members_now - orphan_lapse + contributors_renewed + "
                          "champions_renewed) * member_price_gbp_per_year / 12", "GBP/Month"),
        "costs": ("flow", "fixed_costs_gbp_per_month + "
                  + " + ".join(f"staff_{r}_now * cost_{r}_gbp_per_month" for r in _ROLES),
                  "GBP/Month"),
    })
    eq.update(_claim_equations(grants))
    eq.update({
        "income": ("flow", "grant_paid + core_income + subscriptions", "GBP/Month"),
        "members": ("aux", "las_member + las_contributor + las_champion", "LAs"),
    })
    return eq


def _element(kind: str, name: str, eqn: str, unit: str, extra: str = "") -> str:
    return (f'      <{kind} name="{name}">\n        <eqn>{escape(eqn)}</eqn>\n{extra}'
            f"        <units>{escape(unit)}</units>\n      </{kind}>")


def xmile_text(mf: MeanFieldParameters, horizon_months: int, *, name: str = "coe-sim",
               title: str = "", version: str = "") -> str:
    """The XMILE 1.0 document of the mean-field core with ``mf``'s constants, run by Euler
    with a step of one month from 0 to ``horizon_months``."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<xmile version="1.0" xmlns="{_NS}">',
             "  <header>",
             "    <vendor>coe-sim</vendor>",
             f'    <product version="{escape(version)}" lang="en">coe-sim</product>',
             f"    <name>{escape(name)}</name>",
             "  </header>",
             '  <sim_specs method="Euler" time_units="Months">',
             f"    <start>0</start>\n    <stop>{int(horizon_months)}</stop>\n    <dt>1</dt>",
             "  </sim_specs>",
             "  <model>",
             f"    <doc>{escape(title or name)}: the mean-field core of coe-sim "
             "(docs/structure.md). Loops: "
             + escape("; ".join(f"{lp.key} {lp.name} ({_POLARITY[lp.polarity]})"
                                for lp in LOOPS)) + "</doc>",
             "    <variables>"]
    for stock, (inflows, outflows, initial, unit) in _STOCKS.items():
        links = "".join(f"        <inflow>{f}</inflow>\n" for f in inflows) + "".join(
            f"        <outflow>{f}</outflow>\n" for f in outflows)
        parts.append(_element("stock", stock, initial, unit, links))
    for var, (kind, eqn, unit) in _equations(mf.grants).items():
        parts.append(_element(kind, var, eqn, unit))
    for const, value in mf.values().items():
        parts.append(_element("aux", const, repr(float(value)), "dmnl"))
    parts += ["    </variables>", "  </model>", "</xmile>", ""]
    return "\n".join(parts)
