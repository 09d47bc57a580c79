"""The model's aggregate structure, declared: its stocks, the flows between them and the
feedback loops of docs/model.md §9, each naming the code it stands for.

These declarations are data, not a second model: the stochastic model never reads them. The
diagram of docs/structure.svg is drawn from them (:func:`dot_source`, rendered by
``python run.py structure``), the mean-field core and its XMILE export
(:mod:`sim.model.meanfield`, :mod:`sim.model.xmile`) name their stocks after them, and
tests/model/test_structure.py fails when a stock names no attribute of
:class:`~sim.model.state.BatchState`, a flow or a loop's variable names no rule or attribute
that exists, or docs/model.md §9 and :data:`LOOPS` disagree (docs/structure.md).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FLOWS", "LOOPS", "STOCKS", "VARIABLES", "Flow", "Link", "Loop", "Stock", "Variable",
           "dot_source", "loop_links"]

DOC = "docs/model.md"


@dataclass(frozen=True)
class Stock:
    """An aggregate stock: ``where`` is its attribute path in
    :class:`~sim.model.state.BatchState` (``portfolio.reputation``), ``selector`` the code or
    column that picks it out of that array (a :class:`~sim.model.codes.Ladder` or
    :class:`~sim.model.codes.Role` name; empty: the whole array, summed over its last axes)."""

    name: str
    label: str
    unit: str
    where: str
    selector: str = ""
    anchor: str = ""


@dataclass(frozen=True)
class Flow:
    """A flow from one stock to another (``""``: a source or sink outside the model), at
    ``rate`` (in words), set by the rule ``rule`` (a dotted path to a module-level function of
    ``sim.model``)."""

    name: str
    source: str
    target: str
    rate: str
    rule: str
    anchor: str = ""


@dataclass(frozen=True)
class Variable:
    """A variable a loop passes through: a stock (``ref`` is a :data:`STOCKS` name), a state
    attribute (``state:portfolio.reputation``), a parameter (``param:uptake.q_per_year``) or a
    rule function (``rule:sim.model.uptake.advance_ladder``) that computes it."""

    name: str
    label: str
    ref: str


@dataclass(frozen=True)
class Link:
    """One causal link of a loop: ``cause`` raises ``effect`` (``sign`` +1) or lowers it
    (−1)."""

    cause: str
    effect: str
    sign: int


@dataclass(frozen=True)
class Loop:
    """A feedback loop of docs/model.md §9: ``key`` (R1, B5a …), ``polarity`` ``R``
    (reinforcing) or ``B`` (balancing), ``chain`` its variables in order as
    ``"a > b > -c > a"`` (``-c``: b lowers c), closing on its first variable; ``anchor`` the
    section of docs/model.md that describes its mechanism."""

    key: str
    name: str
    polarity: str
    chain: str
    anchor: str


# ----------------------------------------------------------------------------- stocks

_LADDER = "#22-the-engagement-ladder"
STOCKS: tuple[Stock, ...] = (
    Stock("las_unaware", "unaware LAs", "LAs", "ladder", "UNAWARE", _LADDER),
    Stock("las_aware", "aware LAs", "LAs", "ladder", "AWARE", _LADDER),
    Stock("las_evaluating", "evaluating LAs", "LAs", "ladder", "EVALUATING", _LADDER),
    Stock("las_member", "member LAs", "LAs", "ladder", "MEMBER", _LADDER),
    Stock("las_contributor", "contributor LAs", "LAs", "ladder", "CONTRIBUTOR", _LADDER),
    Stock("las_champion", "champion LAs", "LAs", "ladder", "CHAMPION", _LADDER),
    Stock("las_lapsed", "lapsed LAs", "LAs", "ladder", "LAPSED", _LADDER),
    Stock("las_merged", "merged LAs", "LAs", "ladder", "MERGED",
          "#29-local-government-reorganisation"),
    Stock("champions", "champions", "people", "champions", "",
          "#28-champions-contribution-and-championing"),
    Stock("staff_delivery", "delivery staff", "FTE", "staff", "DELIVERY", "#3-workforce"),
    Stock("staff_engagement", "engagement staff", "FTE", "staff", "ENGAGEMENT", "#3-workforce"),
    Stock("staff_leadership", "leadership staff", "FTE", "staff", "LEADERSHIP", "#3-workforce"),
    Stock("new_starters", "new starters", "FTE", "novices", "",
          "#32-vacancies-hires-and-ramp-up"),
    Stock("funded_posts", "funded posts", "FTE", "establishment", "",
          "#36-the-team-grows-and-shrinks-with-secured-income-galls-law-for-the-organisation"),
    Stock("vacated_posts", "vacated posts", "posts", "backfill", "",
          "#35-what-vacancies-cost"),
    Stock("services", "services by status", "services", "portfolio.status", "",
          "#4-portfolio-and-galls-law"),
    Stock("build_progress", "build progress", "FTE-months", "portfolio.progress", "",
          "#42-building"),
    Stock("technical_debt", "technical debt", "–", "portfolio.debt", "",
          "#43-technical-debt-and-reliability"),
    Stock("reputation", "reputation", "0–1", "portfolio.reputation", "", "#46-reputation"),
    Stock("reserves", "reserves", "£", "reserves", "", "#53-reserves-and-conservation"),
    Stock("commissions", "running commissions", "projects", "commissions", "",
          "#57-commissioned-projects"),
    Stock("core_budget", "core budget", "£/year", "core_budget", "",
          "#71-spending-reviews-and-the-core-budget"),
    Stock("price_factor", "price factor", "–", "price_factor", "",
          "#511-hosts-money-rules-annuality-cost-recovery-reserves-policy"),
)
"""The model's aggregate stocks: each the count, sum or mean of one array of the state."""

# ----------------------------------------------------------------------------- flows

_U = "sim.model.uptake"
FLOWS: tuple[Flow, ...] = (
    Flow("awareness", "las_unaware", "las_aware", "Bass hazard p × outreach × demand + q × peer "
         "share", f"{_U}.advance_ladder", "#23-awareness-bass-diffusion-with-outreach-regional-"
         "and-statistical-neighbour-peers"),
    Flow("return_from_lapse", "las_lapsed", "las_aware", "1 ÷ lapsed_return_months",
         f"{_U}.advance_ladder", "#24-return-from-lapse"),
    Flow("evaluation_start", "las_aware", "las_evaluating", "capacity × demand ÷ "
         "evaluation_start_months", f"{_U}.advance_ladder",
         "#25-evaluation-start-capacity-and-demand"),
    Flow("approval", "las_evaluating", "las_member", "decision chance × pass chance × value "
         "for money (never below willingness to pay)", f"{_U}.advance_ladder",
         "#26-the-approval-gate"),
    Flow("rejection", "las_evaluating", "las_aware", "decision chance × (1 − pass chance)",
         f"{_U}.advance_ladder", "#26-the-approval-gate"),
    Flow("contribution", "las_member", "las_contributor", "contribution rate × capacity",
         f"{_U}.advance_ladder", "#28-champions-contribution-and-championing"),
    Flow("championing", "las_contributor", "las_champion", "championing rate × reputation",
         f"{_U}.advance_ladder", "#28-champions-contribution-and-championing"),
    Flow("orphan_lapse", "las_member", "las_lapsed", "champion turnover × orphan_lapse_prob",
         f"{_U}.advance_ladder", "#28-champions-contribution-and-championing"),
    Flow("renewal_lapse", "las_member", "las_lapsed", "each April: 1 − renewal chance "
         "(also from contributors and champions)", f"{_U}.renew",
         "#27-april-renewal-value-for-money-reputation-and-budget-pressure"),
    Flow("merger", "las_member", "las_merged", "reorganisation orders (any state)",
         "sim.model.reorganisation.merge_las", "#29-local-government-reorganisation"),
    *(Flow(f"hires_{role}", "", f"staff_{role}", "vacancies × 1 ÷ recruitment delay, unless "
           "frozen", "sim.model.workforce.advance_staff", "#32-vacancies-hires-and-ramp-up")
      for role in ("delivery", "engagement", "leadership")),
    *(Flow(f"resignations_{role}", f"staff_{role}", "", "resignation hazard × (1 + uplift × "
           "income ending) × (1 + overload)", "sim.model.workforce.advance_staff",
           "#31-resignations") for role in ("delivery", "engagement", "leadership")),
    Flow("redundancies", "staff_delivery", "", "cash shortage ÷ cost per head, after notice",
         "sim.model.host.serve_redundancies", "#34-redundancies-notice-and-pay"),
    Flow("income", "", "reserves", "grants + core budget + subscriptions + commissions + "
         "charitable", "sim.model.finance.pay_and_collect", "#51-income"),
    Flow("costs", "reserves", "", "fixed + Σ staff × cost per head + vacancy cover + one-off",
         "sim.model.finance.pay_and_collect", "#52-costs"),
    Flow("surrender", "reserves", "", "an annuality host takes a positive balance each March",
         "sim.model.reserves.surrender_balance",
         "#511-hosts-money-rules-annuality-cost-recovery-reserves-policy"),
    Flow("build", "", "build_progress", "spare delivery capacity shared by builds",
         "sim.model.portfolio.advance_portfolio", "#42-building"),
    Flow("launch", "build_progress", "services", "a finished build goes live unless its launch "
         "fails", "sim.model.portfolio.advance_portfolio", "#44-launches-and-launch-failure"),
    Flow("retirement", "services", "", "below the reliability floor for retirement_months",
         "sim.model.portfolio.advance_portfolio",
         "#49-retirement-of-services-that-cannot-be-staffed"),
    Flow("debt_accrual", "", "technical_debt", "uncovered maintenance",
         "sim.model.portfolio.advance_portfolio", "#43-technical-debt-and-reliability"),
    Flow("reputation_change", "", "reputation", "(mean reliability − reputation) ÷ "
         "reputation_time_months", "sim.model.portfolio.advance_portfolio", "#46-reputation"),
    Flow("commission_arrivals", "", "commissions", "rate × reputation × (1 + member effect × "
         "member share)", "sim.model.finance.arrive_commissions", "#57-commissioned-projects"),
)
"""The flows between the stocks (redundancies drawn once, for the delivery staff)."""

# ----------------------------------------------------------------------------- variables

_S = "state:"
VARIABLES: tuple[Variable, ...] = (
    # stocks (a stock's name is a variable too)
    *(Variable(s.name, s.label, s.name) for s in STOCKS),
    Variable("members", "members", "state:ladder"),
    Variable("peer_share", "peer share", f"rule:{_U}.peer_adopter_share"),
    Variable("awareness_hazard", "awareness hazard", f"rule:{_U}.ladder_rates"),
    Variable("evaluations", "evaluations", "las_evaluating"),
    Variable("contributors", "contributors and champions", "las_contributor"),
    Variable("volunteer_time", "volunteer delivery time", "rule:sim.model.portfolio.volunteer_fte"),
    Variable("delivery_capacity", "delivery capacity",
             "rule:sim.model.portfolio.delivery_capacity"),
    Variable("maintenance_cover", "maintenance cover", "rule:sim.model.portfolio.step_portfolio"),
    Variable("reliability", "reliability", "rule:sim.model.portfolio.step_portfolio"),
    Variable("value_for_money", "value for money",
             "rule:sim.model.portfolio.member_value_per_year"),
    Variable("renewal", "April renewal", f"rule:{_U}.renewal_probability"),
    Variable("approval", "approval", f"rule:{_U}.approval_chances"),
    Variable("champion_losses", "champion losses", "state:flows.champion_losses"),
    Variable("orphan_lapses", "orphan lapses", "state:flows.orphan_lapses"),
    Variable("subscriptions", "subscription income",
             "rule:sim.model.finance.recognise_subscriptions"),
    Variable("hiring_freeze", "hiring freeze", "rule:sim.model.host.freeze_hiring"),
    Variable("hires", "hires", "state:flows.hires"),
    Variable("outreach", "outreach multiplier", f"rule:{_U}.outreach_fte"),
    Variable("willing_las", "willing LAs not yet members", "state:market_las"),
    Variable("member_load", "support and onboarding time",
             "rule:sim.model.portfolio.member_support_fte"),
    Variable("uncovered_services", "uncovered services", "rule:sim.model.portfolio.step_portfolio"),
    Variable("retirements", "retirements", "state:flows.retirements"),
    Variable("live_services", "live services", "services"),
    Variable("maintenance_demand", "maintenance demand", "rule:sim.model.portfolio.step_portfolio"),
    Variable("leavers", "leavers", "state:flows.leavers"),
    Variable("vacancy_cover", "agency cover and recruitment costs", "state:vacancy_cover_fte"),
    Variable("utilisation", "utilisation", "state:utilisation_last"),
    Variable("launch_failures", "failed launches", "state:flows.failed_launches"),
    Variable("resignation_hazard", "resignation hazard",
             "rule:sim.model.workforce.resignation_hazard"),
    Variable("vacancies", "vacancies", "rule:sim.model.workforce.step_workforce"),
    Variable("gall_gate", "new builds (Gall's gate)", "rule:sim.model.portfolio.start_builds"),
    Variable("costs", "running costs", "rule:sim.model.finance.running_cost_rates"),
    Variable("redundancy_notices", "redundancy notices", "state:notices"),
    Variable("effective_capacity", "effective capacity", "rule:sim.model.workforce.effective_fte"),
    Variable("commission_arrivals", "commission arrivals",
             "rule:sim.model.finance.commission_rate_per_month"),
    Variable("commission_income", "commission income", "state:commissions"),
    Variable("committed_fte", "committed delivery FTE", "state:commission_fte_demand"),
    Variable("host_cut", "host-imposed cut", "state:host_cut"),
    Variable("reserves_rule", "price factor (hosts' reserves rule)", "price_factor"),
    Variable("surrender", "surrender at 31 March", "rule:sim.model.reserves.surrender_balance"),
)
"""Every variable a loop passes through, each naming the code that holds or computes it."""

# ----------------------------------------------------------------------------- loops

_FREEZE = "#33-hiring-freeze"
LOOPS: tuple[Loop, ...] = (
    Loop("R1", "Word of mouth", "R", "members > peer_share > awareness_hazard > las_aware > "
         "evaluations > members", "#23-awareness-bass-diffusion-with-outreach-regional-and-"
         "statistical-neighbour-peers"),
    Loop("B1", "Saturation", "B", "las_aware > -las_unaware > awareness_hazard > las_aware",
         "#23-awareness-bass-diffusion-with-outreach-regional-and-statistical-neighbour-peers"),
    Loop("R1a", "Champions", "R", "las_champion > peer_share > awareness_hazard > las_aware > "
         "evaluations > members > contributors > las_champion",
         "#28-champions-contribution-and-championing"),
    Loop("R1b", "Volunteers", "R", "members > contributors > volunteer_time > delivery_capacity "
         "> maintenance_cover > reliability > value_for_money > renewal > members",
         "#28-champions-contribution-and-championing"),
    Loop("B9", "Champion churn", "B", "members > champions > champion_losses > orphan_lapses > "
         "-members",
         "#28-champions-contribution-and-championing"),
    Loop("R2", "Money, capacity and renewal", "R", "members > subscriptions > reserves > "
         "-hiring_freeze > -hires > staff_delivery > maintenance_cover > -technical_debt > "
         "-reliability > reputation > renewal > members", "#33-hiring-freeze"),
    Loop("B10", "Market ceiling", "B", "members > -willing_las > approval > members",
         "#210-the-paying-market-willingness-to-pay"),
    Loop("B11", "Member load", "B", "members > member_load > -delivery_capacity > "
         "maintenance_cover > -technical_debt > -reliability > value_for_money > renewal > "
         "members", "#41-delivery-capacity-members-first-then-maintenance-then-builds"),
    Loop("B12", "Unstaffed services are retired", "B", "live_services > maintenance_demand > "
         "uncovered_services > technical_debt > retirements > -live_services",
         "#49-retirement-of-services-that-cannot-be-staffed"),
    Loop("R6", "Vacancy costs", "R", "vacated_posts > vacancy_cover > -reserves > "
         "-hiring_freeze > vacated_posts", "#35-what-vacancies-cost"),
    Loop("B2", "Maintenance burden", "B", "live_services > maintenance_demand > utilisation > "
         "launch_failures > -live_services", "#44-launches-and-launch-failure"),
    Loop("R3", "Overload", "R", "utilisation > resignation_hazard > -staff_delivery > "
         "-utilisation", "#31-resignations"),
    Loop("B3", "Recruitment", "B", "staff_delivery > -vacancies > hires > staff_delivery",
         "#32-vacancies-hires-and-ramp-up"),
    Loop("B4", "Gall's gate", "B", "live_services > maintenance_demand > -gall_gate > "
         "live_services", "#47-growth-policy-gall-big_bang-and-schedule"),
    Loop("B5", "Hiring freeze", "B", "reserves > -hiring_freeze > -hires > staff_delivery > "
         "costs > -reserves", _FREEZE),
    Loop("B5a", "Redundancies", "B", "reserves > -redundancy_notices > -staff_delivery > "
         "costs > -reserves", "#34-redundancies-notice-and-pay"),
    Loop("B5b", "Rebuilding", "B", "reserves > funded_posts > hires > staff_delivery > costs > "
         "-reserves", "#36-the-team-grows-and-shrinks-with-secured-income-galls-law-for-the-"
         "organisation"),
    Loop("R5", "Experience", "R", "leavers > new_starters > -effective_capacity > -utilisation "
         "> resignation_hazard > leavers", "#32-vacancies-hires-and-ramp-up"),
    Loop("B6", "Reputation smoothing", "B", "reputation > -reputation", "#46-reputation"),
    Loop("R4", "Commissions", "R", "reputation > commission_arrivals > commission_income > "
         "reserves > -hiring_freeze > -hires > staff_delivery > maintenance_cover > "
         "-technical_debt > -reliability > reputation", "#57-commissioned-projects"),
    Loop("B7", "Commission load", "B", "commission_arrivals > committed_fte > "
         "-maintenance_cover > reliability > reputation > commission_arrivals",
         "#57-commissioned-projects"),
    Loop("B8", "Host-imposed cut", "B", "reserves > -host_cut > -costs > -reserves",
         "#54-failure-rules-and-closure"),
    Loop("B14", "Cost recovery", "B", "reserves > -reserves_rule > subscriptions > reserves",
         "#511-hosts-money-rules-annuality-cost-recovery-reserves-policy"),
    Loop("B15", "Reserves policy", "B", "reserves > -reserves_rule > subscriptions > reserves",
         "#511-hosts-money-rules-annuality-cost-recovery-reserves-policy"),
    Loop("B13", "Annuality", "B", "reserves > surrender > -reserves",
         "#511-hosts-money-rules-annuality-cost-recovery-reserves-policy"),
)
"""The feedback loops of docs/model.md §9, in its order. The funding cliff and the other
external drivers act through these loops and are not loops themselves; nor is the grant
offset, which cuts R2 off from reserves while an eligible-spend grant runs (§9)."""


def loop_links(loop: Loop) -> list[Link]:
    """The causal links of ``loop``'s chain, in order (``a > -b``: a lowers b)."""
    names = [part.strip() for part in loop.chain.split(">")]
    links = []
    for cause, effect in zip(names, names[1:], strict=False):
        links.append(Link(cause.lstrip("-"), effect.lstrip("-"),
                          -1 if effect.startswith("-") else 1))
    return links


# ----------------------------------------------------------------------------- diagram

_CORE_COLOUR = "#dbe9f6"
_STOCK_COLOUR = "#f3f3f3"
_PLUS, _MINUS = "#1f6fb2", "#c0392b"


def _q(text: str) -> str:
    """A quoted DOT string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**attrs: str) -> str:
    return "[" + ", ".join(f"{k}={_q(v)}" for k, v in attrs.items()) + "]"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;")


def dot_source(core: tuple[str, ...] = (), docs_base: str = "model.md") -> str:
    """The stock-and-flow and causal-loop diagram in graphviz's DOT language (text; the
    caller renders it, e.g. ``python run.py structure``).

    Stocks are boxes (``core`` ones shaded: the mean-field core), flows double arrows between
    them (a cloud where they leave or enter the model), the loops' other variables ellipses;
    every causal link of a loop that is not a flow is a thin arrow marked ``+`` or ``−``; the
    legend lists each loop, reinforcing or balancing, linked to ``docs_base`` + its anchor.
    """
    lines = ["digraph coe_structure {",
             "  " + _attrs(rankdir="TB", fontname="Helvetica", fontsize="12", newrank="true",
                           nodesep="0.25", ranksep="0.45", labelloc="t",
                           label="coe-sim: stocks, flows and feedback loops "
                                 "(generated from sim/model/structure.py)").replace(
                 "[", "graph [", 1),
             '  node [fontname="Helvetica", fontsize="10"];',
             '  edge [fontname="Helvetica", fontsize="9"];']
    stocks = {s.name for s in STOCKS}
    for s in STOCKS:
        lines.append(f"  {_q(s.name)} " + _attrs(
            label=f"{s.label}\n[{s.unit}]", shape="box", style="filled",
            fillcolor=_CORE_COLOUR if s.name in core else _STOCK_COLOUR,
            URL=f"{docs_base}{s.anchor}", tooltip=f"state.{s.where} {s.selector}".strip()) + ";")
    flows: set[tuple[str, str]] = set()
    for i, f in enumerate(FLOWS):
        ends = []
        for end, stock in (("in", f.source), ("out", f.target)):
            if stock:
                ends.append(stock)
            else:
                cloud = f"cloud_{i}_{end}"
                lines.append(f"  {_q(cloud)} " + _attrs(label="☁", shape="none") + ";")
                ends.append(cloud)
        lines.append(f"  {_q(ends[0])} -> {_q(ends[1])} " + _attrs(
            label=f.name.replace("_", " "), color="black:white:black", penwidth="1.2",
            URL=f"{docs_base}{f.anchor}", tooltip=f"{f.rate} ({f.rule})") + ";")
        flows.add((f.source, f.target))
    variables = {v.name: v for v in VARIABLES}

    def node(name: str) -> str:
        """A variable that is a stock is drawn as the stock."""
        return variables[name].ref if variables[name].ref in stocks else name

    signs: dict[tuple[str, str], int] = {}
    for loop in LOOPS:
        for link in loop_links(loop):
            pair = (node(link.cause), node(link.effect))
            if pair not in flows:
                signs.setdefault(pair, link.sign)
    for name in sorted({n for pair in signs for n in pair} - stocks):
        lines.append(f"  {_q(name)} " + _attrs(label=variables[name].label, shape="ellipse",
                                                color="#777777", tooltip=variables[name].ref)
                     + ";")
    for (cause, effect), sign in signs.items():
        colour = _PLUS if sign > 0 else _MINUS
        lines.append(f"  {_q(cause)} -> {_q(effect)} " + _attrs(
            label="+" if sign > 0 else "−", color=colour, fontcolor=colour, arrowsize="0.6")
            + ";")
    rows = "".join(
        f'<TR><TD ALIGN="LEFT" HREF="{docs_base}{lp.anchor}" TOOLTIP="{_html(lp.chain)}">'
        f'<FONT COLOR="{_PLUS if lp.polarity == "R" else _MINUS}"><B>{lp.key}</B></FONT> '
        f'{_html(lp.name)} ({"reinforcing" if lp.polarity == "R" else "balancing"})</TD></TR>'
        for lp in LOOPS)
    lines.append('  "legend" [shape="note", fontsize="9", label=<<TABLE BORDER="0" '
                 'CELLBORDER="0" CELLSPACING="1"><TR><TD ALIGN="LEFT"><B>Feedback loops '
                 f'(docs/model.md §9)</B></TD></TR>{rows}<TR><TD ALIGN="LEFT">shaded: the '
                 'mean-field core (docs/structure.md)</TD></TR></TABLE>>];')
    lines.append("}")
    return "\n".join(lines) + "\n"
