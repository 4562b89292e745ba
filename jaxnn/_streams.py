"""Named random streams: the ``fold_in`` tags that split one seed's key by purpose.

A seed ``s`` owns ``fold_in(key, s)``; each use of randomness folds in its own
tag, so adding a new use never shifts the numbers of an existing one. Kept
apart from the training loop so that the statistics modules, which draw
probes, import nothing of it.
"""

INIT_STREAM, SHUFFLE_STREAM, CURVATURE_STREAM = 0, 1, 2
