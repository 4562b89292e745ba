"""Where a sweep runs: the sweep axis on a mesh of devices, gathered back to the host.

A sweep's members (every leaf's leading axis) are split over a one-dimensional
mesh ``("sweep",)`` of all devices, padded to a multiple of its size; the test
set is replicated. Each member trains whole on one device, so the sharded run
computes exactly what the unsharded one does (tested on simulated devices and
with two real processes). With several processes (``jax.distributed``), every
process computes the same inputs and builds its own shards of them, and results
are gathered once, at the end of a chunk.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def sweep_mesh(devices=None) -> jax.sharding.Mesh:
    """A one-dimensional mesh ``("sweep",)`` over all (or the given) devices."""
    devices = jax.devices() if devices is None else devices
    return jax.sharding.Mesh(np.asarray(devices), ("sweep",))


def place(tree, sharding: jax.sharding.Sharding):
    """``jax.device_put(tree, sharding)``, also when the sharding spans several processes.

    A multi-process run computes the same inputs (same seeds, same data) in every
    process, so each process builds its own shards of the global array from its
    own whole copy; nothing crosses the network. (``jax.device_put`` refuses a
    committed array for a sharding with devices of other processes.) Typed keys
    travel as their key data and are wrapped again.
    """
    if sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)

    def build(leaf):
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = build(jax.random.key_data(leaf))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
        whole = np.asarray(leaf)
        return jax.make_array_from_callback(whole.shape, sharding, lambda index: whole[index])

    return jax.tree.map(build, tree)


def shard_members(members, mesh: jax.sharding.Mesh | None) -> tuple[Any, int]:
    """Places the sweep axis (every leaf's leading axis) across ``mesh``.

    The axis is padded to a multiple of the mesh size by repeating the last member;
    returns the members and their true count (results past it are dropped).
    """
    count = int(jax.tree.leaves(members)[0].shape[0])
    if mesh is None or mesh.size == 1:
        return members, count
    extra = (-count) % mesh.size
    if extra:
        pad = lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], extra, axis=0)], axis=0)  # noqa: E731
        members = jax.tree.map(pad, members)
    split = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("sweep"))
    return place(members, split), count


def replicate(x, mesh: jax.sharding.Mesh | None):
    """``x`` copied whole to every device of ``mesh`` (of every process)."""
    if mesh is None or mesh.size == 1:
        return x
    return place(x, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))


def to_host(x) -> Any:
    """A (possibly sharded) array or pytree as numpy; gathers across processes on multi-host runs.

    Only arrays with shards in other processes are gathered (every process then
    holds the whole array); a process-local leaf is copied as it is, never
    concatenated with the other processes' copies.
    """
    if jax.process_count() == 1:
        return jax.device_get(x)
    from jax.experimental import multihost_utils

    def fetch(leaf):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
        return jax.device_get(leaf)

    return jax.tree.map(fetch, x)
