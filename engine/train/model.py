"""A LightFM model behind a small guarded interface: fit once, then score with matrix products.

Scoring follows the LightFM maintainers' advice: take the member and item representations once and
score with one matrix multiply per batch of members plus ``np.argpartition``, never per-pair ``predict``.
Batches keep memory bounded, so millions of members can be scored.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from lightfm import LightFM

from engine.errors import NotFittedError
from engine.train.config import LightFMParams


class LightFMModel:
    """LightFM with side features; public :meth:`fit` calls :meth:`_fit`, scoring before it raises.

    Parameters
    ----------
    params
        Hyper-parameters (``configs/train.toml`` ``[lightfm]`` or ``[category_lightfm]``).
    batch_size
        Members scored per matrix multiply in :meth:`top_k`.
    """

    def __init__(self, params: LightFMParams, batch_size: int = 4096) -> None:
        self.params = params
        self.batch_size = batch_size
        self._model: LightFM | None = None
        self._user_repr: tuple[np.ndarray, np.ndarray] | None = None
        self._item_repr: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has run."""
        return self._model is not None

    def fit(
        self,
        interactions: sp.coo_matrix,
        weights: sp.coo_matrix | None = None,
        user_features: sp.csr_matrix | None = None,
        item_features: sp.csr_matrix | None = None,
        epochs: int | None = None,
    ) -> LightFMModel:
        """Train on ``interactions`` (members x items); calling it again continues training.

        Continuing (warm start) is how successive cutoffs reuse the previous fit: the matrices must keep
        their shapes, and ``epochs`` overrides the configured number for the extra passes.
        """
        self._fit(interactions, weights, user_features, item_features, epochs or self.params.epochs)
        return self

    def _fit(
        self,
        interactions: sp.coo_matrix,
        weights: sp.coo_matrix | None,
        user_features: sp.csr_matrix | None,
        item_features: sp.csr_matrix | None,
        epochs: int,
    ) -> None:
        p = self.params
        if self._model is None:
            self._model = LightFM(
                no_components=p.no_components,
                loss=p.loss,
                learning_rate=p.learning_rate,
                item_alpha=p.item_alpha,
                user_alpha=p.user_alpha,
                max_sampled=p.max_sampled,
                random_state=np.random.RandomState(p.random_state),
            )
        self._model.fit_partial(
            interactions,
            user_features=user_features,
            item_features=item_features,
            sample_weight=weights,
            epochs=epochs,
            num_threads=p.num_threads,
        )
        self._user_repr = self._model.get_user_representations(user_features)
        self._item_repr = self._model.get_item_representations(item_features)

    def for_scoring(self) -> LightFMModel:
        """A copy that can only score: the fitted representations without the LightFM object.

        What the weekly batch sends to every worker: the optimiser's per-feature state (embeddings,
        gradients and momenta of every member) is about four times the representations' size.
        """
        if self._user_repr is None or self._item_repr is None:
            raise NotFittedError("LightFMModel: call fit() before scoring")
        copy = LightFMModel(self.params, self.batch_size)
        copy._user_repr, copy._item_repr = self._user_repr, self._item_repr
        return copy

    def _representations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._user_repr is None or self._item_repr is None:
            raise NotFittedError("LightFMModel: call fit() before scoring")
        # The member bias is the same for every item of a member, so it cannot change a ranking: left out.
        return self._user_repr[1], self._item_repr[1], self._item_repr[0]

    def score_pairs(self, member_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """Scores of the pairs ``(member_idx[j], item_idx[j])`` (row-wise dot products, no loop)."""
        users, items, item_bias = self._representations()
        out = np.empty(len(member_idx), dtype=np.float32)
        for start in range(0, len(member_idx), self.batch_size * 64):
            m = member_idx[start : start + self.batch_size * 64]
            i = item_idx[start : start + self.batch_size * 64]
            out[start : start + len(m)] = np.einsum("ij,ij->i", users[m], items[i]) + item_bias[i]
        return out

    def score_matrix(self, member_idx: np.ndarray) -> np.ndarray:
        """Scores of every item for the given members: one matrix multiply, ``(len(member_idx), n_items)``."""
        users, items, item_bias = self._representations()
        scores: np.ndarray = users[member_idx] @ items.T + item_bias[None, :]
        return scores

    def iter_top_k(
        self, member_idx: np.ndarray, k: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Top-``k`` items per member, batch by batch: ``(member_idx, item_idx, score)`` with rank order.

        Each yielded array has ``len(batch) * k`` rows; within a member, items come best first.
        """
        _, items, _ = self._representations()
        k = min(k, items.shape[0])
        for start in range(0, len(member_idx), self.batch_size):
            batch = member_idx[start : start + self.batch_size]
            scores = self.score_matrix(batch)
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            top_scores = np.take_along_axis(scores, top, axis=1)
            order = np.argsort(-top_scores, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            yield np.repeat(batch, k), top.ravel(), np.take_along_axis(top_scores, order, axis=1).ravel()
