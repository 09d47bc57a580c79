"""Compiling a validated scenario into the parameter record (:mod:`sim.model.parameters`).

:func:`compile_parameters` fills each record from the schema section of the same name, writes
the given ``values`` (sweeps' stacked design points, calibrated parameter draws) over the
scenario's by key path, and then derives what follows from them: each LA's price by size band
and each host's running costs, the latter from the month's own cash flow
(:func:`sim.model.finance.monthly_cashflow`) so that the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any

import numpy as np

from sim.data import LAPopulation
from sim.model.codes import FailureRule, ReservesRule, Role
from sim.model.finance import monthly_cashflow
from sim.model.parameters import (
    PER_REPLICATE_PATHS,
    SPOKE_KINDS,
    Array,
    CharitableFundsParameters,
    CharityParameters,
    CicParameters,
    CommissionParameters,
    ContractParameters,
    ElectionParameters,
    EventParameters,
    FinanceParameters,
    FormTable,
    FundingCaseParameters,
    GrantParameters,
    HostMove,
    HostParameters,
    HostTable,
    MarketParameters,
    MembershipParameters,
    Parameters,
    PartnershipParameters,
    PolicyParameters,
    PortfolioParameters,
    ProgrammeParameters,
    ServiceTable,
    SpendingReviewParameters,
    SpokeParameters,
    TeckalParameters,
    TimeParameters,
    UptakeParameters,
    ViabilityParameters,
    WorkforceParameters,
    is_per_replicate,
    record_parts,
    sigma_from_cv,
)
from sim.scenario.policies import parse_condition
from sim.scenario.schema import CHARITABLE_FORMS, STRANDS, Hosting, Scenario

__all__ = ["compile_parameters"]


def _shared(value: Any, replicates: int) -> Array:
    """One value for every replicate: a read-only float64[R] view."""
    return np.broadcast_to(np.asarray(value, dtype=float), (replicates,))


def _section(cls: type, source: Any, replicates: int, **given: Any) -> Any:
    """A record of ``cls`` filled from the schema section ``source`` by field name (per
    replicate fields as float64[R]), with ``given`` fields set as they are."""
    values: dict[str, Any] = dict(given)
    for f in fields(cls):
        if f.name in values:
            continue
        value = getattr(source, f.name)
        values[f.name] = _shared(value, replicates) if f.metadata.get("per_replicate") else value
    return cls(**values)


def _host(hosting: Any, replicates: int) -> HostParameters:
    """A host's parameters for every replicate (derived running costs come later)."""
    def every(value: Any, dtype: Any = float) -> Array:
        return np.broadcast_to(np.asarray(value, dtype=dtype), (replicates,))

    rule = FailureRule[hosting.failure_rule.upper()]
    reserves_rule = ReservesRule[hosting.reserves_rule.upper()]
    derived = {"charitable_form": every(hosting.model in CHARITABLE_FORMS, bool),
               "failure_rule": every(int(rule), np.int64),
               "reserves_rule": every(int(reserves_rule), np.int64),
               "vat_recoverable": every(hosting.vat_recoverable, bool),
               "commissions_allowed": every(hosting.commissions_allowed, bool),
               "lgps": every(hosting.lgps_scheme, bool),
               "charitable_income_sigma": every(sigma_from_cv(hosting.charitable_income_cv)),
               "fixed_costs_gbp_per_month": every(np.nan),
               "cost_per_head_gbp_per_month": np.full((replicates, len(Role)), np.nan),
               "pay_cost_per_head_gbp_per_month": np.full((replicates, len(Role)), np.nan)}
    cic = hosting.cic  # delivery models part 1 (issue #13): a CIC's retention and trust grants
    if cic.enabled:
        derived["resignation_multiplier"] = every(
            hosting.resignation_multiplier
            * (1.0 - cic.retention_effect * cic.employee_owned_share))
        derived["charitable_income_gbp_per_year"] = every(
            hosting.charitable_income_gbp_per_year * cic.trust_grant_eligibility)
    charity = hosting.charity  # its trustees' expenses are governance costs
    if charity.enabled:
        derived["governance_gbp_per_year"] = every(
            hosting.governance_gbp_per_year
            + charity.trustees * charity.trustee_expenses_gbp_per_year)
    return HostParameters(**derived, **{
        f.name: every(getattr(hosting, f.name)) for f in fields(HostParameters)
        if f.name not in derived})


def _set(record: Any, parts: list[str | int], value: Any, path: str) -> Any:
    """``record`` with the item at ``parts`` set to ``value`` (a copy: records are frozen)."""
    head, rest = parts[0], parts[1:]
    if isinstance(record, tuple | np.ndarray):
        if not isinstance(head, int) or head >= len(record):
            raise ValueError(f"{path} is not a model parameter (no item {head})")
        items = record.copy() if isinstance(record, np.ndarray) else list(record)
        items[head] = _set(items[head], rest, value, path) if rest else value
        return items if isinstance(record, np.ndarray) else tuple(items)
    if not isinstance(head, str) or not hasattr(record, head) or not is_dataclass(record):
        raise ValueError(f"{path} is not a model parameter")
    new = _set(getattr(record, head), rest, value, path) if rest else value
    return replace(record, **{head: new})  # type: ignore[type-var]  # a dataclass instance


def _get(record: Any, parts: list[str | int]) -> Any:
    for part in parts:
        record = record[part] if isinstance(part, int) else getattr(record, part)
    return record


def _apply(sections: dict[str, Any], values: Mapping[str, Any], replicates: int) -> None:
    """Write ``values`` (key path → float64[R] or a number) into the sections, in place."""
    for path, value in values.items():
        array = np.asarray(value, dtype=float)
        parts = record_parts(path)
        if parts[0] not in sections or len(parts) < 2:
            raise ValueError(f"{path} is not a model parameter")
        try:
            current = _get(sections[parts[0]], parts[1:])
        except (AttributeError, IndexError, TypeError):
            raise ValueError(f"{path} is not a model parameter") from None
        if is_per_replicate(path):
            new: Any = np.broadcast_to(array, (replicates,))
        else:
            flat = array.ravel()
            if flat.size != 1 and (flat.size == 0 or (flat != flat[0]).any()):
                raise ValueError(f"{path} cannot differ within a batch; those that can: "
                                 f"{', '.join(sorted(PER_REPLICATE_PATHS))}")
            if isinstance(current, np.ndarray) and current.shape == (replicates,):
                new = _shared(flat[0], replicates)  # a host field: one value per replicate
            elif isinstance(current, bool | np.bool_):
                new = bool(flat[0])
            elif isinstance(current, int | np.integer):
                new = int(flat[0])
            else:
                new = float(flat[0])
        sections[parts[0]] = _set(sections[parts[0]], parts[1:], new, path)


def compile_parameters(scenario: Scenario, las: LAPopulation, replicates: int,
                       values: Mapping[str, Any] | None = None) -> Parameters:
    """The parameter record of ``scenario`` for ``replicates`` replicates.

    Parameters
    ----------
    scenario : a scenario validated by the schema.
    las : the LA population (for the LA code of each merge and each LA's size band).
    replicates : R, the batch's rows.
    values : key path → float64[R] (or a number): values written over the scenario's. A
        per-replicate field takes one value per replicate (design points of a sweep stacked
        in one batch); any other field only a value shared by the whole batch (a calibrated
        parameter draw). The caller has validated the values through the schema.
    """
    R = int(replicates)
    s = scenario
    roles = s.workforce.roles()
    sections: dict[str, Any] = {
        "time": TimeParameters(start=s.time.start, horizon_months=s.time.horizon_months,
                               substeps_per_month=s.time.substeps_per_month),
        "uptake": _section(UptakeParameters, s.uptake, R),
        "market": _section(MarketParameters, s.market, R),
        "workforce": _section(
            WorkforceParameters, s.workforce, R,
            initial_fte=np.array([r.initial_fte for r in roles], dtype=np.int64),
            establishment_fte=np.array([r.establishment_fte for r in roles], dtype=np.int64),
            salary_gbp_per_year=np.array([r.salary_gbp_per_year for r in roles], dtype=float)),
        "portfolio": _section(PortfolioParameters, s.portfolio, R, services=_services(s)),
        "finance": _section(
            FinanceParameters, s.finance, R,
            grants=tuple(_section(GrantParameters, g, R) for g in s.finance.grants),
            band_min_child_population=np.array(
                [b.min_child_population for b in s.finance.subscription_bands], dtype=np.int64),
            band_price_gbp_per_year=tuple(_shared(b.price_gbp_per_year, R)
                                          for b in s.finance.subscription_bands),
            commissions=_section(CommissionParameters, s.finance.commissions, R)),
        "hosting": HostTable(
            hosts=tuple(_host(h, R) for h in _all_hosts(s)),
            change_month=tuple(c.month for c in s.host_changes),
            change_transition_cost_gbp=tuple(c.transition_cost_gbp for c in s.host_changes),
            change_staff_loss_share=tuple(c.staff_loss_share for c in s.host_changes),
            change_lgps_admission=tuple(c.lgps_admission for c in s.host_changes),
            change_transition_months=tuple(c.transition_months for c in s.host_changes),
            change_double_running_gbp_per_month=tuple(c.double_running_gbp_per_month
                                                      for c in s.host_changes),
            change_productivity_loss=tuple(c.productivity_loss for c in s.host_changes),
            models=tuple(h.model for h in _all_hosts(s))),
        "events": _events(s, las),
        "viability": _section(ViabilityParameters, s.viability, R),
    }
    # --- delivery models part 2 (issue #13) ---
    sections["membership_body"] = _section(MembershipParameters, s.membership_body, R)
    sections["charitable_funds"] = _section(CharitableFundsParameters, s.charitable_funds, R)
    sections["contract"] = _section(
        ContractParameters, s.contract, R,
        successor_host=len(s.host_changes) + 1 if _successors(s) else -1)
    spokes = s.spokes
    kinds = [getattr(spokes, k) for k in SPOKE_KINDS]
    sections["spokes"] = SpokeParameters(
        enabled=spokes.enabled,
        count=np.array([k.count for k in kinds], dtype=np.int64),
        fte_per_spoke=np.array([k.fte_per_spoke for k in kinds]),
        exit_rate_per_year=np.array([k.exit_rate_per_year for k in kinds]),
        cost_gbp_per_fte_per_year=np.array([k.cost_gbp_per_fte_per_year for k in kinds]),
        replacement_months=spokes.replacement_months,
        coordination_fte_per_spoke=spokes.coordination_fte_per_spoke,
        coordination_gbp_per_spoke_per_year=spokes.coordination_gbp_per_spoke_per_year)
    if values:
        _apply(sections, dict(values), R)
    finance, workforce = sections["finance"], sections["workforce"]
    hosts = sections["hosting"]
    sections["hosting"] = replace(hosts, hosts=tuple(
        _with_running_costs(h, finance, workforce, R) for h in hosts.hosts))
    return Parameters(replicates=R, las=las, prices_gbp_per_year=finance.la_prices(
        las.child_population), forms=_forms(s, las), policies=_policies(s), **sections)


def _all_hosts(scenario: Scenario) -> tuple[Hosting, ...]:
    """Every host of the HostTable, in its order: the first, each dated change, a contract's
    successor, then each ``change_host`` rule's host (docs/model.md §12)."""
    return (scenario.hosting, *(c.hosting for c in scenario.host_changes),
            *_successors(scenario),
            *(p.host.hosting for p in scenario.policies if p.host is not None))


def _policies(scenario: Scenario) -> tuple[PolicyParameters, ...]:
    """The adaptive policies with their conditions parsed (docs/model.md §12); a
    ``change_host`` rule's host is the next host of the table after the dated changes and a
    contract's successor."""
    next_host = 1 + len(scenario.host_changes) + len(_successors(scenario))
    out = []
    for p in scenario.policies:
        host, move = -1, None
        if p.host is not None:
            host, next_host = next_host, next_host + 1
            move = HostMove(p.host.transition_cost_gbp, p.host.staff_loss_share,
                            p.host.lgps_admission, p.host.transition_months,
                            p.host.double_running_gbp_per_month, p.host.productivity_loss)
        out.append(PolicyParameters(p.name, parse_condition(p.when), p.hold_months, p.action,
                                    p.amount, p.once, p.cooldown_months, p.grant_gbp_per_year,
                                    p.grant_months, p.success_prob, p.delay_months, p.unit,
                                    p.target_months, host, move))
    return tuple(out)


# --- delivery models part 1 (issue #13) ---


def _la_indices(codes: tuple[int, ...], las: LAPopulation, key: str) -> Array:
    index = {int(code): i for i, code in enumerate(las.codes)}
    unknown = [code for code in codes if code not in index]
    if unknown:
        raise ValueError(f"unknown LA code(s) {unknown} in {key}")
    return np.array([index[code] for code in codes], dtype=np.int64)


def _forms(scenario: Scenario, las: LAPopulation) -> FormTable:
    """Each host's legal-form rules (docs/model.md §7.5–§7.8)."""
    grants = [g.name for g in scenario.finance.grants]
    teckal: list[TeckalParameters | None] = []
    partnership: list[PartnershipParameters | None] = []
    cic: list[CicParameters | None] = []
    charity: list[CharityParameters | None] = []
    # every host of the HostTable, in its order: the first, each change, a contract's successor
    for hosting in _all_hosts(scenario):
        t = hosting.teckal
        if t.enabled:
            owners = np.zeros(las.count, dtype=bool)
            owners[_la_indices(t.owner_las, las, "hosting.teckal.owner_las")] = True
            teckal.append(TeckalParameters(
                owners=owners, activity_threshold=t.activity_threshold,
                contract_grant=grants.index(t.owner_contract_grant)
                if t.owner_contract_grant else -1,
                commissions_owner_share=t.commissions_owner_share,
                capped=t.outside_sales == "capped", cap_margin=t.cap_margin,
                tender_win_prob=t.tender_win_prob, tender_cost_gbp=t.tender_cost_gbp))
        else:
            teckal.append(None)
        j = hosting.partnership
        if j.enabled:
            founders = _la_indices(j.partner_las, las, "hosting.partnership.partner_las")
            weights = list(j.deficit_shares) or [1.0] * len(founders)
            shares = np.array(weights + [j.joiner_share] * (j.max_partners - len(founders)))
            g = grants.index(j.contract_grant) if j.contract_grant else -1
            partnership.append(PartnershipParameters(
                founders=founders, shares=shares, max_partners=j.max_partners,
                contract_grant=g,
                term_months=j.term_months, leave_prob_at_term_end=j.leave_prob_at_term_end,
                join_prob_at_term_end=j.join_prob_at_term_end,
                annual_deficit_limit_gbp=j.annual_deficit_limit_gbp))
        else:
            partnership.append(None)
        c = hosting.cic
        cic.append(CicParameters(dividend_cap_share=c.dividend_cap_share,
                                 dividend_payout_share=c.dividend_payout_share)
                   if c.enabled else None)
        charity.append(CharityParameters(vat_apportionment=hosting.charity.vat_apportionment)
                       if hosting.charity.enabled else None)
    return FormTable(teckal=tuple(teckal), partnership=tuple(partnership), cic=tuple(cic),
                     charity=tuple(charity))


def _successors(scenario: Scenario) -> tuple[Any, ...]:
    """The host a contract's service moves to when the provider loses the re-tender (issue
    #13, docs/model.md §7.11): appended to the hosts after the scheduled changes."""
    contract = scenario.contract
    if contract.enabled and contract.on_loss == "move" and contract.successor is not None:
        return (contract.successor,)
    return ()


def _services(scenario: Scenario) -> ServiceTable:
    s = scenario.portfolio.services
    return ServiceTable(
        build_effort_fte_months=np.array([x.build_effort_fte_months for x in s], dtype=float),
        maintenance_fte=np.array([x.maintenance_fte for x in s], dtype=float),
        complexity=np.array([x.complexity for x in s], dtype=float),
        value_gbp_per_member_per_year=np.array([x.value_gbp_per_member_per_year for x in s],
                                               dtype=float),
        strand=np.array([STRANDS.index(x.strand) for x in s]),
        schedule_month=np.array([-1 if x.schedule_month is None else x.schedule_month
                                 for x in s], dtype=np.int64),
    )


def _events(scenario: Scenario, las: LAPopulation) -> EventParameters:
    e = scenario.events
    index = {int(code): i for i, code in enumerate(las.codes)}
    reorganisations = []
    for reorganisation in e.reorganisations:
        groups = []
        for group in reorganisation.merges:
            unknown = [code for code in group if code not in index]
            if unknown:
                raise ValueError(f"unknown LA code(s) {unknown} in a reorganisation")
            groups.append(np.array([index[code] for code in group]))
        reorganisations.append((reorganisation.month, tuple(groups)))
    return EventParameters(
        spending_review=_section(SpendingReviewParameters, e.spending_review, 0),
        funding_case=_section(FundingCaseParameters, e.funding_case, 0),
        election=_section(ElectionParameters, e.election, 0),
        national_programmes=_section(ProgrammeParameters, e.national_programmes, 0),
        reorganisations=tuple(reorganisations))


def _with_running_costs(host: HostParameters, finance: FinanceParameters,
                        workforce: WorkforceParameters, replicates: int) -> HostParameters:
    """The host with its running costs: the cost with no staff and the cost of one person in
    each role, from the month's cash flow itself (so they cannot drift apart)."""
    def cash_of(team: Array) -> Any:
        return monthly_cashflow(finance, host, workforce, np.tile(team, (replicates, 1)), {},
                                np.zeros(replicates), np.ones(replicates, dtype=bool), 1.0)

    fixed = cash_of(np.zeros((1, len(Role)), dtype=np.int64)).costs_total
    one = [cash_of(np.eye(len(Role), dtype=np.int64)[k:k + 1]) for k in range(len(Role))]
    per_head = np.stack([cash.costs_total - fixed for cash in one], axis=1)
    pay = np.stack([cash.costs["staff"] + cash.costs["overhead"] for cash in one], axis=1)
    return replace(host, fixed_costs_gbp_per_month=fixed, cost_per_head_gbp_per_month=per_head,
                   pay_cost_per_head_gbp_per_month=pay)


