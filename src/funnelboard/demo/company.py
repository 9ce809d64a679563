"""Accounts: segments, regions, industries, ICP tiers and the ABM target list."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from funnelboard.demo import catalog as cat
from funnelboard.demo import writers as w
from funnelboard.demo.writers import DAY, BoolArray, FloatArray, IntArray

COUNTRY_LIST: tuple[str, ...] = tuple(c for group in cat.COUNTRIES for c in group)
COUNTRY_REGION = np.array([r for r, group in enumerate(cat.COUNTRIES) for _ in group])
COUNTRY_OFFSET = np.cumsum([0] + [len(g) for g in cat.COUNTRIES])[:-1]
AE_LIST: tuple[str, ...] = tuple(a for group in cat.AES for a in group)
AE_OFFSET = np.cumsum([0] + [len(g) for g in cat.AES])[:-1]
AE_COUNT = np.array([len(g) for g in cat.AES])
SDR_LIST: tuple[str, ...] = tuple(a for group in cat.SDRS for a in group)
SDR_OFFSET = np.cumsum([0] + [len(g) for g in cat.SDRS])[:-1]
SDR_COUNT = np.array([len(g) for g in cat.SDRS])
_COMBOS = len(cat.NAME_HEADS) * len(cat.NAME_TAILS) * len(cat.NAME_KINDS)


@dataclass
class Accounts:
    """All accounts as numpy arrays (about one per eight contacts)."""

    segment: IntArray
    icp: IntArray
    target: BoolArray
    region: IntArray
    country: IntArray
    industry: IntArray
    employees: IntArray
    owner: IntArray  # index into AE_LIST
    combo: IntArray
    cum_in: FloatArray  # cumulative sampling weights for inbound contacts
    cum_out: FloatArray  # ... and for outbound prospecting
    first_contact: IntArray = field(init=False)
    _cache: dict[str, pa.Array] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.first_contact = np.full(len(self.segment), np.iinfo(np.int64).max, dtype=np.int64)

    @property
    def n(self) -> int:
        return len(self.segment)

    def sample(self, rng: np.random.Generator, outbound: BoolArray) -> IntArray:
        """An account index per contact: prospecting favours target and ICP-A accounts."""
        u = rng.random(len(outbound))
        idx = np.empty(len(outbound), dtype=np.int64)
        for sel, cum in ((outbound, self.cum_out), (~outbound, self.cum_in)):
            idx[sel] = np.searchsorted(cum, np.sort(u[sel]) * cum[-1])[
                np.argsort(np.argsort(u[sel], kind="stable"), kind="stable")]
        return np.minimum(idx, self.n - 1)

    def names(self, idx: IntArray) -> pa.Array:
        if "names" not in self._cache:
            self._cache["names"] = self._names(np.arange(self.n, dtype=np.int64))
        return self._cache["names"].take(pa.array(idx))

    def domains(self, idx: IntArray) -> pa.Array:
        if "domains" not in self._cache:
            self._cache["domains"] = self._domains(np.arange(self.n, dtype=np.int64))
        return self._cache["domains"].take(pa.array(idx))

    def _names(self, idx: IntArray) -> pa.Array:
        combo = self.combo[idx]
        block = idx // _COMBOS
        nk, nt = len(cat.NAME_KINDS), len(cat.NAME_TAILS)
        suffix = pc.if_else(pa.array(block > 0),
                            w.join(" ", pc.cast(pa.array(block + 1), pa.string())), "")
        return w.join(w.text(cat.NAME_HEADS, combo // (nk * nt)),
                      w.text(cat.NAME_TAILS, (combo // nk) % nt), " ",
                      w.text(cat.NAME_KINDS, combo % nk), suffix)

    def _domains(self, idx: IntArray) -> pa.Array:
        combo = self.combo[idx]
        block = idx // _COMBOS
        nk, nt = len(cat.NAME_KINDS), len(cat.NAME_TAILS)
        suffix = pc.if_else(pa.array(block > 0),
                            w.join("-", pc.cast(pa.array(block + 1), pa.string())), "")
        return pc.utf8_lower(w.join(w.text(cat.NAME_HEADS, combo // (nk * nt)),
                                    w.text(cat.NAME_TAILS, (combo // nk) % nt), "-",
                                    w.text(cat.NAME_KINDS, combo % nk), suffix, ".com"))


def make_accounts(n: int, seed: int) -> Accounts:
    rng = np.random.default_rng([seed, 11])
    n = max(n, 12)
    segment = rng.choice(3, size=n, p=cat.SEGMENT_SHARE)
    icp_p = np.array([[.12, .38, .50], [.28, .44, .28], [.38, .42, .20]])  # by segment
    u = rng.random(n)
    icp = (u[:, None] > np.cumsum(icp_p[segment], axis=1)).sum(axis=1)
    # ABM list: ~8 % of accounts, drawn from tier A/B Mid-Market and Enterprise
    score = rng.random(n) * np.where(segment > 0, 1.0, .12) * np.where(icp == 0, 1.0,
                                                                        np.where(icp == 1,
                                                                                 .45, .05))
    target = np.zeros(n, dtype=bool)
    target[np.argsort(-score, kind="stable")[: max(3, n * 8 // 100)]] = True
    region = rng.choice(3, size=n, p=cat.REGION_SHARE)
    sizes = np.array([len(g) for g in cat.COUNTRIES])
    country = COUNTRY_OFFSET[region] + (rng.random(n) * sizes[region]).astype(np.int64)
    industry = rng.integers(0, len(cat.INDUSTRIES), n)
    lo = np.array([e[0] for e in cat.EMPLOYEES])[segment]
    hi = np.array([e[1] for e in cat.EMPLOYEES])[segment]
    employees = np.exp(rng.uniform(np.log(lo), np.log(hi))).astype(np.int64)
    owner = AE_OFFSET[region] + (rng.random(n) * AE_COUNT[region]).astype(np.int64)
    combo = rng.permutation(_COMBOS)[np.arange(n) % _COMBOS]
    weight = np.array(cat.SEGMENT_CONTACT_WEIGHT)[segment] * rng.gamma(2.0, .5, n)
    w_in = weight * np.where(target, 1.6, 1.0)
    w_out = weight * np.where(target, 14.0, np.where(icp == 0, 2.0, np.where(icp == 1, .8, .1)))
    return Accounts(segment, icp.astype(np.int64), target, region, country, industry,
                    employees, owner, combo, np.cumsum(w_in), np.cumsum(w_out))


def write_accounts(out: w.CsvOut, acc: Accounts, d0: int, d1: int, seed: int) -> None:
    """Accounts exist from their first contact (target accounts from the ABM list upload)."""
    rng = np.random.default_rng([seed, 12])
    n = acc.n
    abm_upload = (d0 + 12) * DAY + 10 * 3600
    no_contact = acc.first_contact == np.iinfo(np.int64).max
    random_day = rng.integers(d0, d1 + 1, n) * DAY + rng.integers(8 * 3600, 18 * 3600, n)
    created = np.where(no_contact, random_day, acc.first_contact - rng.integers(60, 7200, n))
    created = np.where(acc.target, np.minimum(created, abm_upload), created)
    step = 500_000
    for lo in range(0, n, step):
        idx = np.arange(lo, min(n, lo + step), dtype=np.int64)
        out.write({
            "account_id": w.ids("A", idx + 1, 7),
            "name": acc.names(idx),
            "domain": acc.domains(idx),
            "industry": w.pick(cat.INDUSTRIES, acc.industry[idx]),
            "employee_count": w.ints(acc.employees[idx]),
            "segment": w.pick(cat.SEGMENTS, acc.segment[idx]),
            "region": w.pick(cat.REGIONS, acc.region[idx]),
            "country": w.pick(COUNTRY_LIST, acc.country[idx]),
            "icp_tier": w.pick(cat.ICP_TIERS, acc.icp[idx]),
            "is_target_account": w.bools(acc.target[idx]),
            "created_at": w.ts(created[idx]),
            "owner": w.pick(AE_LIST, acc.owner[idx]),
        })
