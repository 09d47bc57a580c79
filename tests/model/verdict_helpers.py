"""What the legal forms' extreme-condition tests share: a Centre with no money of its own (no
reserves, nothing charged, no commissions) and the verdict such a Centre must get."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

NO_EARNED_MONEY = ("finance.opening_reserves_gbp=0.0", "finance.subscription_bands=[]",
                   "finance.subscription_gbp_per_year=0.0",
                   "finance.commissions.rate_per_year=0.0")
"""Overrides leaving a scenario no reserves, no subscriptions and no commissions (add the
form's own sources: grants, contracts, trust income)."""


def assert_never_viable_and_closed_by_year_5(metrics: Mapping[str, np.ndarray]) -> None:
    """No run is viable after its first two years, and none is still open at month 59."""
    assert metrics["viable"][:, 24:].max() == 0
    assert metrics["operating"][:, 59].max() == 0
