"""The scenario schema: every model parameter, with its unit, range, default and source.

Scenarios are validated once, at load, into frozen objects. Units are in field names
(``_gbp``, ``_months``, ``_per_year``, ``_fte``, ``_prob``, ``_rate`` = share of pay). Every field
carries a ``source`` (a citation, or the word "assumption" with a reason) that
``docs/model.md`` reproduces in its parameter table.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "CHARITABLE_FORMS",
    "Policy",
    "HostTransfer",
    "Charity",
    "Commissions",
    "CommunityInterestCompany",
    "CharitableFunds",
    "DeliveryContract",
    "Election",
    "Events",
    "Finance",
    "FundingCase",
    "Grant",
    "HOST_MODELS",
    "MAX_MONTH",
    "HostChange",
    "HubAndSpoke",
    "Hosting",
    "JointPartnership",
    "TeckalCompany",
    "NationalProgrammes",
    "SpendingReview",
    "SubscriptionBand",
    "MAX_DRIVERS",
    "Market",
    "MembershipBody",
    "Meta",
    "Portfolio",
    "Role",
    "Scenario",
    "Service",
    "SpokeKind",
    "STRANDS",
    "TimeSettings",
    "Uptake",
    "Viability",
    "Workforce",
    "parameter_info",
    "parameter_rows",
    "readable_name",
]

STRANDS = ("culture_and_leadership", "skills_and_capacity", "collaboration_and_impact")
"""The CoE proposal's three delivery strands (docs/evidence.md §3)."""

HOST_MODELS = ("la_hosted", "government_hosted", "independent_company", "existing_infrastructure")

CHARITABLE_FORMS = ("independent_company", "existing_infrastructure")
"""Host forms that may take charitable income: a company limited by guarantee can register as a
charity, and the sector bodies (Coram, Foundations) are charities; a council or a department
cannot."""


MAX_MONTH = 1200
"""Latest month any month field may name: a century, twice the longest horizon (600). A month
at or after the horizon means "not within the run"; larger values would only overflow the
model's month arithmetic (issue #17: an end_month of 2⁶³ − 1 paid no grant at all)."""
LACode = Annotated[int, Field(ge=0, le=999)]
"""A DfE 3-digit LA code (checked against la_reference.csv at load)."""
MAX_NAME_CHARS = 120
"""Longest name of a service, grant or subscription band."""
MAX_DESCRIPTION_CHARS = 2000
"""Longest scenario description."""
MAX_CHILD_POPULATION = 10_000_000
"""Largest child population a subscription band may start at (England has about 12 million
children; the largest LA about 300,000)."""


def P(default: Any, unit: str, source: str, description: str, **limits: Any) -> Any:
    """A documented parameter field: default, unit, source and description in one place."""
    return Field(
        default,
        description=description,
        json_schema_extra={"unit": unit, "source": source},
        **limits,
    )


def _takes_numbers_not_bools(annotation: Any) -> bool:
    """Whether a field's type accepts an int or a float but not a boolean."""
    if get_origin(annotation) in (Union, types.UnionType):
        options = get_args(annotation)
    else:
        options = (annotation,)
    return bool(set(options) & {int, float}) and bool not in options


class Strict(BaseModel):
    """Base for every schema section: unknown keys are errors, objects are immutable, no number
    is NaN or infinite, and a number is never given as true/false (pydantic would read ``true``
    as 1 and ``false`` as 0, e.g. £0 of reserves). Every int field has an upper bound, so
    whatever validates fits an int64 (issue #17)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _takes_numbers_not_bools(field.annotation):
                raise ValueError(f"must be a number, not true or false, got {value!r}")
        return value


MAX_DRIVERS = 3
"""Most parameters a scenario may declare as the drivers of its result (``meta.drivers``)."""


class Meta(Strict):
    name: str = P("base", "-", "-", "Short scenario name used in tables and chart legends.",
                  min_length=1, max_length=60)
    title: str | None = P(
        None, "-", "-",
        "Plain title for board pages, charts and tables (e.g. 'Hosted by a council'); not "
        "inherited through extends; default: the name in words (readable_name).",
        min_length=1, max_length=60)
    description: str = P("", "-", "-", "One line saying what the scenario represents.",
                         max_length=MAX_DESCRIPTION_CHARS)
    drivers: tuple[str, ...] = P(
        (), "-", "-",
        "Up to three parameter paths (e.g. 'finance.grants[0].end_month', "
        "'market.wtp_median_gbp_per_year') the scenario's author declares drive its result; "
        "the board page shows each one's meaning, its value here and in base.toml. Not "
        "inherited through extends.", max_length=MAX_DRIVERS)

    @field_validator("title")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\n" in value):
            raise ValueError("must be one line of plain words, e.g. 'Hosted by a council'")
        return value

    @field_validator("drivers")
    @classmethod
    def _real_parameters(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            try:
                parameter_info(path)
            except KeyError as exc:
                raise ValueError(f"must name parameters of the schema (as in `python run.py "
                                 f"params`, e.g. finance.grants[0].end_month); {exc.args[0]}, "
                                 f"got {path!r}") from None
        if len(set(value)) != len(value):
            raise ValueError(f"must not name a parameter twice, got {list(value)}")
        return value

    @property
    def plain_title(self) -> str:
        """``title``, or the name in words when the scenario gives none."""
        return self.title or readable_name(self.name)


def readable_name(name: str) -> str:
    """A scenario name in words: ``la_hosted_then_spinout`` → ``La hosted then spinout``."""
    words = re.sub(r"[_\s]+", " ", name).strip()
    return words[:1].upper() + words[1:]


class TimeSettings(Strict):
    start: str = P(
        "2026-04", "YYYY-MM",
        "specification (docs/evidence.md §1.1): April 2026, start of FY 2026/27",
        "Calendar month of month 0.")
    horizon_months: int = P(120, "months", "specification (docs/evidence.md §1.1): ten years",
                            "Number of simulated months.", ge=12, le=600)
    substeps_per_month: int = P(1, "steps/month",
                                "assumption: 1 is within 1.5 LAs of the closed-form Bass curve; "
                                "4 within 0.4 (tests/model/test_uptake_bass.py)",
                                "Integration sub-steps per month for the stock-flow step.",
                                ge=1, le=16)

    @field_validator("start")
    @classmethod
    def _year_month(cls, value: str) -> str:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise ValueError("must be a year and month written YYYY-MM, e.g. 2026-04")
        return value


class Uptake(Strict):
    initial_aware_share: float = P(
        0.5, "share",
        "assumption: D2I's tools and collections already reach most LAs "
        "(about 150 in the RIIA collection, docs/evidence.md §4); "
        "half are taken to know of the new CoE offer at launch",
        "Share of LAs aware of the CoE at month 0 (drawn per LA and replicate).",
        ge=0, le=1)
    initial_aware_count: float | None = P(
        None, "LAs",
        "assumption: unset in every CoE scenario; the uptake calibration specs set it from their "
        "first observation or estimated initial share (docs/calibration.md §4)",
        "LAs aware at month 0 as an exact seed, replacing initial_aware_share: floor(n) LAs "
        "chosen at random in each replicate, plus one more with probability n − floor(n), so "
        "every replicate starts within one LA of n (unset: initial_aware_share).",
        ge=0, le=153)
    p_per_year: float = P(
        0.03, "1/year",
        "Sultan, Farley & Lehmann (1990) meta-analysis mean (docs/evidence.md §10)",
        "Bass coefficient of innovation (outreach) at the reference engagement staffing.",
        ge=0, le=1)
    q_per_year: float = P(
        0.38, "1/year",
        "Sultan, Farley & Lehmann (1990) meta-analysis mean (docs/evidence.md §10)",
        "Bass coefficient of imitation (word of mouth between LAs).", ge=0, le=5)
    peer_weight_region: float = P(0.4, "share",
                                  "assumption: regional networks (RIIAs) carry the largest part of "
                                  "word of mouth",
                                  "Share of imitation that acts through the LA's own region (see "
                                  "peer_weight_neighbours for the rest).", ge=0, le=1)
    outreach_reference_fte: float = P(
        2.0, "FTE",
        "assumption: two engagement staff reach LAs at the published p",
        "Engagement staffing at which the innovation coefficient equals p_per_year; "
        "p scales in proportion to engagement FTE.", ge=0.1, le=100)
    outreach_max_multiplier: float = P(
        2.0, "x",
        "assumption: outreach saturates at twice the published p",
        "Upper limit on the engagement-staffing multiplier of p.", ge=0, le=10)
    evaluation_start_months: float = P(
        6.0, "months",
        "assumption: LAs take about half a year to find time to evaluate",
        "Mean delay from aware to evaluating for an LA with full spare capacity "
        "(0 = immediate).", ge=0, le=120)
    low_rated_capacity_multiplier: float = P(
        0.6, "x",
        "assumption after the proposal's 'inverse care' point "
        "(docs/evidence.md §6)",
        "Multiplier on the evaluation-start rate for LAs rated "
        "requires improvement or inadequate.", gt=0, le=1)
    free_approval_months: float = P(
        1.0, "months",
        "assumption: an officer can adopt a free tool within weeks",
        "Mean approval delay for offers priced at or under the approval "
        "threshold (0 = immediate).", ge=0, le=60)
    free_approval_pass_prob: float = P(0.9, "probability",
                                       "assumption", "Chance that an evaluation of a free or "
                                       "small-spend offer ends in membership.", ge=0, le=1)
    approval_threshold_gbp: float = P(
        5000.0, "GBP/year",
        "assumption: typical officer spend limit in council contract "
        "standing orders", "Annual price above which membership needs "
        "senior approval (the host's slower gate).", ge=0, le=1e9)
    renewal_prob: float = P(0.96, "probability",
                            "assumption: sector subscription services keep most members",
                            "Chance that a member renews each April at full reputation, value for "
                            "money and no budget pressure.", ge=0, le=1)
    renewal_reputation_sensitivity: float = P(
        0.5, "-", "assumption",
        "How far a poor reputation lowers renewal: renewal "
        "= renewal_prob × (1 − s × (1 − reputation)).", ge=0, le=1)
    lapsed_return_months: float = P(
        24.0, "months", "assumption",
        "Mean time before a lapsed LA is again counted as aware and may "
        "re-evaluate (0 = immediate).", ge=0, le=240)
    peer_weight_neighbours: float = P(0.3, "share",
                                      "assumption: DfE statistical neighbours are the peers LAs "
                                      "benchmark against (dfe_statistical_neighbours_2025.csv)",
                                      "Share of imitation that acts through the LA's ten DfE "
                                      "statistical neighbours; national share = 1 − region − "
                                      "neighbours.", ge=0, le=1)
    champion_peer_weight: int = P(2, "adopters",
                                  "assumption: an active champion talks to peers about twice as "
                                  "much as an ordinary member",
                                  "How many adopters a champion LA counts as in its peers' word of "
                                  "mouth (members and contributors count as 1).", ge=1, le=10)
    approval_price_elasticity: float = P(0.5, "-", "assumption",
                                         "How fast the priced pass rate falls with price: pass = "
                                         "host pass rate × (threshold ÷ price)^e above the "
                                         "threshold.", ge=0, le=5)
    renewal_value_ratio_scale: float = P(
        1.0, "x", "assumption: an LA that gets its money's worth "
        "(value = price) renews at 63% of the full value effect",
        "Scale of the value-for-money effect on renewal: value "
        "factor = 1 − exp(−((value + goodwill) ÷ price) ÷ scale).",
        ge=0.01, le=100)
    renewal_goodwill_gbp_per_year: float = P(
        5200.0, "GBP/year",
        "assumption: goodwill and the network keep half of the members that see no service "
        "value yet at the medium band's £7,500 (7,500 × ln 2 ≈ 5,200)",
        "What membership is worth to an LA besides the services (the network, goodwill), "
        "counted with the services' value in value for money: a member that gets no service "
        "value renews at 1 − exp(−(goodwill ÷ price) ÷ scale) of the full rate, which falls "
        "to 0 as the price rises.", ge=0, le=1e6)
    renewal_budget_pressure_sensitivity: float = P(
        0.05, "-", "assumption",
        "Renewal is cut by this share for the LA under "
        "most budget pressure (children-looked-after rate "
        "percentile 1), in proportion below it.",
        ge=0, le=1)
    low_rated_value_multiplier: float = P(
        1.3, "x", "assumption after the proposal's point that "
        "struggling LAs have most to gain (docs/evidence.md §6)",
        "Value of the services to an LA rated requires improvement or inadequate, relative to "
        "others.",
        ge=0, le=10)
    champion_turnover_multiplier: float = P(
        1.0, "x", "DfE children's social work workforce 2025: "
        "each LA's social-worker turnover rate, used as a proxy "
        "for its champion's (la_reference.csv; docs/evidence.md §9)",
        "Champion leaving hazard relative to the LA's 2025 "
        "social-worker turnover rate.", ge=0, le=10)
    champion_replacement_months: float = P(6.0, "months", "assumption",
                                           "Mean time for a contributor or champion LA to find a "
                                           "second champion after one leaves (0 = immediate).",
                                           ge=0, le=120)
    orphan_lapse_prob: float = P(0.5, "probability", "assumption",
                                 "Chance that a member LA whose last champion leaves lapses (else "
                                 "someone new picks it up and it stays a member).", ge=0, le=1)
    contribution_rate_per_year: float = P(
        0.5, "1/year", "assumption: a member starts to contribute "
        "after two years on average",
        "Hazard of a member becoming a contributor, for an LA with "
        "full spare capacity (low-rated LAs: times "
        "low_rated_capacity_multiplier; 0 = never).", ge=0, le=12)
    championing_rate_per_year: float = P(0.33, "1/year", "assumption: about three years from "
                                         "contributor to champion",
                                         "Hazard of a contributor becoming a champion at full "
                                         "reputation (in proportion to reputation; 0 = never).",
                                         ge=0, le=12)
    volunteer_fte_per_contributor: float = P(
        0.05, "FTE", "assumption: about two days a month of "
        "an analyst's time", "Volunteer delivery capacity each "
        "contributor or champion LA gives the CoE (lowers the "
        "staff effort for builds and maintenance).", ge=0, le=1)
    volunteer_fte_per_staff_fte: float = P(
        1.0, "FTE per FTE",
        "assumption after D2I's model of one paid maintainer working with volunteered LA time "
        "(docs/evidence.md §4): volunteers need staff to coordinate them",
        "Most volunteered delivery FTE that one productive delivery FTE can coordinate: usable "
        "volunteer time = min(volunteered, this × productive delivery staff), so a CoE with no "
        "delivery staff gets nothing from volunteers.", ge=0, le=100)

    @model_validator(mode="after")
    def _peer_weights_sum(self) -> Uptake:
        total = self.peer_weight_region + self.peer_weight_neighbours
        if total > 1 + 1e-12:
            raise ValueError(f"peer_weight_neighbours plus peer_weight_region must be at most 1, "
                             f"got {self.peer_weight_neighbours} + {self.peer_weight_region}")
        return self


class Role(Strict):
    initial_fte: int = P(1, "FTE", "assumption", "Staff in post at month 0.", ge=0, le=500)
    establishment_fte: int = P(1, "FTE", "assumption", "Funded posts (staff plus vacancies).",
                               ge=0, le=500)
    salary_gbp_per_year: float = P(45000.0, "GBP/year", "assumption", "Gross salary per FTE.",
                                   ge=0, le=500000)

    @model_validator(mode="after")
    def _initial_within_establishment(self) -> Role:
        if self.initial_fte > self.establishment_fte:
            raise ValueError(
                f"initial_fte ({self.initial_fte}) must not exceed establishment_fte "
                f"({self.establishment_fte})"
            )
        return self


ROLE_NAMES = ("delivery", "engagement", "leadership")


class Workforce(Strict):
    delivery: Role = P(Role(initial_fte=2, establishment_fte=8, salary_gbp_per_year=45000.0),
                       "-", "assumption: D2I began with one maintainer (docs/evidence.md §4); "
                       "salary near a council grade for data developers",
                       "Tool developers, maintainers and analysts.")
    engagement: Role = P(Role(initial_fte=1, establishment_fte=3, salary_gbp_per_year=42000.0),
                         "-", "assumption", "Advisers and community facilitators.")
    leadership: Role = P(Role(initial_fte=1, establishment_fte=2, salary_gbp_per_year=65000.0),
                         "-", "assumption", "Leadership and operations.")
    resignation_rate_per_year: float = P(
        0.14, "1/year",
        "DfE children's social work workforce 2017–2025: turnover "
        "11.8–17.2% a year (docs/evidence.md §9), used as a proxy",
        "Baseline resignation hazard per member of staff.", ge=0, le=2)
    funding_uncertainty_window_months: int = P(12, "months", "assumption",
                                               "How long before a grant ends staff start to leave "
                                               "ahead of it.", ge=0, le=60)
    funding_uncertainty_uplift: float = P(
        1.0, "x", "assumption",
        "Extra resignation hazard, as a multiple of the baseline, "
        "when all income is due to end within the window (scaled by "
        "the share of income ending).", ge=0, le=10)
    workload_sensitivity: float = P(0.5, "x", "assumption",
                                    "Extra resignation hazard per unit of delivery overload "
                                    "(maintenance demand above delivery capacity).", ge=0, le=10)
    hiring_freeze_reserve_months: float = P(
        3.0, "months", "assumption",
        "Affordability horizon: recruitment stops unless reserves "
        "plus contracted income over this many months cover a "
        "full team's running costs over the same months.",
        ge=0, le=60)
    ramp_up_months: float = P(6.0, "months", "assumption: about six months to full productivity "
                              "in a specialist data role",
                              "Mean time for a new starter to become experienced (0 = at once).",
                              ge=0, le=60)
    new_starter_productivity: float = P(0.5, "share", "assumption",
                                        "Productivity of a new starter relative to an experienced "
                                        "member of staff.", ge=0, le=1)
    redundancy_trigger_months: float = P(
        3.0, "months", "assumption",
        "Redundancies are made when reserves plus this many months "
        "of contracted income cannot pay this many months of the "
        "current team's running costs (0 = never).", ge=0, le=60)
    notice_months: int = P(3, "months", "assumption: three months' notice, typical for council "
                           "and charity posts", "Months between a redundancy notice and the "
                           "person leaving (they are paid until then).", ge=0, le=12)
    redundancy_pay_weeks: float = P(
        8.0, "weeks of pay", "assumption: statutory redundancy pay is "
        "up to 1.5 weeks per year of service (gov.uk, Employment Rights "
        "Act 1996 s.162), enhanced by many public bodies (docs/evidence.md §16)",
        "Redundancy payment per person made redundant.", ge=0, le=104)
    share_aged_55_plus: float = P(
        0.2, "share",
        "assumption: no age profile of council data or children's-services staff was found; "
        "about one in five, a local-government workforce older than the economy's (LGA, Local "
        "Government Workforce Demographics 2010) but a data team younger than the council's; "
        "range 0.1–0.3",
        "Share of staff aged 55 or over: each LGPS member made redundant is 55+ with this "
        "chance, and then the employer pays the pension strain cost (docs/model.md §6.1).",
        ge=0, le=1)
    pension_strain_years_of_pay: float = P(
        1.0, "years of pay",
        "assumption: the strain cost of an unreduced LGPS pension paid early on redundancy at "
        "55+ (LGPS Regulations 2013 reg. 30(7), 68(2)) is the actuary's capitalised cost, "
        "typically one to several years' pay, more the younger and longer-serving the member; "
        "the low end, for a young team's short service; range 0.5–4",
        "Pension strain cost of each LGPS member aged 55+ made redundant, in years of their "
        "salary, paid by the employer when they leave (0: none).", ge=0, le=20)
    minimum_leadership_fte: int = P(1, "FTE", "assumption: someone must run what remains",
                                    "Leadership posts never cut by redundancies.", ge=0, le=10)
    vacancy_cover_share: float = P(
        0.72, "share",
        "DfE children's social work workforce 2017–2025: agency workers covered 67.5–76.2% of "
        "vacant FTE, mean 72% (docs/evidence.md §12.1), used as a proxy",
        "Share of the posts vacated by leavers that agency or contractor staff cover while the "
        "post is being recruited to (not during a hiring freeze or a host cut).", ge=0, le=1)
    vacancy_cover_cost_multiplier: float = P(
        2.1, "x",
        "NAO 2016, Use of consultants and temporary staff: a temporary developer's average fee "
        "of £603 a day against a civil-service staff cost of £242–£323 a day (1.9–2.5×; "
        "docs/evidence.md §12.1)",
        "Cost of one FTE of cover relative to the staff cost (pay, employer NI and pension) of "
        "the post it covers; VAT is added where the host cannot recover it.", ge=0, le=10)

    team_policy: Literal["fixed", "secured_income"] = P(
        "fixed", "-",
        "specification (issue #12 item 10; docs/model.md §3.6): Gall's law for the "
        "organisation; the shipped scenarios use secured_income",
        "fixed: the funded posts are the establishment from month 0, deleted only for lack of "
        "cash and restored all at once. secured_income: the team starts with its first staff "
        "(initial_fte) and at each review grows, or shrinks, to what secured income and "
        "reserves above the reserves policy pay for over the planning horizon.")
    planning_horizon_months: int = P(
        12, "months", "assumption: a year's budget, the horizon of a council's or a charity's "
        "annual budget", "secured_income: months of secured income a review plans on (grants' "
        "profiles, core budget, income due now and host support over them).", ge=1, le=120)
    team_review_months: int = P(
        3, "months", "assumption: a quarterly budget review",
        "secured_income: months between team reviews (the first at month 0).", ge=1, le=60)
    growth_posts_per_review: int = P(
        2, "posts", "assumption: about two recruitments a quarter is what a small team can "
        "induct while it delivers (Gall's law for the organisation)",
        "secured_income: most posts a review adds.", ge=0, le=500)
    planning_contingency_share: float = P(
        0.05, "share", "assumption: a budget holds back about a twentieth for costs that are not "
        "posts (launch events, recruitment, cover of vacancies, redundancy pay)",
        "secured_income: share of the review's budget not planned on posts.", ge=0, le=0.9)

    def roles(self) -> tuple[Role, Role, Role]:
        """Roles in the fixed order delivery, engagement, leadership."""
        return (self.delivery, self.engagement, self.leadership)


class Service(Strict):
    name: str = P(
        ..., "-", "CoE proposal, Data to Insight 2025 (docs/evidence.md §3)",
        "Service (idea) name.", min_length=1, max_length=MAX_NAME_CHARS)
    strand: Literal[
        "culture_and_leadership", "skills_and_capacity", "collaboration_and_impact"
    ] = P(
        ..., "-", "CoE proposal, Data to Insight 2025 (docs/evidence.md §3)", "Delivery strand.")
    build_effort_fte_months: float = P(..., "FTE-months", "assumption",
                                       "Delivery effort to build the service.", ge=0.1, le=1000)
    maintenance_fte: float = P(
        ..., "FTE", "assumption",
        "Delivery staff needed to keep the live service reliable.", ge=0, le=50)
    complexity: float = P(
        ..., "0–1", "assumption",
        "How hard the service is to launch; scales launch-failure risk.", ge=0, le=1)
    value_gbp_per_member_per_year: float = P(
        ..., "GBP/year", "assumption (scaled to the proposal's "
        "£9k–£22.5k statutory-return cost, docs/evidence.md §5)",
        "Value of the fully reliable service to one member LA.",
        ge=0, le=1_000_000)
    schedule_month: int | None = P(None, "month", "assumption",
                                   "Month the build starts under the 'schedule' policy (unset: "
                                   "never built under that policy).", ge=0, le=MAX_MONTH)


def _default_services() -> tuple[Service, ...]:
    rows = [
        # name, strand, build FTE-months, maintenance FTE, complexity, value £/member/year
        ("Data tool collaboration", "collaboration_and_impact", 6, 0.8, 0.2, 4000),
        ("Improving data quality", "skills_and_capacity", 9, 0.6, 0.4, 4500),
        ("Facilitating information sharing", "collaboration_and_impact", 8, 0.4, 0.5, 1500),
        ("Making sense of case management systems", "skills_and_capacity", 12, 0.5, 0.7, 3000),
        ("Making sense of AI, RPA, and other advanced and integrative software",
         "skills_and_capacity", 12, 0.5, 0.8, 2000),
        ("Influencing technology markets", "culture_and_leadership", 8, 0.3, 0.6, 2500),
        ("Curating technical standards", "skills_and_capacity", 10, 0.6, 0.6, 2500),
        ("Advocacy across internal hierarchies", "culture_and_leadership", 5, 0.2, 0.3, 1000),
        ("Supporting professional development", "skills_and_capacity", 10, 0.6, 0.5, 2500),
        ("Helping leadership to expect excellence", "culture_and_leadership", 8, 0.4, 0.5, 1500),
        ("Redefining cross-sector collaboration", "collaboration_and_impact", 9, 0.4, 0.6, 1500),
        ("Responding to large-scale change", "culture_and_leadership", 9, 0.5, 0.7, 2000),
        ("Discovering what works", "collaboration_and_impact", 8, 0.4, 0.5, 1500),
    ]
    return tuple(
        Service.model_validate({"name": n, "strand": s, "build_effort_fte_months": b,
                                "maintenance_fte": m, "complexity": c,
                                "value_gbp_per_member_per_year": v})
        for n, s, b, m, c, v in rows
    )


class Portfolio(Strict):
    policy: Literal["gall", "big_bang", "schedule"] = P(
        "gall", "-", "specification (docs/evidence.md §1.4)",
        "gall: start with the first service and add one at a time when live services are reliable "
        "and capacity is spare; big_bang: build every service from month 0; schedule: start each "
        "service in its schedule_month, whatever the state.")
    services: tuple[Service, ...] = P(
        _default_services(), "-",
        "names and strands: the CoE proposal (docs/evidence.md §3); efforts and "
        "values: assumption",
        "The offer, in the order gall adds it.", min_length=1, max_length=40)
    gall_reliability_threshold: float = P(0.8, "0–1", "assumption",
                                          "Gall: every live service must be at least this reliable "
                                          "before the next build starts.", ge=0, le=1)
    gall_spare_fte: float = P(1.0, "FTE", "assumption",
                              "Gall: delivery FTE that must be free after maintenance before the "
                              "next build starts.", ge=0, le=100)
    launch_failure_prob: float = P(
        0.05, "probability", "assumption",
        "Launch-failure chance of a service of complexity 1 with an idle "
        "team and nothing else in build.", ge=0, le=1)
    launch_failure_strain: float = P(
        0.4, "per utilisation", "assumption",
        "Added failure chance per unit of delivery utilisation "
        "(maintenance demand ÷ delivery FTE), times complexity.", ge=0, le=5)
    launch_failure_concurrency: float = P(
        0.1, "per complexity unit", "assumption",
        "Added failure chance per unit of complexity of the other "
        "services in build at the same time, times complexity.",
        ge=0, le=5)
    failed_launch_rework_share: float = P(0.5, "share", "assumption",
                                          "Share of the build effort redone after a failed launch.",
                                          ge=0, le=1)
    debt_growth_per_month: float = P(
        0.15, "1/month", "assumption",
        "Technical debt added per month to a service with no maintenance "
        "cover (scaled by the uncovered share).", ge=0, le=5)
    debt_repayment_per_month: float = P(
        0.1, "1/month", "assumption",
        "Share of technical debt paid down per month at full cover.",
        ge=0, le=1)
    incident_prob_per_month: float = P(0.3, "probability", "assumption",
                                       "Monthly incident chance of a live service at reliability 0 "
                                       "(scaled by 1 − reliability).", ge=0, le=1)
    reputation_time_months: float = P(6.0, "months", "assumption",
                                      "Time constant with which reputation moves towards the "
                                      "reliability of live services.", ge=0.1, le=120)
    reputation_hit_failed_launch: float = P(0.1, "reputation", "assumption",
                                            "Reputation lost at each failed launch.", ge=0, le=1)
    reputation_hit_incident: float = P(0.03, "reputation", "assumption",
                                       "Reputation lost at each service incident.", ge=0, le=1)
    initial_reputation: float = P(0.7, "0–1", "assumption (D2I's standing at launch)",
                                  "Reputation at month 0.", ge=0, le=1)
    retirement_reliability_floor: float = P(
        0.5, "0–1", "assumption: a service failing about half the time is no longer a service",
        "A live service below this reliability counts towards its retirement (0 = never "
        "retire).", ge=0, le=1)
    retirement_months: float = P(
        6.0, "months", "assumption: two quarters of unreliable service before it is withdrawn",
        "Time a live service may spend below the retirement floor before it is retired (back "
        "to planned, its build progress and debt cleared).", ge=0, le=120)
    reputation_hit_retirement: float = P(
        0.1, "reputation", "assumption: as a failed launch",
        "Reputation lost at each retirement of a live service.", ge=0, le=1)
    launch_event_cost_gbp: float = P(
        15_000.0, "GBP", "assumption: a launch's communications, training sessions for LA "
        "staff and documentation, about a month of two people's time",
        "One-off cost in each month in which at least one service launches: services launched "
        "together pay it once (docs/model.md §4.10).", ge=0, le=1e7)
    bundle_value_uplift: float = P(
        0.2, "share", "assumption after the proposal's case for one Centre spanning culture, "
        "skills and collaboration (docs/evidence.md §3)",
        "Extra value of every live service to member LAs while each of the three strands has a "
        "live service: a complete offer is worth more than its parts (docs/model.md §4.10).",
        ge=0, le=5)
    learning_rate: float = P(
        0.15, "share", "assumption within the 10–25% per doubling of experience curves (Wright "
        "1936; Argote and Epple 1990; docs/evidence.md §22)",
        "Share of build effort saved by each doubling of the services the team has launched: "
        "what favours growing one service at a time (docs/model.md §4.10).", ge=0, le=0.9)

    @model_validator(mode="after")
    def _unique_names(self) -> Portfolio:
        names = [s.name for s in self.services]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"service names must be unique; repeated: {', '.join(dupes)}")
        return self


class Grant(Strict):
    name: str = P("Innovation grant", "-", "-", "Grant name.", min_length=1,
                  max_length=MAX_NAME_CHARS)
    amount_gbp_per_year: float = P(
        1_000_000.0, "GBP/year",
        "assumption (scale: DfE's What Works Centre contracts, c.£10m over "
        "four years, docs/evidence.md §17)", "Grant income while it runs.",
        ge=0, le=1e9)
    start_month: int = P(0, "month", "assumption", "First month the grant pays.", ge=0,
                         le=MAX_MONTH)
    end_month: int = P(
        36, "month", "assumption: a three-year innovation grant",
        "First month the grant no longer pays (the cliff), unless it is renewed.", ge=1,
        le=MAX_MONTH)
    taper_months: int = P(
        0, "months", "assumption: innovation grants end abruptly",
        "Months before the end over which income falls linearly to zero: in "
        "month m of the taper the grant pays amount × (end − m) ÷ (taper + 1).",
        ge=0, le=120)
    renewal_prob: float = P(
        0.0, "probability",
        "assumption: no renewal is promised (docs/evidence.md §17: the What Works "
        "Centre had 'no guaranteed funding after' its first contracts)",
        "Chance, drawn per replicate, that the funder renews the grant at its "
        "renewal decision (taper_months before the end).", ge=0, le=1)
    renewal_months: int = P(36, "months", "assumption: a renewal for another three years",
                            "How far a renewal moves the end of the grant.", ge=1, le=240)
    max_renewals: int = P(1, "count", "assumption",
                          "Most renewals the grant can have; each renewed term ends in another "
                          "decision until this many renewals have been granted.", ge=0, le=10)
    government_funded: bool = P(
        True, "-", "specification (docs/evidence.md §1.6): a general election may change policy",
        "Whether central government funds the grant: an election policy "
        "change scales its renewal chance.")
    renewal_on_performance: bool = P(
        False, "-", "assumption: a re-tender or a renewal bid is judged on the provider's record "
        "(docs/model.md §7.4)",
        "Whether the renewal chance moves with the Centre's case: its value for money and reach "
        "over the last year (events.funding_case).")
    basis: Literal["eligible_spend", "fixed"] = P(
        "eligible_spend", "-",
        "DfE grants are paid 'only in respect of approved expenditure incurred' (Education "
        "Act 2002 s.14; docs/evidence.md §20); fixed is the optimistic case",
        "eligible_spend: each month the grant pays the eligible costs actually incurred, at "
        "most its profile's total for the fiscal year; what is not spent is not paid. fixed: "
        "it pays its profile whatever is spent (the optimistic case).")
    earned_income: Literal["offsets", "retained"] = P(
        "offsets", "-",
        "assumption after standard grant terms: project income is deducted from the costs a "
        "grant reimburses unless the funder agrees otherwise (docs/evidence.md §20)",
        "eligible_spend basis: whether subscriptions and commissions earned while the grant "
        "runs reduce what it pays (offsets) or are kept on top of it (retained).")
    milestone_month: int | None = P(
        None, "month", "assumption: funders often set delivery milestones; none unless a "
        "scenario sets one (docs/model.md §4.10)",
        "Month by which the funder expects milestone_live_services live services; if fewer are "
        "live then, the grant ends that month (unset: no milestone).",
        ge=1, le=MAX_MONTH)
    milestone_live_services: int = P(
        0, "services", "assumption", "Live services the funder expects by milestone_month.",
        ge=0, le=40)

    @model_validator(mode="after")
    def _end_after_start(self) -> Grant:
        if self.end_month <= self.start_month:
            raise ValueError(
                f"end_month must be after start_month ({self.start_month}), got {self.end_month}"
            )
        if self.taper_months >= self.end_month - self.start_month:
            raise ValueError(
                f"taper_months must be shorter than the grant ({self.end_month - self.start_month} "
                f"months), got {self.taper_months}"
            )
        if self.milestone_month is not None and not (
                self.start_month < self.milestone_month < self.end_month):
            raise ValueError(
                f"milestone_month must be after start_month ({self.start_month}) and before "
                f"end_month ({self.end_month}), got {self.milestone_month}")
        return self


class SubscriptionBand(Strict):
    name: str = P("all", "-", "-", "Band name (e.g. small, medium, large).", min_length=1,
                  max_length=MAX_NAME_CHARS)
    min_child_population: int = P(
        0, "children",
        "ONS mid-2024 child population 0–17 (sim/data/la_reference.csv)",
        "Smallest child population (0–17) of an LA in this band; the band "
        "runs up to the next band's minimum.", ge=0, le=MAX_CHILD_POPULATION)
    price_gbp_per_year: float = P(6000.0, "GBP/year per LA", "assumption",
                                  "Annual subscription of a member LA in this band.", ge=0, le=1e6)


class Commissions(Strict):
    rate_per_year: float = P(0.0, "1/year",
                             "assumption: off unless a scenario sets it (D2I's commissioned work, "
                             "e.g. the MHCLG-funded validators, docs/evidence.md §4)",
                             "Arrival rate of commissioned projects at reputation 1 and no members "
                             "(Poisson); it scales with reputation and membership.", ge=0, le=120)
    member_effect: float = P(
        1.0, "x", "assumption: a CoE with every LA as a member is asked twice as often",
        "Rise in the arrival rate from no members to all LAs as members: "
        "rate × reputation × (1 + member_effect × members ÷ N).", ge=0, le=10)
    mean_value_gbp: float = P(40_000.0, "GBP", "assumption: a small data or tool project",
                              "Mean value of one commission (lognormal).", ge=1, le=1e8)
    value_sigma: float = P(0.6, "-", "assumption", "Log-scale spread (σ) of commission values.",
                           ge=0, le=3)
    duration_months: int = P(
        6, "months", "assumption",
        "How long a commission runs; its value is paid in equal monthly parts.",
        ge=1, le=60)
    charge_gbp_per_fte_month: float = P(8_000.0, "GBP/FTE-month",
                                        "assumption: about £400 a day over 20 days",
                                        "What the CoE charges for one FTE-month of delivery: a "
                                        "commission needs (value per month ÷ this) delivery FTE.",
                                        ge=100, le=1e6)
    max_active: int = P(8, "count", "assumption",
                        "Most commissions running at once; arrivals beyond it are turned away.",
                        ge=1, le=64)


class Finance(Strict):
    opening_reserves_gbp: float = P(150_000.0, "GBP", "assumption", "Cash reserves at month 0.",
                                    ge=-1e9, le=1e10)
    grants: tuple[Grant, ...] = P(
        (Grant(name="DfE innovation grant", amount_gbp_per_year=1_000_000.0,
        start_month=0, end_month=36),),
        "-", "assumption", "Time-limited grants.", max_length=20)
    subscription_gbp_per_year: float = P(
        6000.0, "GBP/year per LA",
        "assumption (below the £9k–£22.5k a statutory return costs an "
        "LA, docs/evidence.md §5)",
        "Annual subscription charged to each member LA.", ge=0, le=1e6)
    subscriptions_from_month: int = P(
        24, "month", "assumption: free while the grant builds the offer",
        "First month in which members pay.", ge=0, le=MAX_MONTH)
    invoice_payment_months: int = P(
        1, "months",
        "Public Contracts Regulations 2015 reg. 113: public bodies pay valid invoices within "
        "30 days (https://www.legislation.gov.uk/uksi/2015/102/regulation/113)",
        "Months from a subscription invoice (each April, or on joining) to its payment; an LA "
        "that is no longer a member by then never pays it (a bad debt, docs/model.md §5.6).",
        ge=0, le=11)
    bad_debt_share: float = P(
        0.0, "share", "assumption: none beyond the invoices of LAs that leave before paying",
        "Share of every subscription invoice never paid even by an LA still a member (written "
        "off when it falls due).", ge=0, le=1)
    non_pay_gbp_per_fte_per_year: float = P(
        6000.0, "GBP/FTE/year", "assumption",
        "Non-pay costs per member of staff (IT, travel, training).",
        ge=0, le=1e6)
    fixed_non_pay_gbp_per_year: float = P(
        40000.0, "GBP/year", "assumption",
        "Fixed non-pay costs (hosting, licences, events).", ge=0, le=1e8)
    employer_ni_rate: float = P(0.15, "share of pay",
                                "HMRC: employer Class 1 NI 15% from April 2025 (threshold ignored; "
                                "docs/evidence.md §16)",
                                "Employer national insurance on salaries.", ge=0, le=1)
    vat_rate: float = P(0.20, "share", "VAT Act 1994: standard rate 20% (docs/evidence.md §14)",
                        "VAT on non-pay costs, borne where the host cannot recover it.", ge=0, le=1)
    subscription_bands: tuple[SubscriptionBand, ...] = P(
        (), "-", "assumption", "Subscription prices by LA size (child population); empty: every "
        "member pays subscription_gbp_per_year.", max_length=10)
    core_budget_gbp_per_year: float = P(
        0.0, "GBP/year", "assumption",
        "Central-government core budget at its first setting; "
        "spending reviews and elections then move it.", ge=0, le=1e9)
    core_budget_from_month: int = P(0, "month", "assumption", "First month the core budget pays.",
                                    ge=0, le=MAX_MONTH)
    commissions: Commissions = P(Commissions(), "-", "-", "Commissioned projects.")
    reserves_policy_months: float = P(
        3.0, "months", "assumption: a common charity reserves policy holds three to six months "
        "of running costs (docs/evidence.md §19)",
        "Reserves policy: the months of running costs reserves should cover; reserves below it "
        "are reported (below_reserves_policy).", ge=0, le=60)
    la_analyst_cost_gbp_per_hour: float = P(
        32.0, "GBP/hour",
        "assumption: an LA data analyst on about £40,000 a year plus 30% on-costs, "
        "over about 1,600 working hours", "Converts value delivered to LAs (£) into analyst hours "
        "saved (docs/evidence.md §1.7).", ge=1, le=1000)
    pay_awards: tuple[float, ...] = P(
        (0.03,), "share/year by fiscal year from 2026/27",
        "assumption informed by the NJC for Local Government Services awards: 2023/24 £1,925 "
        "(points 1–42) and 3.88% above; 2024/25 £1,290 (points 2–43) and 2.5% above; 2025/26 "
        "3.2% on all points (LGA/NJC pay circulars, docs/evidence.md §23); the forward rate is "
        "an assumption",
        "Nominal pay award each April: salaries and everything proportional to pay (employer "
        "NI, pension, overhead recharge, redundancy pay, vacancy cover) rise by the year's rate "
        "(item k is the award of fiscal year 2026/27 + k; item 0, 2026/27's, is already in the "
        "2026/27 salaries; the last item is repeated for later years). 0 = constant 2026/27 "
        "pay.",
        min_length=1, max_length=60)
    cpi_rates: tuple[float, ...] = P(
        (0.02,), "share/year by fiscal year from 2026/27",
        "Bank of England 2% CPI inflation target (HM Treasury remit for the Monetary Policy "
        "Committee) as the forward assumption; recent years: ONS CPI annual rate, series D7G7 "
        "(docs/evidence.md §23)",
        "CPI inflation each April: non-pay, fixed non-pay, governance, recruitment, launch and "
        "set-up costs, host in-kind support, charitable income and commission values rise by "
        "the year's rate (items by fiscal year as pay_awards). 0 = constant 2026/27 prices.",
        min_length=1, max_length=60)
    subscription_uplift: float | Literal["cpi"] = P(
        "cpi", "share/year, or \"cpi\"",
        "assumption: list prices keep their real value (follow CPI)",
        "Rise of the subscription list prices each April: \"cpi\" follows finance.cpi_rates; a "
        "number is a fixed rate (0 = prices frozen in cash, so their real value falls).")
    core_budget_uplift: float = P(
        0.0, "share/year", "assumption: central budgets are set in cash at spending reviews "
        "(flat cash between them)",
        "Rise of the core budget each April between spending reviews (0 = flat cash).",
        ge=-0.5, le=1.0)

    @field_validator("pay_awards", "cpi_rates")
    @classmethod
    def _rates_in_range(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        for i, rate in enumerate(value):
            if not -0.5 <= rate <= 1.0:
                raise ValueError(f"item {i} is {rate}: an annual rate must be between -0.5 "
                                 f"and 1.0")
        return value

    @field_validator("subscription_uplift")
    @classmethod
    def _uplift_in_range(cls, value: float | str) -> float | str:
        if not isinstance(value, str) and not -0.5 <= value <= 1.0:
            raise ValueError(f"must be \"cpi\" or an annual rate between -0.5 and 1.0, got "
                             f"{value}")
        return value

    @model_validator(mode="after")
    def _bands_in_order(self) -> Finance:
        mins = [b.min_child_population for b in self.subscription_bands]
        if mins and mins[0] != 0:
            raise ValueError(f"subscription_bands[0].min_child_population must be 0 (every LA "
                             f"needs a band), got {mins[0]}")
        for i in range(1, len(mins)):
            if mins[i] <= mins[i - 1]:
                raise ValueError(f"subscription_bands[{i}].min_child_population must be above "
                                 f"subscription_bands[{i - 1}]'s ({mins[i - 1]}), got {mins[i]}")
        return self


# --- delivery models part 1 (issue #13) ---


def _codes_unique(codes: tuple[int, ...], what: str) -> tuple[int, ...]:
    if len(set(codes)) != len(codes):
        raise ValueError(f"{what} must name each LA once, got {list(codes)}")
    return codes


class TeckalCompany(Strict):
    """A council-owned company procured by its owners without tender (docs/model.md §7.5)."""

    enabled: bool = P(
        False, "-", "Procurement Act 2023 Schedule 2 para 2 (vertical arrangements; the Teckal "
        "exemption, docs/evidence.md §24)",
        "The host is a company owned by councils: its owners award it their contract without "
        "tender while more than activity_threshold of its activity is for them.")
    owner_las: tuple[LACode, ...] = P(
        (), "DfE LA codes", "assumption: the owner councils (sim/data/la_reference.csv codes)",
        "LA codes of the owner councils; they are members from month 0 (they own it).",
        max_length=153)
    activity_threshold: float = P(
        0.8, "share",
        "Procurement Act 2023 Schedule 2 para 2: more than 80% of the company's activities "
        "carried out for the controlling authorities (docs/evidence.md §24)",
        "Share of the year's activity that must be for the owners (strictly more than it) "
        "for the exemption to hold.", ge=0, le=1)
    owner_contract_grant: str = P(
        "", "-", "assumption: the owners' direct award is modelled as a fixed grant",
        "Name of the finance.grants entry that is the owners' contract, awarded without "
        "tender (empty: none; the owners' subscriptions alone are their activity).")
    commissions_owner_share: float = P(
        0.0, "share", "assumption: commissions come from LAs, regions and departments other "
        "than the owners",
        "Share of commissions income counted as activity for the owners.", ge=0, le=1)
    outside_sales: Literal["capped", "uncapped"] = P(
        "capped", "-", "assumption: a Teckal company manages its outside trade to keep the "
        "exemption",
        "capped: the company takes no new outside member while its outside share of activity "
        "is at the cap (1 − activity_threshold − cap_margin); uncapped: it sells to anyone and "
        "loses the exemption in a year its outside share passes 1 − activity_threshold.")
    cap_margin: float = P(
        0.02, "share", "assumption: a safety margin below the legal limit",
        "capped: how far below the legal limit the company stops taking outside members.",
        ge=0, le=1)
    tender_win_prob: float = P(
        0.5, "probability", "assumption: an incumbent wins half of open tenders",
        "Chance the company wins the owners' contract when the owners must tender it (the "
        "exemption lost, or its renewal while not exempt).", ge=0, le=1)
    tender_cost_gbp: float = P(
        20000.0, "GBP", "assumption: a competitive bid's cost to a small supplier",
        "Bid cost to the company when the owners' contract is tendered (a one-off cost).",
        ge=0, le=1e8)

    @field_validator("owner_las")
    @classmethod
    def _owners_once(cls, codes: tuple[int, ...]) -> tuple[int, ...]:
        return _codes_unique(codes, "owner_las")

    @model_validator(mode="after")
    def _owners_given(self) -> TeckalCompany:
        if self.enabled and not self.owner_las:
            raise ValueError("owner_las must name at least one owner council when enabled")
        return self


class JointPartnership(Strict):
    """Councils that jointly run the Centre, guarantee its contract and share its deficit
    (docs/model.md §7.6)."""

    enabled: bool = P(
        False, "-", "DfE 2016 workshop §4C, §4G (Achieving for Children; councils jointly "
        "delivering services); Local Government Act 1972 s.101–102 (joint arrangements)",
        "The host is a partnership of councils: each partner guarantees its contract for a "
        "term, and the partners meet a year-end deficit by agreed shares.")
    partner_las: tuple[LACode, ...] = P(
        (), "DfE LA codes", "assumption: the founding partners (sim/data/la_reference.csv codes)",
        "LA codes of the founding partners; they are members from month 0.", max_length=153)
    deficit_shares: tuple[float, ...] = P(
        (), "weights", "assumption: equal shares unless agreed otherwise",
        "Agreed share of each founding partner (same order as partner_las; relative weights, "
        "empty: equal).")
    joiner_share: float = P(
        1.0, "weight", "assumption: a joining council takes a founder's typical weight",
        "Share weight of a council that joins later.", gt=0, le=1e6)
    max_partners: int = P(
        5, "count", "DfE 2016 workshop §4C: Achieving for Children considered capping its model "
        "at five councils",
        "Most partners at once (founders included).", ge=1, le=153)
    contract_grant: str = P(
        "", "-", "assumption: the partners' guaranteed contracts are modelled as a fixed grant",
        "Name of the finance.grants entry that is the partners' guaranteed contracts: its "
        "amount_gbp_per_year is each partner's contract, paid for each partner in the "
        "partnership (empty: none).")
    term_months: int = P(
        60, "months", "assumption: a five-year partnership agreement",
        "Length of a term; partners may leave only at a term's end.", ge=1, le=600)
    leave_prob_at_term_end: float = P(
        0.15, "probability", "assumption",
        "Chance each partner leaves at a term's end.", ge=0, le=1)
    join_prob_at_term_end: float = P(
        0.1, "probability", "assumption",
        "Chance each free seat (below max_partners) is taken by a new partner at a term's end.",
        ge=0, le=1)
    annual_deficit_limit_gbp: float = P(
        250000.0, "GBP/year", "assumption: what partner councils will meet in a year",
        "Most the partners together pay towards a year-end deficit; beyond it the deficit "
        "stays with the Centre and the lead council's failure rule acts.", ge=0, le=1e9)

    @field_validator("partner_las")
    @classmethod
    def _partners_once(cls, codes: tuple[int, ...]) -> tuple[int, ...]:
        return _codes_unique(codes, "partner_las")

    @model_validator(mode="after")
    def _partners_fit(self) -> JointPartnership:
        if self.enabled and not self.partner_las:
            raise ValueError("partner_las must name at least one partner council when enabled")
        if len(self.partner_las) > self.max_partners:
            raise ValueError(f"partner_las must hold at most max_partners "
                             f"({self.max_partners}) councils, got {len(self.partner_las)}")
        if self.deficit_shares and len(self.deficit_shares) != len(self.partner_las):
            raise ValueError(f"deficit_shares must give one share per partner "
                             f"({len(self.partner_las)}), got {len(self.deficit_shares)}")
        if any(w <= 0 for w in self.deficit_shares):
            raise ValueError(f"deficit_shares must all be above 0, got "
                             f"{list(self.deficit_shares)}")
        return self


class CommunityInterestCompany(Strict):
    """A staff mutual run as a community interest company (docs/model.md §7.7)."""

    enabled: bool = P(
        False, "-", "Companies (Audit, Investigations and Community Enterprise) Act 2004 Part 2; "
        "Community Interest Company Regulations 2005 (docs/evidence.md §24); DfE 2016 workshop "
        "§3 (Epic CIC)",
        "The host is a community interest company: its assets are locked, its dividends "
        "capped, and (as a staff mutual) its staff own it.")
    dividend_cap_share: float = P(
        0.35, "share of distributable profits",
        "Community Interest Company Regulations 2005 reg. 22, as amended by the Community "
        "Interest Company (Amendment) Regulations 2014: dividends at most 35% of the "
        "distributable profits (docs/evidence.md §24)",
        "Most of a year's distributable surplus a CIC may pay out as dividends.", ge=0, le=1)
    dividend_payout_share: float = P(
        0.0, "share of distributable profits",
        "assumption: a CIC limited by guarantee pays no dividend",
        "Share of the year's distributable surplus the board would pay out (the cap applies).",
        ge=0, le=1)
    employee_owned_share: float = P(
        0.0, "share", "assumption: 1 for a staff mutual whose staff are all members",
        "Share of staff who are members or shareholders of the CIC.", ge=0, le=1)
    retention_effect: float = P(
        0.15, "share", "assumption: employee-owned businesses report lower staff turnover "
        "(docs/evidence.md §24); no figure for public-service mutuals found",
        "Fall in the resignation hazard at full employee ownership: the host's "
        "resignation_multiplier is scaled by 1 − retention_effect × employee_owned_share.",
        ge=0, le=1)
    trust_grant_eligibility: float = P(
        0.5, "share", "assumption: a CIC cannot register as a charity, and many trusts fund "
        "only charities (docs/evidence.md §24)",
        "Share of the charitable income a charity would raise that a CIC can raise: its "
        "charitable_income_gbp_per_year is scaled by it.", ge=0, le=1)


class Charity(Strict):
    """A charity on a multi-year grant (docs/model.md §7.8)."""

    enabled: bool = P(
        False, "-", "Charities Act 2011; the CoE proposal Appendix 3 (Foundations, Coram); "
        "docs/evidence.md §24",
        "The host is a registered charity (a charitable company): unpaid trustees, and the "
        "VAT it may recover apportioned between its business and non-business income.")
    trustees: int = P(
        9, "people", "Charity Commission, The essential trustee (CC3): at least three "
        "trustees; nine an assumption for a national charity's board",
        "Trustees on the board.", ge=3, le=30)
    trustee_expenses_gbp_per_year: float = P(
        1000.0, "GBP/year per trustee",
        "assumption: trustees are unpaid (Charities Act 2011 ss.185–188 restrict pay) but "
        "are reimbursed travel and meeting costs",
        "Expenses of each trustee, added to the host's governance cost.", ge=0, le=1e6)
    vat_apportionment: bool = P(
        True, "-", "VAT Act 1994 s.24(5); HMRC VAT Notice 701/1 (charities): input VAT is "
        "recoverable only on business activities, apportioned by a fair method such as "
        "income (docs/evidence.md §24)",
        "Recover the share of the VAT on non-pay costs that last year's business income "
        "(subscriptions, commissions) is of all income; grants and donations are "
        "non-business.")
# --- delivery models part 2 (issue #13) ---


class MembershipBody(Strict):
    """The Centre run by an existing membership body (the LGA, ADCS): paid for by a levy
    top-sliced from its members' subscriptions, which the body's board reviews each April
    (docs/model.md §7.9)."""

    enabled: bool = P(
        False, "-", "issue #13: the LGA and ADCS are membership bodies, not charities (the CoE "
        "proposal, Appendix 3, *Aligning with existing infrastructure*)",
        "Whether the Centre is funded by a membership body's levy (docs/model.md §7.9).")
    levy_gbp_per_member_la_per_year: float = P(
        2000.0, "GBP/year per LA",
        "assumption: a small top-slice of a council's subscription to the body (the LGA's "
        "subscriptions are set by its General Assembly and are not published per council); "
        "range £0–£6,000",
        "Levy the body's board sets aside for the Centre from each member council's "
        "subscription, in 2026/27 prices (rises with CPI).", ge=0, le=1e6)
    body_member_las: int = P(
        153, "LAs",
        "assumption: every children's services authority in England is in membership of the "
        "LGA (its members are councils; ADCS's members are their directors)",
        "Councils in the body's membership whose subscriptions carry the levy, whether or not "
        "they use the Centre.", ge=0, le=153)
    continue_prob: float = P(
        0.9, "probability",
        "assumption: a board continues an established budget line most years; its odds move "
        "with the Centre's value for money and reach among members (docs/model.md §7.4)",
        "Chance the board keeps the levy at an April review when the Centre's record is at "
        "the reference; a levy stopped is not restored.", ge=0, le=1)
    first_review_month: int = P(
        12, "month", "assumption: the body's first budget round after launch",
        "Month of the first April review (reviews then come every 12 months).", ge=1,
        le=MAX_MONTH)


class CharitableFunds(Strict):
    """The Centre run by an existing charity (Coram): its trustees designate part of the
    charity's unrestricted funds to the Centre, drawn to keep it solvent until spent
    (docs/model.md §7.10)."""

    enabled: bool = P(
        False, "-", "issue #13: a charity's own charitable funds (the CoE proposal, Appendix 3)",
        "Whether the host charity backs the Centre with a designated fund.")
    designated_fund_gbp: float = P(
        200_000.0, "GBP",
        "assumption: trustees designate a part of unrestricted reserves to a new activity "
        "(Charity Commission CC19: designated funds are unrestricted funds set aside by the "
        "trustees; docs/evidence.md §21); range £0–£500,000",
        "Unrestricted funds the trustees designate to the Centre at launch; drawn down, never "
        "topped up.", ge=0, le=1e9)
    floor_gbp: float = P(
        0.0, "GBP",
        "assumption: trustees cover a deficit as it arises, not ahead of it",
        "Reserves the fund restores the Centre to at a month end, while it lasts.",
        ge=0, le=1e9)


class DeliveryContract(Strict):
    """A provider under contract (a consultancy, social enterprise or spun-out company): a
    contract price, corporation tax and distributions, bid costs at each re-procurement, and,
    when the provider loses the re-tender, the service moving to a successor with its staff
    under TUPE (docs/model.md §7.11)."""

    enabled: bool = P(
        False, "-", "issue #13: a private delivery partner; a commissioned term with bring-back "
        "(DfE 2016 workshop record, §4G)",
        "Whether the Centre is a contract held by a provider (docs/model.md §7.11).")
    contract_grant: int = P(
        0, "index", "-",
        "Which finance.grants[] entry is the contract price: its renewal decision is the "
        "re-procurement.", ge=0, le=20)
    corporation_tax: bool = P(
        True, "-",
        "Corporation Tax Act 2010: a company's trading profits are taxable, a not-for-profit "
        "company's included; a charity's are exempt (docs/evidence.md §25)",
        "Whether the provider pays corporation tax on the year's profit.")
    margin: float = P(
        0.0, "share of contract income",
        "assumption: a for-profit supplier prices a margin into its bid and plans its team to "
        "keep it; 0 for a not-for-profit provider; range 0–0.2",
        "Share of the contract price the provider keeps out of its team's budget (docs/model.md "
        "§3.6: the secured budget is reduced by it).", ge=0, le=0.9)
    successor_margin: float = P(
        0.0, "share of contract income", "assumption: an in-house successor plans no margin",
        "margin of the successor.", ge=0, le=0.9)
    distribution_share: float = P(
        1.0, "share",
        "assumption: a for-profit supplier pays out its profit above working capital; 0 for a "
        "company limited by guarantee or a CIC's locked assets",
        "Share of the year's post-tax profit, above the retained reserve, paid to the "
        "provider's owners each March (the margin the supplier takes).", ge=0, le=1)
    retained_reserve_months: float = P(
        2.0, "months", "assumption: working capital of two months' running costs",
        "Reserves the provider keeps before any distribution, in months of the funded "
        "posts' running costs.", ge=0, le=60)
    bid_cost_gbp: float = P(
        30_000.0, "GBP",
        "assumption: a few weeks of several people's time and a bid team, about 3–4% of a "
        "year's contract value; range £10,000–£80,000",
        "Cost to the incumbent of bidding at each re-procurement, paid in the decision month "
        "(a cost line of its own, bid).", ge=0, le=1e8)
    on_loss: Literal["close", "move"] = P(
        "move", "-",
        "TUPE Regulations 2006 reg. 3(1)(b): a service provision change transfers the "
        "service's staff to the new provider; DfE 2016 workshop §4G (brought back in house)",
        "What a lost re-tender does: close (the provider's income ends; it closes when its "
        "cash runs out, the old behaviour) or move (the service continues under the "
        "successor, its members and services kept).")
    successor_term_months: int = P(
        600, "months",
        "assumption: in house, the service is funded from the commissioner's budget with no "
        "further term; a successor supplier's own re-tender is not modelled",
        "How long the contract price keeps paying after a move.", ge=1, le=1200)
    successor_corporation_tax: bool = P(
        False, "-", "a council or department pays no corporation tax",
        "Whether the successor pays corporation tax (true for a successor company).")
    successor_distribution_share: float = P(
        0.0, "share", "assumption: an in-house successor distributes nothing",
        "distribution_share of the successor.", ge=0, le=1)
    tupe_transfer_share: float = P(
        0.9, "share",
        "assumption: TUPE transfers everyone assigned to the service, but some object "
        "(reg. 4(7)) or leave around the change; range 0.7–1",
        "Share of staff who transfer to the successor; the others leave at the move.",
        ge=0, le=1)
    transition_cost_gbp: float = P(
        50_000.0, "GBP", "assumption: legal, HR and systems work of a service provision change",
        "One-off cost of the move, paid by the successor in its first month.", ge=0, le=1e9)
    transition_months: int = P(
        6, "months", "assumption, as host_changes[].transition_months (docs/model.md §6.1)",
        "Months after the move with the productivity dip.", ge=0, le=60)
    productivity_loss: float = P(
        0.15, "share", "assumption, as host_changes[].productivity_loss",
        "Share of productive FTE lost in each transition month after the move.", ge=0, le=1)
    successor: Hosting | None = P(
        None, "-", "-",
        "The successor's hosting table (required when on_loss is move): a council or "
        "department for a bring-back in house, a company for a re-tender to another supplier.")


class SpokeKind(Strict):
    """One kind of spoke of a hub and spoke Centre (docs/model.md §7.12)."""

    count: int = P(0, "spokes", "assumption", "Spokes of this kind at launch, and the number "
                   "the hub keeps recruiting back to.", ge=0, le=100)
    fte_per_spoke: float = P(0.4, "FTE", "assumption",
                             "Delivery time each spoke gives the Centre's services.",
                             ge=0, le=20)
    exit_rate_per_year: float = P(
        0.2, "1/year", "assumption", "Hazard that a spoke withdraws (its council's priorities "
        "change, its contract ends, its volunteers move on).", ge=0, le=12)
    cost_gbp_per_fte_per_year: float = P(
        0.0, "GBP/FTE-year", "assumption",
        "What the hub pays for a spoke's time, in 2026/27 pay (rises with pay awards); 0 for "
        "a spoke its council or its volunteers pay for.", ge=0, le=1e6)


class HubAndSpoke(Strict):
    """A small hub with spokes run in house by LAs, outsourced, or volunteer-run: the spokes
    add delivery capacity the hub must coordinate and pay for, and they come and go
    (docs/model.md §7.12)."""

    enabled: bool = P(
        False, "-", "issue #13: hub and spoke, partial hosting (the CoE proposal, Appendix 3: "
        "existing organisations could host \"all or part\" of the Centre; DfE 2016 §3: "
        "Achieving for Children's \"hub and cluster\" model)",
        "Whether the Centre is a hub with spokes (docs/model.md §7.12).")
    la: SpokeKind = P(
        SpokeKind(count=6, fte_per_spoke=0.4, exit_rate_per_year=0.2,
                  cost_gbp_per_fte_per_year=0.0), "-",
        "assumption: a council runs a spoke from its own data team, paying its own staff, "
        "and withdraws when its priorities change (about every five years)",
        "Spokes run in house by LAs.")
    outsourced: SpokeKind = P(
        SpokeKind(count=2, fte_per_spoke=1.0, exit_rate_per_year=0.1,
                  cost_gbp_per_fte_per_year=75_000.0), "-",
        "assumption: a supplier's full cost of a data analyst or developer (salary, on-costs, "
        "overhead and margin), about £350 a day; contracts end about every ten years",
        "Spokes outsourced to a supplier the hub pays.")
    volunteer: SpokeKind = P(
        SpokeKind(count=4, fte_per_spoke=0.2, exit_rate_per_year=0.5,
                  cost_gbp_per_fte_per_year=0.0), "-",
        "assumption: a community of practice run by volunteers, a day a week each, turning "
        "over about every two years",
        "Volunteer-run spokes.")
    replacement_months: float = P(
        6.0, "months", "assumption: finding and setting up a new spoke takes about six months",
        "Mean time to replace a spoke that withdrew, by one of the same kind (0: at once).",
        ge=0, le=120)
    coordination_fte_per_spoke: float = P(
        0.1, "FTE", "assumption: about half a day a week of the hub's delivery staff per spoke",
        "Hub delivery time each spoke takes to coordinate; spokes the hub cannot coordinate "
        "deliver in proportion.", ge=0, le=5)
    coordination_gbp_per_spoke_per_year: float = P(
        2_000.0, "GBP/year", "assumption: meetings, travel and shared tools",
        "Non-pay cost of coordinating each spoke, in 2026/27 prices (rises with CPI).",
        ge=0, le=1e6)


class Hosting(Strict):
    model: Literal["la_hosted", "government_hosted", "independent_company",
                   "existing_infrastructure"] = P(
        "la_hosted", "-",
        "specification (docs/evidence.md §1.6); existing_infrastructure: a sector body such as "
        "the LGA, ADCS, Coram or Foundations (the CoE proposal, docs/evidence.md §7)",
        "Hosting model.")
    pension_rate: float = P(
        0.211, "share of pay",
        "LGPS 2022 valuation: average total employer rate 21.1% (docs/evidence.md §13)",
        "Employer pension contribution to the host's own scheme (the LGPS for a council).",
        ge=0, le=1)
    lgps: bool | None = P(
        None, "-",
        "LGPS Regulations 2013 Schedule 2 Part 1 (councils are scheduled bodies; "
        "docs/evidence.md §13.1)",
        "Whether the host's own scheme is the Local Government Pension Scheme: its staff and "
        "hires are LGPS members (docs/model.md §6.1). Not given: true for la_hosted, false "
        "for the other models.")
    admitted_body_pension_rate: float = P(
        0.26, "share of pay",
        "assumption: a small closed admission body pays above the 21.1% LGPS average (its "
        "rate is set by the fund's actuary over the shrinking membership's remaining working "
        "lives; no published rate for a new small admission body was found, docs/evidence.md "
        "§13.1); range 0.22–0.35",
        "A non-LGPS host: employer contribution it pays as an LGPS admission body on the pay "
        "of the LGPS members it took over at a change of host.", ge=0, le=1)
    admission_bond_gbp_per_year: float = P(
        5000.0, "GBP/year",
        "assumption: a bond or guarantee the fund requires of an admission body (LGPS "
        "Regulations 2013 Schedule 2 Part 3), priced at a percent or two a year of a "
        "few hundred thousand pounds of exit risk; range £0–£15,000",
        "A non-LGPS host: cost of the admission agreement's bond or guarantee while any "
        "admitted LGPS member remains (a governance cost).", ge=0, le=1e7)
    overhead_recharge_rate: float = P(
        0.12, "share of pay",
        "assumption (no authoritative host-overhead figure found, "
        "docs/evidence.md §15)", "Host recharge for HR, finance, IT, premises.",
        ge=0, le=2)
    vat_recoverable: bool = P(True, "-", "VAT Act 1994 s.33 (councils recover VAT on non-business "
                              "activities), docs/evidence.md §14",
                              "Whether VAT on non-pay costs is recovered.")
    governance_gbp_per_year: float = P(0.0, "GBP/year", "assumption",
                                       "Board, audit and insurance costs of an independent body.",
                                       ge=0, le=1e8)
    setup_cost_gbp: float = P(0.0, "GBP", "assumption", "One-off set-up cost paid in month 0.",
                              ge=0, le=1e9)
    in_kind_support_gbp_per_year: float = P(
        0.0, "GBP/year", "assumption",
        "Host support counted as income (cash or costs met by the host).",
        ge=0, le=1e8)
    recruitment_delay_months: float = P(4.0, "months",
                                        "assumption: no local-government time-to-hire figure found "
                                        "(docs/evidence.md §12)",
                                        "Mean time to fill a vacancy (10⁻⁶: every vacancy "
                                        "filled in the sub-step).", ge=1e-6, le=60)
    recruitment_cost_gbp_per_hire: float = P(
        1500.0, "GBP",
        "CIPD Resourcing and talent planning 2022: median cost of recruiting an employee other "
        "than a senior manager £1,500 (NAO 2009: £556–£1,921 per civil-service post; "
        "docs/evidence.md §12.1)",
        "Cost of each hire (advertising, agency or search fees, selection, checks), paid in "
        "the month of the hire.", ge=0, le=1e6)
    priced_approval_months: float = P(4.0, "months", "assumption",
                                      "Mean approval delay for an LA when the price is above the "
                                      "approval threshold.", ge=0, le=60)
    priced_approval_pass_prob: float = P(0.75, "probability",
                                         "assumption: LA-to-LA arrangements pass easily",
                                         "Chance that a priced offer is approved.", ge=0, le=1)
    resignation_multiplier: float = P(1.0, "x", "assumption",
                                      "Host effect on the resignation hazard (autonomy lowers it).",
                                      gt=0, le=10)
    deficit_tolerance_gbp: float = P(
        100_000.0, "GBP", "assumption",
        "Overdraft at which the failure rule acts: insolvency closes "
        "below it (0: insolvent when cash runs out); deficit_tolerance "
        "and spending_review impose a cut below it.", ge=0, le=1e9)
    failure_rule: Literal["insolvency", "deficit_tolerance", "spending_review"] = P(
        "deficit_tolerance", "-", "specification (docs/evidence.md §1.5)",
        "insolvency: closes when reserves fall below −deficit_tolerance_gbp (a company); "
        "deficit_tolerance: a cut below the tolerance, closure past closure_deficit_gbp or after "
        "max_deficit_months (a council); spending_review: a cut below the tolerance, closure "
        "when a spending review stops the core budget or after max_deficit_months of sustained "
        "overspend (a department).")
    closure_deficit_gbp: float = P(250_000.0, "GBP", "assumption",
                                   "deficit_tolerance rule: overdraft at which the host closes the "
                                   "service.", ge=0, le=1e9)
    max_deficit_months: int = P(
        24, "months", "assumption: two budget rounds",
        "deficit_tolerance and spending_review rules: months in a row beyond the tolerance "
        "after which the host closes the service.", ge=1, le=600)
    nonviable_closure_months: int = P(
        24, "months", "assumption: a host reviews a service that has not worked for two budget "
        "rounds (docs/model.md §5.10)",
        "Months in a row a running CoE may stay not viable (after the start-up grace period) "
        "before the host closes it.", ge=1, le=600)
    cut_share: float = P(
        0.3, "share", "assumption",
        "Share of each role's establishment a host-imposed cut removes (staff above "
        "it leave at once; hiring is frozen until reserves are back above £0).",
        ge=0, le=1)
    charitable_income_gbp_per_year: float = P(
        0.0, "GBP/year", "assumption",
        "Mean charitable income (donations, trusts, foundations); only "
        "a charity-capable form (independent_company, existing_infrastructure) may take it.",
        ge=0, le=1e8)
    charitable_income_cv: float = P(0.3, "-", "assumption",
                                    "Year-to-year variation of charitable income: coefficient of "
                                    "variation of its lognormal April draw.", ge=0, le=3)
    commissions_allowed: bool = P(
        True, "-", "assumption: a government unit does not sell projects "
        "to LAs", "Whether the host's form lets the CoE take commissions.")
    reserves_rule: Literal["none", "annuality", "cost_recovery", "reserves_policy"] = P(
        "cost_recovery", "-",
        "Local Government Act 2003 s.93(3): a council's charges may not exceed the cost of "
        "provision, taking one financial year with another (docs/evidence.md §21)",
        "What the host does with the CoE's balance at the year end. annuality (a department): "
        "a positive balance at 31 March is surrendered. cost_recovery (a council): reserves "
        "above reserve_cap_months of running costs go back to members as a price cut the next "
        "year. reserves_policy (a company or charity): each April the price moves towards the "
        "level that brings reserves to reserve_target_months, within max_price_change. none: "
        "reserves accumulate (the optimistic case).")
    reserve_cap_months: float = P(
        3.0, "months", "assumption: a working balance of a quarter's running costs",
        "cost_recovery rule: reserves the council may keep, in months of the running costs of "
        "the funded posts; a surplus above it is returned as a price cut the next year.",
        ge=0, le=60)
    reserve_target_months: float = P(
        3.0, "months",
        "assumption within the 3–6 months of running costs charities commonly hold; the "
        "Charity Commission (CC19) sets no figure (docs/evidence.md §21)",
        "reserves_policy rule: target reserves, in months of the running costs of the funded "
        "posts.", ge=0, le=60)
    max_price_change: float = P(
        0.2, "share", "assumption",
        "reserves_policy rule: the most the subscription price may move from its list price "
        "in a year (0.2: between 80% and 120% of the list price).", ge=0, le=1)

    # --- delivery models part 1 (issue #13) ---
    teckal: TeckalCompany = P(
        TeckalCompany(), "-", "issue #13: a council-owned company (docs/model.md §7.5)",
        "Council-owned (Teckal) company rules; off unless enabled.")
    partnership: JointPartnership = P(
        JointPartnership(), "-", "issue #13: a joint partnership of councils (docs/model.md "
        "§7.6)", "Joint partnership rules; off unless enabled.")
    cic: CommunityInterestCompany = P(
        CommunityInterestCompany(), "-", "issue #13: a staff mutual or community interest "
        "company (docs/model.md §7.7)", "Community interest company rules; off unless enabled.")
    charity: Charity = P(
        Charity(), "-", "issue #13: a charity on a multi-year grant (docs/model.md §7.8)",
        "Charity rules; off unless enabled.")

    @property
    def lgps_scheme(self) -> bool:
        """Whether the host's own scheme is the LGPS: ``lgps`` if given, else true for a
        council (la_hosted) and false for any other model."""
        return self.model == "la_hosted" if self.lgps is None else self.lgps

    @model_validator(mode="after")
    def _form_rules(self) -> Hosting:
        if self.charitable_income_gbp_per_year > 0 and self.model not in CHARITABLE_FORMS:
            raise ValueError(
                f"charitable_income_gbp_per_year must be 0 for a {self.model} host (only "
                f"{' or '.join(CHARITABLE_FORMS)} can take charitable income), got "
                f"{self.charitable_income_gbp_per_year:g}")
        if self.closure_deficit_gbp < self.deficit_tolerance_gbp:
            raise ValueError(
                f"closure_deficit_gbp must be at least deficit_tolerance_gbp "
                f"({self.deficit_tolerance_gbp:g}), got {self.closure_deficit_gbp:g}")
        return self


class HostTransfer(Strict):
    """A move to a new host: its terms and what the move costs (docs/model.md §6, §6.1); a
    dated change (:class:`HostChange`) or an adaptive policy's ``change_host`` (§12)."""

    hosting: Hosting = P(
        Hosting(), "-", "-", "The new host's parameters (a complete hosting table).")
    transition_cost_gbp: float = P(
        0.0, "GBP", "assumption",
        "One-off cost of the change (legal, systems, TUPE), paid that month.",
        ge=0, le=1e9)
    staff_loss_share: float = P(0.0, "share", "assumption",
                                "Share of staff who leave at the change rather than transfer.",
                                ge=0, le=1)
    lgps_admission: bool = P(
        True, "-",
        "Best Value Authorities Staff Transfers (Pensions) Direction 2007: staff transferred "
        "from a council keep the LGPS (or a broadly comparable scheme); LGPS Regulations 2013 "
        "Schedule 2 Part 3 (admission bodies), docs/evidence.md §13.1",
        "Where the new host's own scheme is not the LGPS: true, the transferred LGPS members "
        "stay in it through a closed admission agreement (the new host pays "
        "admitted_body_pension_rate on their pay and the bond); false, they move to the new "
        "host's scheme at its pension_rate.")
    transition_months: int = P(
        6, "months",
        "assumption: TUPE information and consultation must come long enough before the "
        "transfer (TUPE Regulations 2006 reg. 13); afterwards six months for the new host's "
        "payroll, HR and systems to bed in, with the old host's services running alongside",
        "Months from the change during which the transition runs (double running and the "
        "productivity dip; 0: none).", ge=0, le=60)
    double_running_gbp_per_month: float = P(
        0.0, "GBP/month",
        "assumption: the outgoing host's services (payroll, HR, IT, finance) bought back "
        "under a transitional services agreement while the new host's bed in",
        "Cost of running the outgoing host's services alongside the new host's in each "
        "transition month (an overhead cost).", ge=0, le=1e7)
    productivity_loss: float = P(
        0.0, "share",
        "assumption: staff time lost to the change (consultation, new systems and "
        "processes, uncertainty)",
        "Share of productive FTE lost in each transition month (1: nothing is delivered).",
        ge=0, le=1)


class _ChangeMonth(Strict):
    month: int = P(36, "month", "assumption", "Month in which the new host takes over.", ge=1,
                   le=MAX_MONTH)


class HostChange(HostTransfer, _ChangeMonth):
    """A dated change of host (docs/model.md §6): the month first, then the move's terms."""


class SpendingReview(Strict):
    first_month: int = P(
        36, "month",
        "assumption after Spending Review 2025, which set departmental budgets to "
        "2028/29: the next settlement takes effect in April 2029 (docs/evidence.md §18)",
        "Month of the first spending review that sets the core budget.", ge=0,
        le=MAX_MONTH)
    period_months: int = P(
        36, "months", "assumption: recent spending reviews set three-year budgets",
        "Months between spending reviews.", ge=1, le=240)
    cut_prob: float = P(
        0.3, "probability", "assumption",
        "Chance, per replicate and review, that the core budget is cut.", ge=0, le=1)
    cut_share: float = P(0.2, "share", "assumption", "Share of the core budget a cut removes.",
                         ge=0, le=1)
    stop_prob: float = P(0.1, "probability", "assumption",
                         "Chance, per replicate and review, that the core budget is stopped "
                         "(a spending_review host then closes).", ge=0, le=1)

    @model_validator(mode="after")
    def _probabilities(self) -> SpendingReview:
        if self.cut_prob + self.stop_prob > 1:
            raise ValueError(f"cut_prob plus stop_prob must be at most 1, got {self.cut_prob} + "
                             f"{self.stop_prob}")
        return self


class Election(Strict):
    month: int = P(
        37, "month",
        "Dissolution and Calling of Parliament Act 2022: Parliament (first met 9 July 2024) "
        "dissolves by July 2029; May 2029 assumed (docs/evidence.md §18)",
        "Month of the general election (at or after the horizon: none).", ge=0,
        le=MAX_MONTH)
    policy_change_prob: float = P(
        0.0, "probability", "assumption",
        "Chance, per replicate, that the election changes policy on the CoE.",
        ge=0, le=1)
    core_budget_multiplier: float = P(0.8, "x", "assumption",
                                      "Core budget after a policy change, relative to before.",
                                      ge=0, le=10)
    grant_renewal_multiplier: float = P(0.5, "x", "assumption",
                                        "Renewal chance of government-funded grants after a policy "
                                        "change, relative to before (capped at 1).", ge=0, le=10)
    programme_rate_multiplier: float = P(
        1.5, "x", "assumption: a new government launches programmes",
        "Arrival rate of national programmes after a policy change, "
        "relative to before.", ge=0, le=10)


class NationalProgrammes(Strict):
    rate_per_year: float = P(
        0.0, "1/year",
        "assumption: off unless a scenario sets it (Families First, Family Hubs, "
        "SEND reform and LGR all land on LA data teams, docs/evidence.md §6)",
        "Arrival rate of new national programmes (Poisson).", ge=0, le=12)
    demand_uplift: float = P(0.2, "x", "assumption",
                             "Rise in LA demand for help a new programme brings at its start "
                             "(added to the demand multiplier).", ge=0, le=5)
    duration_months: float = P(
        24.0, "months", "assumption: a programme's data burden fades over two years",
        "Mean life of a programme's uplift (exponential fade).", ge=0.1, le=240)


class Reorganisation(Strict):
    month: int = P(..., "month", "assumption (dates of local government reorganisation are set by "
                   "orders; e.g. Cumberland and Westmorland and Furness from April 2023)",
                   "Month in which the merged authorities take over.", ge=1,
                   le=MAX_MONTH)
    merges: tuple[tuple[LACode, ...], ...] = P(..., "DfE LA codes", "la_reference.csv (old 3-digit "
                                           "codes)", "Groups of LAs that merge; the first code in "
                                           "each group is the successor, the rest leave the "
                                           "population.", min_length=1)

    @field_validator("merges")
    @classmethod
    def _groups(cls, merges: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
        seen: set[int] = set()
        for group in merges:
            if len(group) < 2:
                raise ValueError(f"each merge group needs at least two LA codes, got {list(group)}")
            repeated = seen.intersection(group)
            if repeated or len(set(group)) != len(group):
                raise ValueError(f"an LA can merge only once per reorganisation, got {list(group)}")
            seen.update(group)
        return merges


class FundingCase(Strict):
    window_months: int = P(
        12, "months", "assumption: funders look at the last year's record",
        "Months of record over which value for money is judged.", ge=1, le=60)
    reference_benefit_cost_ratio: float = P(
        2.0, "x", "DfT value for money framework: a benefit-cost ratio of 2–4 is 'high' value "
        "for money (docs/evidence.md §17)",
        "Benefit-cost ratio (value to LAs ÷ cost, over the window) at which a decision keeps "
        "its stated chance.", ge=0.01, le=100)
    reference_reach: float = P(
        0.5, "share", "assumption: a Centre used by half of the LAs is doing what a national "
        "centre is for", "Share of LAs that are members at which a decision keeps its stated "
        "chance.", ge=0.01, le=1)
    value_elasticity: float = P(
        0.5, "-", "assumption: value for money matters, with diminishing weight",
        "How the odds of a favourable decision scale with the benefit-cost ratio: "
        "(ratio ÷ reference)^e (0: not at all).", ge=0, le=5)
    reach_elasticity: float = P(
        1.0, "-", "assumption: reach matters in proportion",
        "How the odds of a favourable decision scale with reach: (reach ÷ reference)^e "
        "(0: not at all).", ge=0, le=5)


class Events(Strict):
    spending_review: SpendingReview = P(SpendingReview(), "-", "-",
                                        "Spending reviews that set the core budget.")
    funding_case: FundingCase = P(
        FundingCase(), "-", "issue #12: decisions weigh value, cost and reach",
        "How spending reviews and performance-judged renewals weigh the Centre's record.")
    election: Election = P(Election(), "-", "-", "The general election.")
    national_programmes: NationalProgrammes = P(NationalProgrammes(), "-", "-",
                                                "New national programmes that raise LA demand.")
    reorganisations: tuple[Reorganisation, ...] = P(
        (), "-", "specification (docs/evidence.md §1.6)",
        "Local government reorganisations that merge "
        "LAs (none by default).", max_length=20)


PolicyAction = Literal["change_price", "freeze_hiring", "resume_hiring", "seek_grant", "cut_team",
                      "grow_team", "pause_services", "resume_services", "retire_services",
                      "change_host", "rebuild_reserves", "draw_reserves"]
"""The actions of an adaptive policy (docs/model.md §12)."""


class Policy(Strict):
    """An adaptive policy: a rule that acts on each replicate by its own state (docs/model.md
    §12). The condition is read in the language of :mod:`sim.scenario.policies` (never as
    code)."""

    name: str = P(..., "-", "-", "What the rule is called in outputs.", min_length=1,
                  max_length=60)
    when: str = P(..., "condition", "-",
                  "Condition on the last recorded month, e.g. 'months_of_cover < 12 and "
                  "members >= 20' (names: docs/model.md §12).", min_length=1, max_length=500)
    hold_months: int = P(1, "months", "assumption: act on the first month the condition holds",
                         "Consecutive months the condition must hold before the rule acts.",
                         ge=1, le=120)
    action: PolicyAction = P(
        ..., "-", "-",
        "change_price: multiply this year's price factor by 1 + amount; freeze_hiring / "
        "resume_hiring: stop or allow recruitment on top of the host's own rule; seek_grant: "
        "apply for a bridging grant (grant_gbp_per_year for grant_months, awarded with "
        "success_prob after delay_months); cut_team / grow_team: remove or add amount funded "
        "posts (unit fte) or that share of them (unit share); pause_services / "
        "retire_services: take the last amount live services out of service for now or for "
        "good; resume_services: bring back amount paused services; change_host: move to the "
        "host of the rule's host table; rebuild_reserves / draw_reserves: a surcharge or "
        "discount of amount on the price until reserves reach or fall to target_months of "
        "cover (docs/model.md §12).")
    amount: float = P(0.0, "share, posts or services", "-",
                      "change_price: the change, e.g. 0.1 for 10% up, -0.2 for 20% down; "
                      "cut_team / grow_team: posts (unit fte) or a share of the funded posts; "
                      "pause / retire / resume_services: a number of services; "
                      "rebuild_reserves / draw_reserves: the surcharge or discount on the price "
                      "(a share).",
                      ge=-0.9, le=500.0)
    unit: Literal["share", "fte"] = P(
        "share", "-", "-",
        "cut_team / grow_team: amount is a share of the funded posts (share) or a number of "
        "posts (fte).")
    target_months: float = P(
        6.0, "months", "assumption: the six months of running costs at the top of a common "
        "charity reserves policy (three to six months)",
        "rebuild_reserves: the surcharge lasts until reserves cover this many months of running "
        "costs; draw_reserves: the discount lasts while they cover more.", ge=0.0, le=120.0)
    host: HostTransfer | None = P(
        None, "-", "-",
        "change_host: the new host and the move's costs (a table as host_changes[], without "
        "month).")
    grant_gbp_per_year: float = P(0.0, "GBP/year", "-",
                                  "seek_grant: the bridging grant's rate while it pays.",
                                  ge=0.0, le=1e8)
    grant_months: int = P(12, "months", "assumption: a year's bridge",
                          "seek_grant: how long the bridging grant pays.", ge=1, le=MAX_MONTH)
    success_prob: float = P(0.5, "probability",
                            "assumption: a bridging application succeeds half the time",
                            "seek_grant: chance the application succeeds (one draw per "
                            "replicate per application).", ge=0.0, le=1.0)
    delay_months: int = P(6, "months", "assumption: a funder's decision takes about six months",
                          "seek_grant: months from applying to the first payment.", ge=0,
                          le=MAX_MONTH)
    once: bool = P(True, "-", "assumption", "Act at most once in a run.")
    cooldown_months: int = P(12, "months", "assumption: a board reviews a rule about yearly",
                             "Months after acting before the rule can act again (once = false).",
                             ge=1, le=600)

    @field_validator("when")
    @classmethod
    def _condition(cls, value: str) -> str:
        from sim.scenario.policies import parse_condition

        parse_condition(value)
        return value

    @model_validator(mode="after")
    def _amount_for_price(self) -> Policy:
        name, action, amount = self.name, self.action, self.amount
        if action == "change_price" and amount == 0:
            raise ValueError(f"policy {name!r}: change_price needs a non-zero amount")
        if action == "change_price" and amount > 5.0:
            raise ValueError(f"policy {name!r}: change_price amount must be at most 5, "
                             f"got {amount:g}")
        if action == "seek_grant" and self.grant_gbp_per_year <= 0:
            raise ValueError(f"policy {name!r}: seek_grant needs grant_gbp_per_year above 0")
        if action in ("cut_team", "grow_team"):
            if self.unit == "fte" and (amount < 1 or amount != int(amount)):
                raise ValueError(f"policy {name!r}: {action} with unit = \"fte\" needs a whole "
                                 f"number of posts (amount ≥ 1), got {amount:g}")
            top = 1.0 if action == "cut_team" else 5.0
            if self.unit == "share" and not 0 < amount <= top:
                raise ValueError(f"policy {name!r}: {action} with unit = \"share\" needs "
                                 f"0 < amount ≤ {top:g}, got {amount:g}")
        elif self.unit != "share":
            raise ValueError(f"policy {name!r}: unit applies only to cut_team and grow_team, "
                             f"got unit = {self.unit!r} for {action}")
        if action in ("pause_services", "retire_services", "resume_services") and (
                amount < 1 or amount != int(amount)):
            raise ValueError(f"policy {name!r}: {action} needs a whole number of services "
                             f"(amount ≥ 1), got {amount:g}")
        if action in ("rebuild_reserves", "draw_reserves") and not 0 < amount <= (
                5.0 if action == "rebuild_reserves" else 0.9):
            raise ValueError(f"policy {name!r}: {action} needs a surcharge or discount "
                             f"0 < amount ≤ {5 if action == 'rebuild_reserves' else 0.9}, "
                             f"got {amount:g}")
        if action == "change_host":
            if self.host is None:
                raise ValueError(f"policy {name!r}: change_host needs a [policies.host] table "
                                 "(the new host's hosting and the move's costs)")
            if not self.once:
                raise ValueError(f"policy {name!r}: change_host acts once (once = true)")
        elif self.host is not None:
            raise ValueError(f"policy {name!r}: a host table belongs only to change_host, "
                             f"not {action}")
        return self


class Viability(Strict):
    min_staff_fte: float = P(
        3.0, "FTE", "assumption: the smallest team that builds, supports and runs a service "
        "(one each of delivery, engagement and leadership)",
        "Staff in post a working Centre needs, all roles.", ge=0, le=500)
    min_delivery_fte: float = P(
        1.0, "FTE", "assumption: someone must maintain the tools",
        "Delivery staff in post a working Centre needs.", ge=0, le=500)
    min_reliable_services: int = P(
        1, "services", "assumption: a Centre with nothing reliable to offer is not working",
        "Live services at or above reliable_threshold a working Centre needs.", ge=0, le=40)
    reliable_threshold: float = P(
        0.7, "0–1", "assumption (reliability exp(−debt) ≥ 0.7: debt ≤ 0.36)",
        "Reliability at which a live service counts as reliable.", ge=0, le=1)
    min_members: int = P(
        15, "LAs", "assumption: about a tenth of the 153 LAs, below which a national centre is a "
        "local network",
        "Member LAs a working Centre needs.", ge=0, le=153)
    grace_months: int = P(
        24, "months", "assumption: two years to build the first services and members "
        "(the default grant's first two years)",
        "Months from the start in which a Centre that is not yet viable is not counted towards "
        "closure (it is still reported as not viable).", ge=0, le=600)


class Market(Strict):
    wtp_median_gbp_per_year: float = P(
        5000.0, "GBP/year",
        "derived from the CoE proposal: year-round data-quality support saves 25–50% of the "
        "£9,000–£22,500 a statutory return costs an LA, £2,250–£11,250 a year, geometric "
        "midpoint £5,031, rounded; at the shipped band prices 28% of LAs would pay, inside "
        "the calibrated plateaus, FDAC m ≥ 0.31 and Contextual Safeguarding m 0.26–0.37 (90%, "
        "calibration/fitted/; docs/evidence.md §11.1)",
        "Median willingness to pay of an LA for membership: each LA's is drawn once per "
        "replicate, lognormal with this median and spread wtp_sigma; an LA does not join or "
        "renew while its price is above it (0 = no LA pays any price).", ge=0, le=1e7)
    wtp_sigma: float = P(
        0.49, "-",
        "derived: £2,250–£11,250 (docs/evidence.md §5) read as the 5th–95th percentiles of a "
        "lognormal, ln(5) ÷ (2 × 1.645) = 0.489 (docs/evidence.md §11.1)",
        "Log-scale spread of the LAs' willingness to pay (0 = every LA's is the median).",
        ge=0, le=5)
    support_delivery_fte_per_member: float = P(
        0.02, "FTE",
        "assumption: about four days a year of help with tools and data per member LA",
        "Delivery staff time each member LA takes (queries, tool support), served before "
        "maintenance and builds.", ge=0, le=1)
    support_engagement_fte_per_member: float = P(
        0.01, "FTE",
        "assumption: about two days a year of relationship work per member LA",
        "Engagement staff time each member LA takes (account management, network events), "
        "taken from outreach.", ge=0, le=1)
    onboarding_fte_months_per_join: float = P(
        0.15, "FTE-months",
        "assumption: about three days of set-up, access and training work per new member",
        "Delivery effort to onboard each LA that joins, served before maintenance and builds.",
        ge=0, le=24)
    onboarding_months: float = P(
        3.0, "months", "assumption: a new member is onboarded over about a quarter",
        "Mean time over which a join's onboarding effort falls due (first-order; 0 = in the "
        "sub-step of the join).", ge=0, le=24)


class Scenario(Strict):
    """A complete, validated scenario."""

    extends: str | None = P(
        None, "path", "-",
        "File this scenario inherits from (resolved at load; kept for the record).")
    meta: Meta = P(Meta(), "-", "-", "Name and description.")
    time: TimeSettings = P(TimeSettings(), "-", "-", "Calendar.")
    uptake: Uptake = P(Uptake(), "-", "-", "LA uptake and membership.")
    market: Market = P(Market(), "-", "-",
                       "What LAs will pay, and what serving members costs the CoE.")
    workforce: Workforce = P(Workforce(), "-", "-", "The CoE's staff.")
    portfolio: Portfolio = P(Portfolio(), "-", "-", "Services and growth policy.")
    finance: Finance = P(Finance(), "-", "-", "Income and costs.")
    hosting: Hosting = P(Hosting(), "-", "-", "Hosting model parameters.")
    host_changes: tuple[HostChange, ...] = P(
        (), "-", "specification (docs/evidence.md §1.6)",
        "Changes of host during the run (e.g. a spin-out), in month order.",
        max_length=10)
    events: Events = P(
        Events(), "-", "specification (docs/evidence.md §1.6)",
        "External events: spending reviews, the general election, national programmes.")
    viability: Viability = P(
        Viability(), "-", "issue #12: survival must mean a working Centre (docs/model.md §5.10)",
        "What a working (viable) Centre needs: a minimum team, reliable services and members.")
    policies: tuple[Policy, ...] = P(
        (), "-", "issue #14: adaptive policies (docs/model.md §12)",
        "Rules that act on each replicate by its own state: a condition on the last recorded "
        "month, held for some months, then an action.", max_length=20)
    # --- delivery models part 2 (issue #13) ---
    membership_body: MembershipBody = P(
        MembershipBody(), "-", "-", "A membership body's levy (docs/model.md §7.9).")
    charitable_funds: CharitableFunds = P(
        CharitableFunds(), "-", "-", "A host charity's designated fund (docs/model.md §7.10).")
    contract: DeliveryContract = P(
        DeliveryContract(), "-", "-",
        "A provider under contract: tax, distributions, bids, re-procurement and TUPE "
        "(docs/model.md §7.11).")
    spokes: HubAndSpoke = P(
        HubAndSpoke(), "-", "-",
        "A hub with spokes run by LAs, suppliers or volunteers (docs/model.md §7.12).")

    @model_validator(mode="after")
    def _grants_inside_horizon(self) -> Scenario:
        for i, grant in enumerate(self.finance.grants):
            if grant.start_month >= self.time.horizon_months:
                raise ValueError(
                    f"finance.grants[{i}].start_month must be before the horizon "
                    f"({self.time.horizon_months}), got {grant.start_month}"
                )
        months = [c.month for c in self.host_changes]
        for i, month in enumerate(months):
            if month >= self.time.horizon_months:
                raise ValueError(f"host_changes[{i}].month must be before the horizon "
                                 f"({self.time.horizon_months}), got {month}")
            if i and month <= months[i - 1]:
                raise ValueError(f"host_changes[{i}].month must be after "
                                 f"host_changes[{i - 1}].month ({months[i - 1]}), got {month}")
        return self

    # --- delivery models part 1 (issue #13) ---
    @model_validator(mode="after")
    def _form_grants_exist(self) -> Scenario:
        grants = {g.name: g for g in self.finance.grants}
        hosts = [("hosting", self.hosting), *((f"host_changes[{i}].hosting", c.hosting)
                                              for i, c in enumerate(self.host_changes)),
                 *((f"policies[{i}].host.hosting", p.host.hosting)
                   for i, p in enumerate(self.policies) if p.host is not None)]
        for where, hosting in hosts:
            for key, name in ((f"{where}.teckal.owner_contract_grant",
                               hosting.teckal.owner_contract_grant if hosting.teckal.enabled
                               else ""),
                              (f"{where}.partnership.contract_grant",
                               hosting.partnership.contract_grant
                               if hosting.partnership.enabled else "")):
                if not name:
                    continue
                if name not in grants:
                    raise ValueError(f"{key} must name one of finance.grants "
                                     f"({', '.join(grants) or 'none'}), got {name!r}")
                if grants[name].basis != "fixed":
                    raise ValueError(f"{key}: the grant {name!r} is a contract and must have "
                                     f"basis = \"fixed\", got {grants[name].basis!r}")
            if hosting.cic.enabled and hosting.model != "independent_company":
                raise ValueError(f"{where}.cic: a community interest company is a company "
                                 f"(model = \"independent_company\"), got {hosting.model!r}")
            if hosting.charity.enabled and hosting.model not in CHARITABLE_FORMS:
                raise ValueError(f"{where}.charity: only {' or '.join(CHARITABLE_FORMS)} can be "
                                 f"a charity, got {hosting.model!r}")
            if hosting.charity.enabled and hosting.cic.enabled:
                raise ValueError(f"{where}: a community interest company cannot be a charity "
                                 f"(cic and charity cannot both be enabled)")
            if hosting.teckal.enabled and hosting.partnership.enabled:
                raise ValueError(f"{where}: teckal and partnership cannot both be enabled "
                                 f"(one legal form per host)")
        return self

    # --- delivery models part 2 (issue #13) ---
    @model_validator(mode="after")
    def _delivery_part2_rules(self) -> Scenario:
        if self.membership_body.enabled:
            named = [("hosting", self.hosting),
                     *((f"host_changes[{i}].hosting", c.hosting)
                       for i, c in enumerate(self.host_changes)),
                     *((f"policies[{i}].host.hosting", p.host.hosting)
                       for i, p in enumerate(self.policies) if p.host is not None)]
            for where, host in named:
                if host.charitable_income_gbp_per_year > 0:
                    raise ValueError(
                        f"{where}.charitable_income_gbp_per_year must be 0 when "
                        f"membership_body.enabled (a membership body such as the LGA or ADCS "
                        f"is not a charity), got {host.charitable_income_gbp_per_year:g}")
        if self.charitable_funds.enabled and self.hosting.model not in CHARITABLE_FORMS:
            raise ValueError(
                f"charitable_funds.enabled needs a charity-capable host "
                f"({' or '.join(CHARITABLE_FORMS)}), got hosting.model = {self.hosting.model}")
        contract = self.contract
        if contract.enabled:
            if contract.contract_grant >= len(self.finance.grants):
                raise ValueError(
                    f"contract.contract_grant must name one of the "
                    f"{len(self.finance.grants)} finance.grants, got {contract.contract_grant}")
            grant = self.finance.grants[contract.contract_grant]
            if grant.renewal_prob <= 0:
                raise ValueError(
                    f"finance.grants[{contract.contract_grant}].renewal_prob must be above 0 "
                    f"for contract.enabled (its renewal decision is the re-procurement), got "
                    f"{grant.renewal_prob:g}")
            if contract.on_loss == "move" and contract.successor is None:
                raise ValueError("contract.successor must be given when contract.on_loss is "
                                 "\"move\" (the host the service moves to)")
            if self.host_changes:
                raise ValueError("contract.enabled cannot be combined with host_changes (the "
                                 "service changes host only by the re-procurement)")
        return self

    @model_validator(mode="after")
    def _policy_hosts(self) -> Scenario:
        """A rule's change of host (docs/model.md §12) is the run's only change of host."""
        for i, policy in enumerate(self.policies):
            if policy.action != "change_host":
                continue
            if self.host_changes:
                raise ValueError(f"policies[{i}] ({policy.name!r}): change_host cannot be "
                                 "combined with dated host_changes (one way to change host)")
            if self.contract.enabled:
                raise ValueError(f"policies[{i}] ({policy.name!r}): change_host cannot be "
                                 "combined with contract.enabled (the service changes host "
                                 "only by the re-procurement)")
            # A legal form's rules are read at one host for every run of a batch (§7.5-§7.8),
            # so a move that only some runs make may not start or end under one.
            assert policy.host is not None
            for where, hosting in (("hosting", self.hosting),
                                   (f"policies[{i}].host.hosting", policy.host.hosting)):
                forms = [name for name in ("teckal", "partnership", "cic", "charity")
                         if getattr(hosting, name).enabled]
                if forms:
                    raise ValueError(f"policies[{i}] ({policy.name!r}): change_host cannot "
                                     f"move from or to a host with a legal form's own rules "
                                     f"({where}.{forms[0]}.enabled)")
        return self


def parameter_rows() -> list[dict[str, str]]:
    """One row per leaf parameter: path, unit, default, range, source, description.

    Defaults are those a scenario gets when it sets nothing: a nested section's values come
    from its parent's default (so ``workforce.delivery.establishment_fte`` shows the workforce
    section's delivery default, with that field's source). List-valued sections (grants,
    services) are documented by their element fields, with the path written
    ``finance.grants[].amount_gbp_per_year``; a field every entry must give is "required".
    """
    rows: list[dict[str, str]] = []
    _walk(Scenario, "", rows, Scenario(), None)
    return rows


def _walk(model: type[BaseModel], prefix: str, rows: list[dict[str, str]],
          instance: BaseModel | None, parent_source: str | None) -> None:
    import typing

    hints = typing.get_type_hints(model)
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = hints[name]
        element = _element_model(annotation)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        source = str(extra.get("source", "-"))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sub = getattr(instance, name) if instance is not None else None
            _walk(annotation, path + ".", rows, sub, source if source != "-" else None)
            continue
        if element is not None:
            _walk(element, path + "[].", rows, None, None)
            continue
        limits = []
        for meta in field.metadata:
            for attr, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
                value = getattr(meta, attr, None)
                if value is not None:
                    limits.append(f"{symbol} {value:g}" if isinstance(value, float | int) else "")
        if field.is_required():
            default_text = "required"
        else:
            default = getattr(instance, name) if instance is not None else field.default
            if parent_source is not None and default != field.default:
                source = parent_source  # the parent section set this default, and says why
            default_text = default if isinstance(default, str) else repr(default)
        rows.append(
            {
                "path": path,
                "unit": str(extra.get("unit", "-")),
                "default": default_text,
                "range": ", ".join(x for x in limits if x) or _choices(annotation),
                "source": source,
                "description": field.description or "",
            }
        )


def _element_model(annotation: Any) -> type[BaseModel] | None:
    import typing

    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0]
    return None


def _choices(annotation: Any) -> str:
    import typing

    if typing.get_origin(annotation) is Literal:
        return " | ".join(str(a) for a in typing.get_args(annotation))
    if annotation is bool:
        return "true | false"
    return "-"


def parameter_info(path: str) -> tuple[str, str]:
    """The plain meaning (its schema description) and unit of the parameter or section at
    ``path``: a leaf (``hosting.failure_rule``), a section (``finance.grants``, ``hosting``) or
    an entry of a list, by index or not (``finance.grants[0].end_month`` or
    ``finance.grants[].end_month``).

    Raises
    ------
    KeyError
        With the reason (``'hosting.failur_rule' is not a parameter``) if ``path`` names none.
    """
    import typing

    model: Any = Scenario
    field = None
    walked = ""
    for chunk in path.split("."):
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d*\])*)", chunk)
        if not match or not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise KeyError(f"'{path}' is not a parameter path")
        name, indices = match.groups()
        walked = f"{walked}.{name}" if walked else name
        if name not in model.model_fields:
            close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise KeyError(f"'{walked}' is not a parameter{hint}")
        field = model.model_fields[name]
        annotation = typing.get_type_hints(model)[name]
        element = _element_model(annotation)
        if indices and element is None:
            raise KeyError(f"'{walked}' is not a list of tables, so it takes no index")
        if element is not None:
            model = element
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            model = None
    assert field is not None
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return field.description or "", str(extra.get("unit", "-"))
