"""The placement API: split types from a policy, placements from a search, checked by simulation.

:class:`Placer` turns a :class:`~placement.request.PlacementRequest` into a
:class:`~placement.decision.Decision` in four steps:

1. memory check: a request that cannot fit raises an
   :class:`~placement.candidates.InfeasibleRequestError` naming the shortfall;
2. split types: for every new service allowing both, the split policy picks one from a context
   built with the predicted latency of each split (one batched prediction);
3. placement search: the search method (default :class:`~placement.search.LocalSearch`) scores
   batches of memory-feasible candidates with the predictor and the objective;
4. verification: the ``verify_top_k`` best candidates, plus the greedy plan and the best plan
   of a search driven by :class:`chainnet.AnalyticSurrogate` (``safeguards``), are simulated
   with :func:`datagen.sim.simulate` and re-ranked on the simulated objective
   (:mod:`placement.verify`), so the returned plan is never worse in that simulation than a
   plan found without the learned predictor.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from chainnet.predictor import Predictor
from datagen.validation import check_int, is_int, is_real
from datagen.world import SPLIT_TYPES, Service
from placement.candidates import CandidateSpace, build_service, check_fit
from placement.decision import Decision
from placement.objective import Objective
from placement.policies.base import KeylessPolicy, NotFittedError, SplitPolicy
from placement.request import PlacementRequest, RequestError
from placement.search.base import SearchMethod, SearchResult
from placement.search.local import LocalSearch
from placement.verify import decide, diverse_top, make_decision, verify_candidates

# diverse_top, make_decision and verify_candidates live in placement.verify; re-exported here
# for code written against earlier releases.
__all__ = ["Placer", "default_predictor", "diverse_top", "verify_candidates", "make_decision"]

log = logging.getLogger(__name__)

#: Stand-in for an infinite SLA in the split policies' contexts (s).
_NO_SLA = 1e9


def default_predictor() -> tuple[Any, str | None]:
    """The packaged learned surrogate, or the analytic one when none is packaged.

    Returns:
        ``(predictor, fallback_reason)``; the reason is ``None`` when the learned surrogate
        loaded.
    """
    try:
        import chainnet

        return chainnet.Surrogate.default(), None  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any failure to load means: fall back
        from chainnet.analytic import AnalyticSurrogate

        reason = (
            f"chainnet.Surrogate.default() failed ({type(exc).__name__}: {exc}); using "
            "chainnet.AnalyticSurrogate() instead"
        )
        log.warning(reason)
        warnings.warn(reason, RuntimeWarning, stacklevel=3)
        return AnalyticSurrogate(), reason


def _default_policy(seed: int) -> Any:
    """The packaged pre-warmed ``informed`` policy, or a fresh one if none is packaged."""
    from placement.policies import DEFAULT_POLICY_PATH, load_policy, make_policy

    if DEFAULT_POLICY_PATH.is_file():
        try:
            policy = load_policy(DEFAULT_POLICY_PATH)
            policy.rng = np.random.default_rng(seed)
            return policy
        except ValueError as exc:  # a damaged package file: decide from the prior alone
            log.warning("cannot load the default split policy (%s); using a fresh one", exc)
    return make_policy("informed", seed=seed)


def _measured_frame(measured: Any) -> pd.DataFrame:
    """Measured per-service metrics indexed by service name; checks the columns."""
    if not isinstance(measured, pd.DataFrame):
        raise ValueError(
            f"measured must be a pandas DataFrame like SimResult.services, got "
            f"{type(measured).__name__}"
        )
    frame = measured.set_index("service") if "service" in measured.columns else measured
    need = [c for c in ("latency_mean", "loss_ratio") if c not in frame.columns]
    if need or not ({"latency_p95", "sla_compliance"} & set(frame.columns)):
        raise ValueError(
            "measured must have columns latency_mean, loss_ratio and latency_p95 or "
            f"sla_compliance; it has {list(frame.columns)}"
        )
    return frame


def _pick(
    built: Mapping[str, Mapping[str, Service]], splits: Mapping[str, str]
) -> dict[str, Service]:
    """The built service of each new service for its split type (``{name: split}``)."""
    return {name: built[name][split] for name, split in splits.items()}


class Placer:
    """Surrogate-guided placement of split DNN services, verified by simulation.

    Args:
        predictor: Any object with ``predict(list_of_scenarios) -> DataFrame`` (default:
            ``None`` = :meth:`chainnet.Surrogate.default`, or the
            :class:`chainnet.AnalyticSurrogate` with a warning when no learned surrogate is
            packaged; :attr:`Decision.predictor_fallback` then says so).
        split_policy: A split policy object (``select``/``predict``/``update``), a policy name
            for :func:`placement.policies.make_policy`, or ``None`` = the packaged pre-warmed
            ``"informed"`` policy (``placement/policies/default_policy.json``, see its card
            ``DEFAULT_POLICY.md``): it picks the split with the larger expected reward
            predicted by the surrogate and corrects that prior from :meth:`observe`.
        search: A :class:`~placement.search.SearchMethod` (default: :class:`LocalSearch`).
        objective: The cost to minimise (default: :class:`Objective`: lost requests/s plus
            the SLA-miss penalty).
        verify_top_k: Best candidates simulated and re-ranked (``0`` = no verification)
            (default: ``5``; with 3, near-saturated small instances missed the optimum more
            often: 90% against 95% within 2% on `bench_placement`'s high_load family).
        seed: Seed of the search and the verification simulations (default: ``0``).
        verify_requests: Requests per verification simulation (default: ``10_000``; cheap
            next to the search, while 3,000 were noisy enough to pick the worse of two close
            plans).
        explore: Let the split policy explore (``select``) instead of choosing greedily
            (``predict``) (default: ``False``).
        min_distance: The verified candidates differ pairwise in at least this many
            fragments when the search found enough (see :func:`diverse_top`); ``1`` verifies
            the plain top-k (default: ``2``).
        refine_seconds: Wall-clock budget (s) of an optional simulator-driven local search
            that polishes the best predicted candidate before verification; the polished one
            is verified first (rank 0). ``0`` turns it off (default: ``0.0``).
        refine_evaluations: The same polish with a budget of simulated candidates (each of a
            quarter of ``verify_requests``) instead of seconds, so the result does not depend
            on the machine's speed; ``0`` turns it off (default: ``24``: near saturation the
            optimum is often a neighbour of a predicted-good plan that the learned ranking
            misses; on `bench_placement`'s high_load family 90% of the instances were within
            2% of the optimum without it, 100% with it). With both budgets set, the first
            one spent ends it.
        safeguards: Add two plans that do not depend on the learned predictor to the
            verification set, the greedy plan and the best plan of ``analytic_search``
            driven by :class:`chainnet.AnalyticSurrogate`, so the returned plan is never
            worse in the verification simulation than either; and simulate an ``uncertain``
            best plan even when ``verify_top_k=0`` (default: ``True``).
        analytic_search: The search driven by the analytic predictor (default: ``None`` =
            a :class:`LocalSearch` of at most 1,500 evaluations and no wall-clock budget, so
            the safe plan does not depend on the machine's speed; about 0.3-0.5 s).
        reward: The reward the split policy maximises and :meth:`observe` computes: a
            :class:`~placement.policies.Reward` or its kind (default: ``None`` =
            ``Reward()``, deadline credit plus accuracy credit relative to the unsplit model).

    Example:
        >>> decision = Placer(predictor=AnalyticSurrogate()).place(request)  # doctest: +SKIP
        >>> decision.scenario  # a validated datagen.Scenario  # doctest: +SKIP
    """

    def __init__(
        self,
        predictor: Predictor | None = None,
        split_policy: SplitPolicy | KeylessPolicy | str | Any = None,
        search: SearchMethod | None = None,
        objective: Objective | None = None,
        verify_top_k: int = 5,
        seed: int = 0,
        verify_requests: int = 10_000,
        explore: bool = False,
        min_distance: int = 2,
        refine_seconds: float = 0.0,
        refine_evaluations: int = 24,
        safeguards: bool = True,
        analytic_search: SearchMethod | None = None,
        reward: Any = None,
    ) -> None:
        if not is_int(verify_top_k) or verify_top_k < 0:
            raise ValueError(f"verify_top_k must be an integer >= 0, got {verify_top_k!r}")
        if not is_int(seed):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        verify_requests = check_int("verify_requests", verify_requests, 1)
        if predictor is not None and not hasattr(predictor, "predict"):
            raise ValueError(
                f"predictor must have a predict(scenarios) method, got {type(predictor).__name__}"
            )
        if search is not None and not isinstance(search, SearchMethod):
            raise ValueError(f"search must be a SearchMethod, got {type(search).__name__}")
        if objective is not None and not isinstance(objective, Objective):
            raise ValueError(f"objective must be an Objective, got {type(objective).__name__}")
        self.predictor_fallback: str | None = None
        if predictor is None:
            predictor, self.predictor_fallback = default_predictor()
        self.predictor = predictor
        if split_policy is None:
            split_policy = _default_policy(int(seed))
        elif isinstance(split_policy, str):
            from placement.policies import make_policy

            split_policy = make_policy(split_policy, seed=int(seed))
        elif not isinstance(split_policy, SplitPolicy):
            split_policy = KeylessPolicy(split_policy)
        self.split_policy: SplitPolicy | KeylessPolicy = split_policy
        self.search = search if search is not None else LocalSearch()
        self.objective = objective if objective is not None else Objective()
        self.verify_top_k = int(verify_top_k)
        self.seed = int(seed)
        self.verify_requests = verify_requests
        self.explore = bool(explore)
        if not is_int(min_distance) or min_distance < 1:
            raise ValueError(f"min_distance must be an integer >= 1, got {min_distance!r}")
        self.min_distance = int(min_distance)
        if not is_real(refine_seconds) or not refine_seconds >= 0:
            raise ValueError(f"refine_seconds must be >= 0 s, got {refine_seconds!r}")
        self.refine_seconds = float(refine_seconds)
        if not is_int(refine_evaluations) or refine_evaluations < 0:
            raise ValueError(
                f"refine_evaluations must be an integer >= 0, got {refine_evaluations!r}"
            )
        self.refine_evaluations = int(refine_evaluations)
        if not isinstance(safeguards, bool):
            raise ValueError(f"safeguards must be True or False, got {safeguards!r}")
        self.safeguards = safeguards
        if analytic_search is not None and not isinstance(analytic_search, SearchMethod):
            raise ValueError(
                f"analytic_search must be a SearchMethod, got {type(analytic_search).__name__}"
            )
        self.analytic_search = analytic_search if analytic_search is not None else LocalSearch(
            max_evaluations=1_500, max_seconds=None
        )
        from placement.policies.reward import Reward

        self.reward = Reward.coerce(reward)

    def __repr__(self) -> str:
        return (
            f"Placer(predictor={self.predictor!r}, split_policy={self.split_policy!r}, "
            f"search={self.search!r}, objective={self.objective!r}, "
            f"verify_top_k={self.verify_top_k}, seed={self.seed})"
        )

    # -- the API --------------------------------------------------------------------------------

    def place(
        self, request: PlacementRequest, splits: Mapping[str, str] | None = None
    ) -> Decision:
        """Choose split types and a placement for the new services of a request.

        Args:
            request: The cluster, new services and running services.
            splits: Force the split type of some services (``{name: split}``), bypassing the
                policy (default: ``None``).

        Returns:
            The decision; its scenario is memory-feasible and validated.

        Raises:
            RequestError: If ``request`` is not a PlacementRequest, or ``splits`` names an
                unknown service or a split the service does not allow.
            InfeasibleRequestError: If some service cannot fit in the free memory.
        """
        t0 = time.perf_counter()
        if not isinstance(request, PlacementRequest):
            raise RequestError(
                f"request must be a PlacementRequest, got {type(request).__name__}"
            )
        forced = self._check_forced(request, splits)
        allowed = check_fit(request)
        for name, split in forced.items():
            if split not in allowed[name]:
                check_fit(request, {**{s: allowed[s][0] for s in allowed}, name: split})
        # every allowed split of every new service, built once for this call
        built = {sr.name: {s: build_service(sr, s) for s in sr.splits} for sr in request.services}
        rng = np.random.default_rng(self.seed)
        chosen, context = self._choose_splits(request, allowed, forced, built)
        space = CandidateSpace(request, chosen, services=_pick(built, chosen))
        result: SearchResult = self.search.search(
            space,
            self.predictor,
            self.objective,
            rng=rng,
            top_k=max(1, self.verify_top_k) * 16,
        )
        ranked = diverse_top(result.assignments, max(1, self.verify_top_k), self.min_distance)
        stats: dict[str, Any] = dict(result.stats.as_dict())
        stats["predictor_calls"] += context.attrs.get("predictor_calls", 0)
        stats["search"] = type(self.search).__name__
        sources = ["surrogate"] * ranked.shape[0]
        if (self.refine_seconds > 0 or self.refine_evaluations > 0) and self.verify_top_k > 0:
            polished = self._refine(space, ranked, rng, stats)
            if not np.array_equal(polished[0], ranked[0]):
                sources = ["refined"] + sources[: polished.shape[0] - 1]
            ranked = polished
        alternatives = self._safe_alternatives(space, stats) if self.safeguards else []
        decision = decide(
            self,
            space,
            ranked,
            stats=stats,
            method="placer",
            started=t0,
            predictor_fallback=self.predictor_fallback,
            split_context=context,
            sources=sources,
            alternatives=alternatives,
        )
        if decision.uncertain:
            log.info("the predictor is unsure of the chosen plan (source %s, simulated %s)",
                     decision.source, decision.simulated_objective)
        return decision

    # -- feedback and policy state ----------------------------------------------------------

    def observe(self, decision: Decision, measured: pd.DataFrame) -> Placer:
        """Learn from what a deployed decision measured in the field.

        The reward of each service whose split the policy chose is computed from the
        measured metrics with :attr:`reward` (:meth:`~placement.policies.Reward.from_metrics`)
        and the policy is updated with the context it decided from, so later decisions in
        similar situations correct the surrogate's prior.

        Args:
            decision: A decision returned by :meth:`place` of this placer (or one with the
                same policy type).
            measured: Per-service metrics like :attr:`datagen.sim.SimResult.services`: index
                = service name (or a ``service`` column), columns ``latency_mean`` (s),
                ``loss_ratio`` and ``latency_p95`` (s) or ``sla_compliance`` (share of served
                requests within the SLA). Extra rows and columns are ignored.

        Returns:
            ``self``.

        Raises:
            ValueError: If ``decision`` has no split context, ``measured`` lacks a required
                column or one of the decided services, or a metric is out of range.

        Example:
            >>> decision = placer.place(request)  # doctest: +SKIP
            >>> measured = simulate(decision.scenario, num_requests=5000).services  # doctest: +SKIP
            >>> placer.observe(decision, measured)  # doctest: +SKIP
        """
        if not isinstance(decision, Decision):
            raise ValueError(f"decision must be a Decision, got {type(decision).__name__}")
        table = decision.split_context
        if table is None or "context" not in table.columns:
            raise ValueError("decision has no split_context; pass a decision from Placer.place")
        decided = table[table["context"].notna()]
        if decided.empty:
            return self  # every split was forced or fixed: nothing the policy chose
        frame = _measured_frame(measured)
        missing = [name for name in decided.index if name not in frame.index]
        if missing:
            raise ValueError(
                f"measured has no row for service(s) {missing}; it has {list(frame.index)}"
            )
        rows = frame.loc[list(decided.index)]
        for col in ("latency_mean", "loss_ratio"):
            values = rows[col].to_numpy(float)
            if np.isnan(values).any() or (values < 0).any():
                raise ValueError(f"measured[{col!r}] must be >= 0 for every decided service, got "
                                 f"{values.tolist()}")
        if (rows["loss_ratio"] > 1).any():
            raise ValueError(f"measured['loss_ratio'] must be in [0, 1], got "
                             f"{rows['loss_ratio'].tolist()}")
        slas = [decision.scenario.service(name).sla for name in decided.index]
        rewards = [
            float(self.reward.from_metrics(
                rows.loc[name], sla if math.isfinite(sla) else _NO_SLA,
                decided.loc[name, "accuracy"], decided.loc[name, "reference_accuracy"],
            ))
            for name, sla in zip(decided.index, slas)
        ]
        contexts = np.vstack([np.asarray(c, dtype=float) for c in decided["context"]])
        arms = [SPLIT_TYPES.index(split) for split in decided["split"]]
        self.split_policy.update(
            contexts, arms, rewards, keys=list(decided["key"]),
            response_times=rows["latency_mean"].to_numpy(float),
        )
        return self

    def save_policy(self, path: str | Any, metadata: Mapping[str, Any] | None = None) -> Any:
        """Save the split policy's learned state as JSON; returns the path written.

        See :func:`placement.policies.save_policy` (the file is data only: loading it runs
        no code).

        Raises:
            ValueError: If the split policy is not a :class:`~placement.policies.SplitPolicy`
                (a policy of another library keeps its own state).
        """
        from placement.policies.state import save_policy

        if not isinstance(self.split_policy, SplitPolicy):
            raise ValueError(
                f"save_policy saves a placement.policies.SplitPolicy; this Placer's split_policy "
                f"is {self.split_policy!r}: save it with its own library"
            )
        return save_policy(self.split_policy, path, metadata)

    def load_policy(self, path: str | Any) -> Placer:
        """Replace the split policy by one saved with :meth:`save_policy`; returns ``self``.

        Raises:
            PolicyFileError: If the file is missing, not JSON or not a policy file.
        """
        from placement.policies.state import load_policy

        self.split_policy = load_policy(path)
        return self

    def _safe_alternatives(
        self, space: CandidateSpace, stats: dict[str, Any]
    ) -> list[tuple[str, np.ndarray]]:
        """The greedy plan and the analytic search's best plan (see ``safeguards``)."""
        from chainnet.analytic import AnalyticSurrogate

        out: list[tuple[str, np.ndarray]] = []
        if not isinstance(self.predictor, AnalyticSurrogate):
            t0 = time.perf_counter()
            # Its own generator: the learned search's draws stay what they were.
            res = self.analytic_search.search(
                space, AnalyticSurrogate(), self.objective,
                rng=np.random.default_rng([self.seed, 1]), top_k=1,
            )
            stats["analytic_search_time"] = time.perf_counter() - t0
            stats["analytic_evaluations"] = res.stats.evaluations
            out.append(("analytic", res.best))
        out.append(("greedy", space.greedy_assignment()))
        return out

    def _refine(
        self,
        space: CandidateSpace,
        ranked: np.ndarray,
        rng: np.random.Generator,
        stats: dict[str, Any],
    ) -> np.ndarray:
        """Polish the best predicted candidate by a short simulator-driven local search."""
        from placement.search.simulation import SimulationPredictor

        # a quarter of the verification's requests: the polish ranks neighbours, the
        # verification of the polished plan next to the others decides
        sim = SimulationPredictor(num_requests=max(1_000, self.verify_requests // 4),
                                  seed=self.seed)
        res = LocalSearch(
            restarts=1, parallel=1, max_evaluations=self.refine_evaluations or None,
            max_seconds=self.refine_seconds or None,
        ).search(space, sim, self.objective, rng=rng, initial=[ranked[0]], top_k=1)
        stats["refine_evaluations"] = res.stats.evaluations
        stats["refine_time"] = res.stats.wall_time
        if np.array_equal(res.best, ranked[0]):
            return ranked
        rest = [x for x in ranked if not np.array_equal(x, res.best)]
        return np.vstack([res.best[None, :], *[x[None, :] for x in rest]])[: ranked.shape[0]]

    # -- split types ------------------------------------------------------------------------------

    @staticmethod
    def _check_forced(
        request: PlacementRequest, splits: Mapping[str, str] | None
    ) -> dict[str, str]:
        if splits is None:
            return {}
        names = {s.name for s in request.services}
        out = {}
        for name, split in splits.items():
            if name not in names:
                raise RequestError(
                    f"splits names unknown service {name!r}; new services: {sorted(names)}"
                )
            if split not in request.service(name).splits:
                raise RequestError(
                    f"splits[{name!r}] = {split!r} is not allowed; service {name!r} allows "
                    f"{request.service(name).splits}"
                )
            out[name] = split
        return out

    def _choose_splits(
        self,
        request: PlacementRequest,
        allowed: Mapping[str, tuple[str, ...]],
        forced: Mapping[str, str],
        built: Mapping[str, Mapping[str, Service]],
    ) -> tuple[dict[str, str], pd.DataFrame]:
        from datagen.splitting import split_accuracy

        chosen: dict[str, str] = {}
        open_: list[str] = []
        for sr in request.services:
            if sr.name in forced:
                chosen[sr.name] = forced[sr.name]
            elif len(allowed[sr.name]) == 1:
                chosen[sr.name] = allowed[sr.name][0]
            else:
                open_.append(sr.name)
        rows: list[dict[str, Any]] = []
        calls = 0
        if open_:
            predicted = self._predict_by_split(request, allowed, chosen, built)
            calls = 1
            contexts = np.vstack(
                [self._context(request, name, predicted[name]) for name in open_]
            )
            keys = [request.service(n).profile.name for n in open_]
            arms = self._select(contexts, keys)
            for name, arm, ctx, key in zip(open_, arms, contexts, keys):
                split = SPLIT_TYPES[int(arm)]
                if split not in allowed[name]:
                    split = allowed[name][0]
                chosen[name] = split
                profile = request.service(name).profile
                expected = self._expected_rewards(request, name, predicted[name])
                rows.append(
                    {
                        "service": name,
                        "allowed": allowed[name],
                        "latency_layer": predicted[name]["layer"]["latency_mean"],
                        "latency_semantic": predicted[name]["semantic"]["latency_mean"],
                        "expected_reward_layer": expected["layer"],
                        "expected_reward_semantic": expected["semantic"],
                        "context": ctx,
                        "split": split,
                        "key": key,
                        "accuracy": split_accuracy(profile, split),
                        "reference_accuracy": profile.accuracy,
                    }
                )
        for sr in request.services:
            if sr.name not in open_:
                rows.append(
                    {
                        "service": sr.name,
                        "allowed": allowed[sr.name],
                        "latency_layer": math.nan,
                        "latency_semantic": math.nan,
                        "expected_reward_layer": math.nan,
                        "expected_reward_semantic": math.nan,
                        "context": None,
                        "split": chosen[sr.name],
                        "key": sr.profile.name,
                        "accuracy": split_accuracy(sr.profile, chosen[sr.name]),
                        "reference_accuracy": sr.profile.accuracy,
                    }
                )
        table = pd.DataFrame(rows).set_index("service")
        table.attrs["predictor_calls"] = calls
        ordered = {sr.name: chosen[sr.name] for sr in request.services}
        return ordered, table

    def _select(self, contexts: np.ndarray, keys: list[str]) -> np.ndarray:
        policy = self.split_policy
        if self.explore:
            return np.asarray(policy.select(contexts, keys=keys))
        try:
            return np.asarray(policy.predict(contexts, keys=keys))
        except NotFittedError:
            # An unfitted learned policy cannot be greedy yet: let it choose its own way.
            return np.asarray(policy.select(contexts, keys=keys))

    def _predict_by_split(
        self,
        request: PlacementRequest,
        allowed: Mapping[str, tuple[str, ...]],
        fixed: Mapping[str, str],
        built: Mapping[str, Mapping[str, Service]],
    ) -> dict[str, dict[str, dict[str, float]]]:
        """Predicted metrics of every open service under each split (one predict call).

        Each split is placed greedily next to the running services; returns, per service
        and split, ``latency_mean`` (s, ``inf`` when the split cannot be placed),
        ``latency_p95`` (s, ``nan`` when the predictor gives none) and ``loss_ratio``.
        """
        variants: list[tuple[str, CandidateSpace]] = []
        for split in SPLIT_TYPES:
            choice = {
                sr.name: fixed.get(
                    sr.name, split if split in allowed[sr.name] else allowed[sr.name][0]
                )
                for sr in request.services
            }
            try:
                space = CandidateSpace(request, choice, services=_pick(built, choice))
                variants.append((split, space))
            except ValueError:
                continue
        scenarios = []
        kept = []
        for split, space in variants:
            try:
                scenarios.append(space.to_scenario(space.greedy_assignment()))
                kept.append(split)
            except ValueError:
                continue
        from placement.policies.context import split_metrics

        missing = {"latency_mean": math.inf, "latency_p95": math.inf, "loss_ratio": 1.0}
        out: dict[str, dict[str, dict[str, float]]] = {sr.name: {} for sr in request.services}
        if scenarios:
            frame = self.predictor.predict(scenarios)
            for i, split in enumerate(kept):
                part = frame[frame["scenario"] == i].set_index("service")
                for sr in request.services:
                    if split in allowed[sr.name] and sr.name in part.index:
                        metrics = split_metrics(part.loc[sr.name])
                        out[sr.name][split] = dict(missing) if metrics is None else metrics
        for name in out:
            for split in SPLIT_TYPES:
                out[name].setdefault(split, dict(missing))
        return out

    def _deadline(self, request: PlacementRequest, name: str,
                  predicted: Mapping[str, Mapping[str, float]]) -> float:
        """The service's SLA (s); a finite stand-in far above the latencies when it has none."""
        sla = request.service(name).sla
        if math.isfinite(sla):
            return float(sla)
        finite = [m["latency_mean"] for m in predicted.values() if math.isfinite(m["latency_mean"])]
        return _NO_SLA if not finite else max(1.0, 1e3 * max(finite))

    def _expected_rewards(self, request: PlacementRequest, name: str,
                          predicted: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        """Expected reward of each split from its predicted metrics (see :class:`Reward`)."""
        from placement.policies.context import build_reward_context

        accuracy, reference = self._accuracies(request, name)
        row = build_reward_context(
            self._deadline(request, name, predicted), predicted, accuracy, reference,
            reward=self.reward,
        )
        return {split: float(row[i]) for i, split in enumerate(SPLIT_TYPES)}

    @staticmethod
    def _accuracies(request: PlacementRequest, name: str) -> tuple[dict[str, float], float]:
        from datagen.splitting import split_accuracy

        profile = request.service(name).profile
        return {s: split_accuracy(profile, s) for s in SPLIT_TYPES}, profile.accuracy

    def _context(
        self,
        request: PlacementRequest,
        name: str,
        predicted: Mapping[str, Mapping[str, float]],
    ) -> np.ndarray:
        sr = request.service(name)
        policy = self.split_policy
        context_type = policy.context_type
        if context_type == "sla":
            return np.array([sr.sla if math.isfinite(sr.sla) else _NO_SLA])
        from placement.policies.context import (
            build_context,
            build_reward_context,
            load_features,
        )

        load = load_features(request.devices, request.running)
        sla = self._deadline(request, name, predicted)
        if context_type == "reward":
            accuracy, reference = self._accuracies(request, name)
            return build_reward_context(
                sla, predicted, accuracy, reference, load, reward=self.reward
            )
        latency = {split: m["latency_mean"] for split, m in predicted.items()}
        return build_context(sla, latency, load)
