"""The compiled parameter record: a validated :class:`~sim.scenario.Scenario` as numbers.

:func:`~sim.model.compile.compile_parameters` turns a scenario (validated once, by the
schema) into a frozen :class:`Parameters` record for a batch of R replicates. Field names are
the schema's, so the key path of a parameter in a scenario file is its path in the record
(``hosting.*`` is host 0, ``host_changes[i].hosting.*`` host ``i + 1``). Two kinds of field:

* **per replicate**: ``float64[R]``, one value per replicate (marked ``per_replicate`` below).
  A plain run holds one value for all (a read-only broadcast view); a sweep whose design points
  share a batch, or a run with calibrated parameter uncertainty, writes its own values here
  (the ``values`` argument of :func:`~sim.model.compile.compile_parameters`), never into the
  pydantic scenario;
* **constants**: plain Python numbers (or small arrays over roles, services, LAs), the same for
  every replicate of a batch because a formula or a compiled kernel takes one value for them.
  A sweep that varies one of them runs its design points one batch at a time.

Readers never need to know which kind a replicate-shaped parameter came from: it is always an
array of the replicate shape. Units are in the field names (``_gbp``, ``_months``,
``_per_year``, ``_fte``, ``_prob``, ``_rate`` = share of pay) and docs/model.md gives every
parameter with its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np

from sim.data import LAPopulation
from sim.model.codes import Role

__all__ = [
    "CharityParameters",
    "CicParameters",
    "CharitableFundsParameters",
    "CommissionParameters",
    "ContractParameters",
    "ElectionParameters",
    "EventParameters",
    "FinanceParameters",
    "FormTable",
    "FundingCaseParameters",
    "GrantParameters",
    "HostParameters",
    "HostTable",
    "MarketParameters",
    "PartnershipParameters",
    "PolicyParameters",
    "form_of",
    "MembershipParameters",
    "PER_REPLICATE_PATHS",
    "Parameters",
    "PortfolioParameters",
    "ProgrammeParameters",
    "SPOKE_KINDS",
    "ServiceTable",
    "SpendingReviewParameters",
    "TeckalParameters",
    "SpokeParameters",
    "TimeParameters",
    "UptakeParameters",
    "ViabilityParameters",
    "WorkforceParameters",
    "compact",
    "is_per_replicate",
    "record_parts",
    "sigma_from_cv",
]

Array = np.ndarray


PER_REPLICATE = {"per_replicate": True}
"""Metadata of a field holding float64[R], one value per replicate."""


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class TimeParameters:
    start: str
    """calendar month of month 0, ``YYYY-MM``"""
    horizon_months: int
    substeps_per_month: int

    @property
    def dt_months(self) -> float:
        """Length of a sub-step (months)."""
        return 1.0 / self.substeps_per_month

    @property
    def first_april(self) -> int:
        """Month index of the first April on or after the start (fiscal years run April to
        March)."""
        return (4 - int(self.start[5:7])) % 12

    def fiscal_year_start(self, month: int) -> int:
        """First month (index, possibly negative) of the fiscal year holding ``month``."""
        return month - (month - self.first_april) % 12

    def is_year_end(self, month: int) -> bool:
        """Whether ``month`` is a March: the last month of a fiscal year (it ends on 31 March)."""
        return (month + 1 - self.first_april) % 12 == 0


@dataclass(frozen=True)
class UptakeParameters:
    """LA uptake (docs/model.md §2)."""

    initial_aware_share: Array = field(metadata=PER_REPLICATE)
    initial_aware_count: Array = field(metadata=PER_REPLICATE)
    """LAs aware at month 0 as an exact seed (NaN, the schema's unset: ``initial_aware_share``
    per LA); per replicate, so calibration candidates with different seeds share a batch"""
    p_per_year: Array = field(metadata=PER_REPLICATE)
    q_per_year: Array = field(metadata=PER_REPLICATE)
    evaluation_start_months: Array = field(metadata=PER_REPLICATE)
    renewal_prob: Array = field(metadata=PER_REPLICATE)
    renewal_reputation_sensitivity: Array = field(metadata=PER_REPLICATE)
    renewal_budget_pressure_sensitivity: Array = field(metadata=PER_REPLICATE)
    approval_threshold_gbp: Array = field(metadata=PER_REPLICATE)
    orphan_lapse_prob: Array = field(metadata=PER_REPLICATE)
    lapsed_return_months: Array = field(metadata=PER_REPLICATE)
    champion_replacement_months: Array = field(metadata=PER_REPLICATE)
    contribution_rate_per_year: Array = field(metadata=PER_REPLICATE)
    championing_rate_per_year: Array = field(metadata=PER_REPLICATE)
    volunteer_fte_per_staff_fte: Array = field(metadata=PER_REPLICATE)
    peer_weight_region: float
    peer_weight_neighbours: float
    outreach_reference_fte: float
    outreach_max_multiplier: float
    low_rated_capacity_multiplier: float
    free_approval_months: float
    free_approval_pass_prob: float
    approval_price_elasticity: float
    renewal_value_ratio_scale: float
    renewal_goodwill_gbp_per_year: float
    low_rated_value_multiplier: float
    champion_turnover_multiplier: float
    champion_peer_weight: int
    volunteer_fte_per_contributor: float


@dataclass(frozen=True)
class WorkforceParameters:
    """The CoE's staff (docs/model.md §3); role arrays are in :class:`~sim.model.codes.Role`
    order."""

    initial_fte: Array
    """int64[3], staff in post at month 0 by role"""
    establishment_fte: Array
    """int64[3], funded posts by role"""
    salary_gbp_per_year: Array
    """float64[3], gross salary per FTE by role"""
    resignation_rate_per_year: Array = field(metadata=PER_REPLICATE)
    funding_uncertainty_uplift: Array = field(metadata=PER_REPLICATE)
    workload_sensitivity: Array = field(metadata=PER_REPLICATE)
    hiring_freeze_reserve_months: Array = field(metadata=PER_REPLICATE)
    vacancy_cover_share: Array = field(metadata=PER_REPLICATE)
    vacancy_cover_cost_multiplier: Array = field(metadata=PER_REPLICATE)
    funding_uncertainty_window_months: int
    ramp_up_months: float
    new_starter_productivity: float
    redundancy_trigger_months: float
    notice_months: int
    redundancy_pay_weeks: float
    share_aged_55_plus: float
    pension_strain_years_of_pay: float
    minimum_leadership_fte: int
    team_policy: str
    """``fixed`` or ``secured_income`` (docs/model.md §3.6)"""
    planning_horizon_months: int
    team_review_months: int
    growth_posts_per_review: int
    planning_contingency_share: float


@dataclass(frozen=True)
class ServiceTable:
    """Service attributes as arrays of length S (in the scenario's order)."""

    build_effort_fte_months: Array
    """float64[S]"""
    maintenance_fte: Array
    complexity: Array
    value_gbp_per_member_per_year: Array
    strand: Array
    """int64[S], index into :data:`~sim.scenario.schema.STRANDS`"""
    schedule_month: Array
    """int64[S], −1 where a service has no scheduled month"""


@dataclass(frozen=True)
class PortfolioParameters:
    """Services and Gall's law (docs/model.md §4)."""

    policy: str
    """``gall``, ``big_bang`` or ``schedule``"""
    services: ServiceTable
    launch_failure_prob: Array = field(metadata=PER_REPLICATE)
    gall_reliability_threshold: float
    gall_spare_fte: float
    launch_failure_strain: float
    launch_failure_concurrency: float
    failed_launch_rework_share: float
    debt_growth_per_month: float
    debt_repayment_per_month: float
    incident_prob_per_month: float
    reputation_time_months: float
    reputation_hit_failed_launch: float
    reputation_hit_incident: float
    initial_reputation: float
    retirement_reliability_floor: float
    retirement_months: float
    reputation_hit_retirement: float

    launch_event_cost_gbp: float
    bundle_value_uplift: float
    learning_rate: float


@dataclass(frozen=True)
class MarketParameters:
    """What LAs will pay and what serving members costs (docs/model.md §2.10, §4.9)."""

    wtp_median_gbp_per_year: Array = field(metadata=PER_REPLICATE)
    wtp_sigma: Array = field(metadata=PER_REPLICATE)
    support_delivery_fte_per_member: Array = field(metadata=PER_REPLICATE)
    support_engagement_fte_per_member: Array = field(metadata=PER_REPLICATE)
    onboarding_fte_months_per_join: Array = field(metadata=PER_REPLICATE)
    onboarding_months: Array = field(metadata=PER_REPLICATE)


@dataclass(frozen=True)
class GrantParameters:
    """One time-limited grant (docs/model.md §5.5)."""

    name: str
    amount_gbp_per_year: Array = field(metadata=PER_REPLICATE)
    end_month: Array = field(metadata=PER_REPLICATE)
    """float64[R] holding whole months"""
    start_month: int
    taper_months: int
    renewal_prob: float
    renewal_months: int
    max_renewals: int
    government_funded: bool
    renewal_on_performance: bool
    basis: str
    """``eligible_spend`` (pays eligible costs incurred, capped by the fiscal year's profile)
    or ``fixed`` (pays its profile)"""
    earned_income: str
    """``offsets`` (earned income reduces what an eligible-spend grant pays) or ``retained``"""
    milestone_month: int | None
    milestone_live_services: int


@dataclass(frozen=True)
class CommissionParameters:
    """Commissioned projects (docs/model.md §5.7)."""

    rate_per_year: float
    member_effect: float
    mean_value_gbp: float
    value_sigma: float
    duration_months: int
    charge_gbp_per_fte_month: float
    max_active: int


@dataclass(frozen=True)
class FinanceParameters:
    """Income and costs (docs/model.md §5)."""

    grants: tuple[GrantParameters, ...]
    band_min_child_population: Array
    """int64[B], smallest child population of each subscription band (empty: one flat price)"""
    band_price_gbp_per_year: tuple[Array, ...]
    """float64[R] per band: ``finance.subscription_bands[b].price_gbp_per_year``"""
    commissions: CommissionParameters
    opening_reserves_gbp: Array = field(metadata=PER_REPLICATE)
    non_pay_gbp_per_fte_per_year: Array = field(metadata=PER_REPLICATE)
    fixed_non_pay_gbp_per_year: Array = field(metadata=PER_REPLICATE)
    subscriptions_from_month: Array = field(metadata=PER_REPLICATE)
    """float64[R] holding whole months"""
    subscription_gbp_per_year: Array = field(metadata=PER_REPLICATE)
    employer_ni_rate: float
    vat_rate: float
    core_budget_gbp_per_year: float
    core_budget_from_month: int
    reserves_policy_months: float
    la_analyst_cost_gbp_per_hour: float
    pay_awards: tuple[float, ...]
    """nominal pay award by fiscal year from the first (docs/model.md §5.13)"""
    cpi_rates: tuple[float, ...]
    """CPI inflation by fiscal year from the first"""
    subscription_uplift: float | str
    """rise of the list prices each April: ``"cpi"`` or a fixed rate"""
    core_budget_uplift: float
    """rise of the core budget each April between spending reviews"""

    def uplifts(self, year: int) -> tuple[float, float, float]:
        """The rises (pay, CPI, subscription list prices) at the start of fiscal year
        ``year`` (1 = the first April after month 0's year): item ``year`` of each schedule,
        the last item for later years."""
        pay = self.pay_awards[min(year, len(self.pay_awards) - 1)]
        cpi = self.cpi_rates[min(year, len(self.cpi_rates) - 1)]
        price = cpi if self.subscription_uplift == "cpi" else float(self.subscription_uplift)
        return pay, cpi, price
    invoice_payment_months: int
    """months from a subscription invoice to its payment (docs/model.md §5.6)"""
    bad_debt_share: Array = field(metadata=PER_REPLICATE)

    def la_prices(self, child_population: Array) -> Array:
        """Each LA's annual subscription by its size band, float64[R, N] (£/year).

        An LA is in the last band whose ``min_child_population`` is at most its child
        population; with no bands every LA pays ``subscription_gbp_per_year``.
        """
        R, N = len(self.subscription_gbp_per_year), len(child_population)
        if not self.band_price_gbp_per_year:
            prices = compact(self.subscription_gbp_per_year)[:, None] * np.ones(N)
        else:
            band = (np.searchsorted(self.band_min_child_population, child_population,
                                    side="right") - 1)
            by_band = np.broadcast_arrays(*(compact(p) for p in self.band_price_gbp_per_year))
            prices = np.stack(by_band, axis=-1)[:, band]
        return np.broadcast_to(prices, (R, N))  # a view of one row when all replicates agree


@dataclass(frozen=True)
class HostParameters:
    """One host's parameters (docs/model.md §5.2, §5.4, §6), every field one value per
    replicate (float64[R], or bool[R] / int64[R] for flags and codes) so that replicates can
    be under different hosts: :meth:`HostTable.select` gathers each replicate's current host."""

    charitable_form: Array
    """bool[R]: the host's legal form may take charitable income"""
    failure_rule: Array
    """int64[R], a :class:`~sim.model.codes.FailureRule`"""
    vat_recoverable: Array
    commissions_allowed: Array
    pension_rate: Array
    lgps: Array
    """bool[R]: the host's own scheme is the LGPS (its staff and hires are members)"""
    admitted_body_pension_rate: Array
    admission_bond_gbp_per_year: Array
    overhead_recharge_rate: Array = field(metadata=PER_REPLICATE)
    recruitment_delay_months: Array = field(metadata=PER_REPLICATE)
    recruitment_cost_gbp_per_hire: Array = field(metadata=PER_REPLICATE)
    priced_approval_months: Array = field(metadata=PER_REPLICATE)
    governance_gbp_per_year: Array
    setup_cost_gbp: Array
    in_kind_support_gbp_per_year: Array
    priced_approval_pass_prob: Array
    resignation_multiplier: Array
    deficit_tolerance_gbp: Array
    closure_deficit_gbp: Array
    max_deficit_months: Array
    nonviable_closure_months: Array
    cut_share: Array
    charitable_income_gbp_per_year: Array
    charitable_income_sigma: Array
    """log-scale spread of the lognormal April draw, from ``charitable_income_cv``"""
    reserves_rule: Array
    """int64[R], a :class:`~sim.model.codes.ReservesRule`"""
    reserve_cap_months: Array = field(metadata=PER_REPLICATE)
    reserve_target_months: Array = field(metadata=PER_REPLICATE)
    max_price_change: Array = field(metadata=PER_REPLICATE)
    fixed_costs_gbp_per_month: Array
    """running costs of the CoE under this host with no staff (derived)"""
    cost_per_head_gbp_per_month: Array
    """float64[R, 3], running cost of one person in each role under this host (derived):
    costs are linear in staff, so a team's running costs are ``fixed + Σ staff × per head``"""
    pay_cost_per_head_gbp_per_month: Array
    """float64[R, 3], the part of ``cost_per_head_gbp_per_month`` that is pay and rises with
    it (salary, employer NI, pension, overhead recharge; derived); the rest is non-pay"""


@dataclass(frozen=True)
class HostTable:
    """The scenario's hosts: the first host, then one per dated change of host, a contract's
    successor, then one per ``change_host`` rule (docs/model.md §12), each field stacked
    ``[H, R, …]``; and the dated changes' dates and costs (a rule's are in its
    :class:`PolicyParameters`)."""

    hosts: tuple[HostParameters, ...]
    change_month: tuple[int, ...]
    """month each change of host takes effect (host ``i + 1`` from ``change_month[i]``)"""
    change_transition_cost_gbp: tuple[float, ...]
    change_staff_loss_share: tuple[float, ...]
    change_lgps_admission: tuple[bool, ...]
    """transferred LGPS members keep the LGPS through an admission agreement"""
    change_transition_months: tuple[int, ...]
    change_double_running_gbp_per_month: tuple[float, ...]
    change_productivity_loss: tuple[float, ...]
    models: tuple[str, ...]
    """each host's model name (``la_hosted`` …), for the event log"""

    def select(self, index: Array) -> HostParameters:
        """Each replicate's parameters under its host ``index[r]`` (int64[R])."""
        first = int(index[0])
        if (index == first).all():
            return self.hosts[first]  # the common case: every replicate under one host
        rows = np.arange(len(index))
        return HostParameters(**{
            f.name: np.stack([getattr(h, f.name) for h in self.hosts])[index, rows]
            for f in fields(HostParameters)})


@dataclass(frozen=True)
class SpendingReviewParameters:
    first_month: int
    period_months: int
    cut_prob: float
    cut_share: float
    stop_prob: float


@dataclass(frozen=True)
class ElectionParameters:
    month: int
    policy_change_prob: float
    core_budget_multiplier: float
    grant_renewal_multiplier: float
    programme_rate_multiplier: float


@dataclass(frozen=True)
class ProgrammeParameters:
    rate_per_year: float
    demand_uplift: float
    duration_months: float


@dataclass(frozen=True)
class FundingCaseParameters:
    """How funding decisions weigh the Centre's record (docs/model.md §7.4)."""

    window_months: int
    reference_benefit_cost_ratio: float
    reference_reach: float
    value_elasticity: float
    reach_elasticity: float


@dataclass(frozen=True)
class EventParameters:
    """External events (docs/model.md §7)."""

    spending_review: SpendingReviewParameters
    funding_case: FundingCaseParameters
    election: ElectionParameters
    national_programmes: ProgrammeParameters
    reorganisations: tuple[tuple[int, tuple[Array, ...]], ...]
    """(month, merge groups as LA indices, successor first) per reorganisation"""


@dataclass(frozen=True)
class ViabilityParameters:
    """What a working (viable) Centre needs (docs/model.md §5.10)."""

    min_staff_fte: float
    min_delivery_fte: float
    min_reliable_services: int
    reliable_threshold: float
    min_members: int
    grace_months: int


# --- delivery models part 1 (issue #13) ---


@dataclass(frozen=True)
class TeckalParameters:
    """A council-owned (Teckal) company's rules under one host (docs/model.md §7.5)."""

    owners: Array
    """bool[N], the owner councils"""
    activity_threshold: float
    contract_grant: int
    """index of the owners' contract in ``finance.grants`` (−1: none)"""
    commissions_owner_share: float
    capped: bool
    cap_margin: float
    tender_win_prob: float
    tender_cost_gbp: float


@dataclass(frozen=True)
class PartnershipParameters:
    """A joint partnership of councils under one host (docs/model.md §7.6)."""

    founders: Array
    """int64[F], LA index of each founding partner"""
    shares: Array
    """float64[P], the agreed share weight of each seat (founders first, then joiners' seats,
    ``P = max_partners``)"""
    max_partners: int
    contract_grant: int
    """index of the partners' contracts in ``finance.grants`` (−1: none): its
    ``amount_gbp_per_year`` is each partner's guaranteed contract"""
    term_months: int
    leave_prob_at_term_end: float
    join_prob_at_term_end: float
    annual_deficit_limit_gbp: float


@dataclass(frozen=True)
class CicParameters:
    """A community interest company's rules under one host (docs/model.md §7.7); its effect
    on retention and charitable income is already in the host's parameters."""

    dividend_cap_share: float
    dividend_payout_share: float


@dataclass(frozen=True)
class CharityParameters:
    """A charity's rules under one host (docs/model.md §7.8); its trustees' expenses are
    already in the host's governance cost."""

    vat_apportionment: bool


@dataclass(frozen=True)
class PolicyParameters:
    """An adaptive policy (docs/model.md §12): its condition's parsed tree
    (:func:`sim.scenario.policies.parse_condition`) and its action."""

    name: str
    tree: Any
    hold_months: int
    action: str
    amount: float
    once: bool
    cooldown_months: int
    grant_gbp_per_year: float = 0.0
    grant_months: int = 12
    success_prob: float = 0.5
    delay_months: int = 6
    unit: str = "share"
    target_months: float = 6.0
    host: int = -1
    """change_host: the new host's index in the HostTable (-1: not a change of host)"""
    move: HostMove | None = None
    """change_host: what the move costs"""


@dataclass(frozen=True)
class HostMove:
    """What a move to a new host costs (docs/model.md §6, §6.1): the fields of a dated change
    of host without its month."""

    transition_cost_gbp: float
    staff_loss_share: float
    lgps_admission: bool
    transition_months: int
    double_running_gbp_per_month: float
    productivity_loss: float


_Form = TypeVar("_Form")


def form_of(rules: tuple[_Form | None, ...], host: Array) -> _Form | None:
    """A legal form's rules under the current host (``host`` int[R]: every replicate changes
    host in the same month), or None: a :class:`FormTable` row read at the host now."""
    return rules[int(host[0])] if rules else None


@dataclass(frozen=True)
class FormTable:
    """The legal forms' own rules by host (``hosts[0]`` the first host, then one per change
    of host): ``None`` where a host does not have that form."""

    teckal: tuple[TeckalParameters | None, ...] = ()
    partnership: tuple[PartnershipParameters | None, ...] = ()
    cic: tuple[CicParameters | None, ...] = ()
    charity: tuple[CharityParameters | None, ...] = ()
# --- delivery models part 2 (issue #13) ---


@dataclass(frozen=True)
class MembershipParameters:
    """A membership body's levy (docs/model.md §7.9)."""

    enabled: bool
    levy_gbp_per_member_la_per_year: float
    body_member_las: int
    continue_prob: float
    first_review_month: int


@dataclass(frozen=True)
class CharitableFundsParameters:
    """A host charity's designated fund (docs/model.md §7.10)."""

    enabled: bool
    designated_fund_gbp: float
    floor_gbp: float


@dataclass(frozen=True)
class ContractParameters:
    """A provider under contract (docs/model.md §7.11). The successor's hosting is the last
    host of :class:`HostTable` (index ``successor_host``; -1 when there is none)."""

    enabled: bool
    contract_grant: int
    corporation_tax: bool
    margin: float
    successor_margin: float
    distribution_share: float
    retained_reserve_months: float
    bid_cost_gbp: float
    on_loss: str
    successor_term_months: int
    successor_corporation_tax: bool
    successor_distribution_share: float
    tupe_transfer_share: float
    transition_cost_gbp: float
    transition_months: int
    productivity_loss: float
    successor_host: int


@dataclass(frozen=True)
class SpokeParameters:
    """A hub and spoke Centre (docs/model.md §7.12): per kind of spoke (LA, outsourced,
    volunteer, in :data:`SPOKE_KINDS` order) float64[3] or int64[3]."""

    enabled: bool
    count: Array
    fte_per_spoke: Array
    exit_rate_per_year: Array
    cost_gbp_per_fte_per_year: Array
    replacement_months: float
    coordination_fte_per_spoke: float
    coordination_gbp_per_spoke_per_year: float


SPOKE_KINDS = ("la", "outsourced", "volunteer")
"""The kinds of spoke, in the order of :class:`SpokeParameters`' arrays."""


@dataclass(frozen=True)
class Parameters:
    """Everything the model reads, for a batch of ``replicates`` replicates of ``las``."""

    replicates: int
    las: LAPopulation
    time: TimeParameters
    uptake: UptakeParameters
    market: MarketParameters
    workforce: WorkforceParameters
    portfolio: PortfolioParameters
    finance: FinanceParameters
    hosting: HostTable
    events: EventParameters
    viability: ViabilityParameters
    prices_gbp_per_year: Array
    """float64[R, N], each LA's subscription once members pay (derived from the bands)"""
    # --- delivery models part 2 (issue #13) ---
    membership_body: MembershipParameters
    charitable_funds: CharitableFundsParameters
    contract: ContractParameters
    spokes: SpokeParameters
    # --- delivery models part 1 (issue #13) ---
    forms: FormTable = field(default_factory=FormTable)
    """the legal forms' own rules by host (docs/model.md §7.5–§7.8)"""
    policies: tuple[PolicyParameters, ...] = ()
    """adaptive policies, in the scenario's order (docs/model.md §12)"""


# --------------------------------------------------------------------------- helpers


def sigma_from_cv(cv: float) -> float:
    """Log-scale spread of a lognormal with coefficient of variation ``cv``: √ln(1 + cv²)."""
    return float(np.sqrt(np.log1p(cv * cv)))


def _parts(path: str) -> list[str | int]:
    """``finance.grants[0].end_month`` → ``["finance", "grants", 0, "end_month"]``."""
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def record_parts(path: str) -> list[str | int]:
    """A scenario key path as a path in the record: ``hosting.x`` → ``hosting.hosts[0].x``,
    ``host_changes[i].hosting.x`` → ``hosting.hosts[i + 1].x``,
    ``finance.subscription_bands[b].price_gbp_per_year`` → ``finance.band_price_gbp_per_year[b]``,
    ``workforce.<role>.x`` → ``workforce.x[role]``, ``portfolio.services[i].x`` →
    ``portfolio.services.x[i]``."""
    parts = _parts(path)
    if parts[0] == "hosting":
        return ["hosting", "hosts", 0, *parts[1:]]
    if parts[0] == "host_changes" and len(parts) > 3 and parts[2] == "hosting":
        return ["hosting", "hosts", int(parts[1]) + 1, *parts[3:]]
    if parts[:2] == ["finance", "subscription_bands"] and parts[3:] == ["price_gbp_per_year"]:
        return ["finance", "band_price_gbp_per_year", parts[2]]
    if parts[0] == "workforce" and len(parts) == 3 and str(parts[1]).upper() in Role.__members__:
        return ["workforce", parts[2], int(Role[str(parts[1]).upper()])]
    if parts[:2] == ["portfolio", "services"] and len(parts) == 4:
        return ["portfolio", "services", parts[3], parts[2]]
    return parts


def is_per_replicate(path: str) -> bool:
    """Whether the parameter at a scenario key path may hold one value per replicate."""
    return re.sub(r"\[\d+\]", "[*]", path) in PER_REPLICATE_PATHS


def _per_replicate_paths() -> frozenset[str]:
    """Scenario key paths (``[*]`` = any index) of every per-replicate field."""
    def marked(cls: type) -> list[str]:
        return [f.name for f in fields(cls) if f.metadata.get("per_replicate")]

    paths = {f"uptake.{n}" for n in marked(UptakeParameters)}
    paths |= {f"market.{n}" for n in marked(MarketParameters)}
    paths |= {f"workforce.{n}" for n in marked(WorkforceParameters)}
    paths |= {f"portfolio.{n}" for n in marked(PortfolioParameters)}
    paths |= {f"finance.{n}" for n in marked(FinanceParameters)}
    paths |= {f"finance.grants[*].{n}" for n in marked(GrantParameters)}
    paths |= {f"hosting.{n}" for n in marked(HostParameters)}
    paths.add("finance.subscription_bands[*].price_gbp_per_year")
    return frozenset(paths)


def compact(array: Array) -> Array:
    """``array``'s first row alone (shape ``[1, …]``) when every replicate holds the same
    values, else ``array``: per-LA quantities computed from it are then computed once rather
    than once per replicate, and broadcast back to ``[R, …]`` by the caller."""
    if array.shape[0] <= 1 or array.strides[0] == 0 or (array == array[:1]).all():
        return array[:1]
    return array


PER_REPLICATE_PATHS = _per_replicate_paths()
"""Scenario key paths of the parameters that may differ between the replicates of one batch
(``[*]`` = any index): sweeps stack design points that differ only in these."""
