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

    seeds: one int >= 0 per copy (K of them).
    """

    def __init__(self, seeds, owner="Sequential"):
        self.seeds = tuple(_checks.nonneg_int(s, "shuffle seed", owner) for s in seeds)
        self.generators = {s: np.random.default_rng((s, 1)) for s in dict.fromkeys(self.seeds)}

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
        if shared or len(self.generators) == 1:
            return self.first.permutation(n)
        drawn = {s: rng.permutation(n) for s, rng in self.generators.items()}
        return np.stack([drawn[s] for s in self.seeds])
