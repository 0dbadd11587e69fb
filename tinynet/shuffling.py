"""Batch orders: each stacked copy shuffles from its own seed, as its single model would.

Copy k of a stacked model with shuffle seed s_k sees, epoch after epoch, the
orders ``numpy.random.default_rng((s_k, 1)).permutation(n)`` draws, exactly the
batches a single model seeded s_k sees. Copies with the same seed share one
generator, so they share the order (tn.sweep gives all rates of one seed that
seed's order).
"""

import numpy as np

from tinynet import _checks


class BatchOrders:
    """One generator per distinct shuffle seed; ``draw(n)`` is one epoch's order.

    seeds: one int >= 0 per copy (K of them). A seed's generator is made when it
    first draws (``generators`` holds those made so far), so K copies cost a few
    bytes each until they shuffle.
    """

    def __init__(self, seeds, owner="Sequential"):
        self.seeds = tuple(_checks.nonneg_int(s, "shuffle seed", owner) for s in seeds)
        self.generators = _Generators()
        self._one_order = len(set(self.seeds)) == 1

    @property
    def first(self):
        """The generator of copy 0 (the model's seed): a single model's, or the shared order."""
        return self.generators[self.seeds[0]]

    @first.setter
    def first(self, rng):
        self.generators[self.seeds[0]] = rng

    def draw(self, n, shared=False):
        """This epoch's order of n rows: (n,) when every copy shares it, else (K, n).

        Every distinct seed draws once, so copy k's stream advances exactly as
        its single model's would. shared=True: only copy 0's generator draws,
        and every copy gets that order.
        """
        if shared or self._one_order:
            return self.first.permutation(n)
        drawn = {s: self.generators[s].permutation(n) for s in dict.fromkeys(self.seeds)}
        return np.stack([drawn[s] for s in self.seeds])


class _Generators(dict):
    """seed -> ``numpy.random.default_rng((seed, 1))``, made at its first use."""

    def __missing__(self, seed):
        self[seed] = rng = np.random.default_rng((seed, 1))
        return rng
