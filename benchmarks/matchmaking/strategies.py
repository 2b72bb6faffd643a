"""The three ways of choosing pairs compared by the benchmark.

Each strategy answers one question: given the board as it is now (which models are present,
their latest fitted ratings and vote counts), which ``size`` matchups come next? Every strategy
returns an ``(size, 3)`` array of prompt, left and right model indices, like
:func:`matchmaking.selection.select_pairs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from matchmaking.selection import select_pairs


@dataclass
class Board:
    """What a strategy may look at when it chooses the next matchups.

    Attributes
    ----------
    has_output : ndarray of bool, shape (n_prompts, n_models)
        Outputs present on the board; a model not on the board yet has an empty column.
    theta, cov, component : ndarray or None
        The latest standings (``Standings.theta``, ``.cov``, ``.component``); ``None`` before
        the first vote.
    model_votes : ndarray of int, shape (n_models,)
        Votes per model so far.
    prompt_use : ndarray of int, shape (n_prompts,)
        Matchups issued per prompt so far.
    """

    has_output: NDArray[np.bool_]
    theta: NDArray[np.float64] | None = None
    cov: NDArray[np.float64] | None = None
    component: NDArray[np.int64] | None = None
    model_votes: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    prompt_use: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def present(self) -> NDArray[np.bool_]:
        """Models with at least one output on the board."""
        return np.asarray(self.has_output.any(axis=0))


class Strategy(Protocol):
    """A way of choosing the next matchups."""

    name: str

    def choose(self, board: Board, *, size: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """Return ``size`` matchups as rows of (prompt, left, right)."""
        ...


def _on_a_shared_prompt(
    board: Board, left: NDArray[np.int64], right: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.int64]:
    """A uniformly drawn prompt both models answered, for each pair."""
    prompts = np.empty(left.size, dtype=np.int64)
    for row, (i, j) in enumerate(zip(left, right, strict=True)):
        shared = np.flatnonzero(board.has_output[:, i] & board.has_output[:, j])
        prompts[row] = rng.choice(shared)
    return np.column_stack([prompts, left, right])


@dataclass
class UniformPairs:
    """Two distinct present models drawn uniformly, in random order (a uniform pair)."""

    name: str = "uniform random pairs"

    def choose(self, board: Board, *, size: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """Return ``size`` uniformly drawn matchups."""
        present = np.flatnonzero(board.present)
        drawn = np.array([rng.choice(present, size=2, replace=False) for _ in range(size)])
        return _on_a_shared_prompt(board, drawn[:, 0], drawn[:, 1], rng)


@dataclass
class ArenaWeighted:
    """LMArena's serving scheme, re-implemented from FastChat's ``get_battle_pair``.

    Source: ``fastchat/serve/gradio_block_arena_anony.py`` (lm-sys/FastChat): every model has a
    hand-set weight (``SAMPLING_WEIGHTS``), multiplied by 5 for the models listed in
    ``SAMPLING_BOOST_MODELS``; models in ``OUTAGE_MODELS`` (here: not on the board yet) weigh 0.
    One model is drawn with probability proportional to its weight, its rival from the other
    models in proportion to their weights, except that rivals listed in
    ``BATTLE_TARGETS[chosen]`` get ``total_weight / len(targets)`` ("boost to 50% chance"), and
    the two sides are swapped with probability one half. The benchmark uses no battle targets.

    Attributes
    ----------
    weights : mapping of model index to weight
        ``SAMPLING_WEIGHTS``; a model missing from it weighs 0, as in FastChat.
    boosted : set of model indices
        ``SAMPLING_BOOST_MODELS``.
    battle_targets : mapping of model index to a set of model indices
        ``BATTLE_TARGETS``.
    """

    weights: Mapping[int, float]
    boosted: Set[int] = frozenset()
    battle_targets: Mapping[int, Set[int]] = field(default_factory=dict)
    name: str = "LMArena weights + new-model boost"

    def _sample_weight(self, model: int, outage: Set[int]) -> float:
        # get_sample_weight
        if model in outage:
            return 0.0
        weight = float(self.weights.get(model, 0.0))
        if model in self.boosted:
            weight *= 5
        return weight

    def battle_pair(
        self, models: list[int], outage: Set[int], rng: np.random.Generator
    ) -> tuple[int, int]:
        """One (left, right) pair, as ``get_battle_pair`` draws it."""
        if len(models) == 1:
            return models[0], models[0]
        model_weights = np.array([self._sample_weight(m, outage) for m in models])
        total_weight = model_weights.sum()
        chosen_model = models[rng.choice(len(models), p=model_weights / total_weight)]
        targets = self.battle_targets.get(chosen_model, set())
        rival_models, rival_weights = [], []
        for model in models:
            if model == chosen_model:
                continue
            weight = self._sample_weight(model, outage)
            if weight != 0 and model in targets:
                weight = total_weight / len(targets)  # "boost to 50% chance"
            rival_models.append(model)
            rival_weights.append(weight)
        p = np.array(rival_weights) / np.sum(rival_weights)
        rival_model = rival_models[rng.choice(len(rival_models), p=p)]
        if rng.integers(2) == 0:
            return chosen_model, rival_model
        return rival_model, chosen_model

    def choose(self, board: Board, *, size: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """Return ``size`` matchups drawn one by one with :meth:`battle_pair`."""
        models = list(range(board.has_output.shape[1]))
        outage = set(np.flatnonzero(~board.present).tolist())
        drawn = np.array([self.battle_pair(models, outage, rng) for _ in range(size)])
        return _on_a_shared_prompt(board, drawn[:, 0], drawn[:, 1], rng)


@dataclass
class VersusMatchmaker:
    """:func:`matchmaking.selection.select_pairs` with its defaults, fed the latest fit."""

    name: str = "Versus matchmaker"

    def choose(self, board: Board, *, size: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """Return the batch ``select_pairs`` chooses for the board."""
        return select_pairs(
            has_output=board.has_output,
            theta=board.theta,
            cov=board.cov,
            component=board.component,
            model_votes=board.model_votes,
            prompt_use=board.prompt_use,
            batch_size=size,
            rng=rng,
        )
