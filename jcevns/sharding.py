"""Spread batched evaluations (scan points, toys) over every device and every process.

jcevns' batched kernels are ``vmap``-ed functions of a leading "point" axis. :func:`run_batched`
places that axis on a one-dimensional :class:`jax.sharding.Mesh` over all devices with a
:class:`~jax.sharding.NamedSharding`, so the same jitted kernel is partitioned by XLA (GSPMD):
each device evaluates its slice, nothing else changes. It does so automatically when more than
one device is visible, and is a plain call otherwise.

Several processes (hosts) work the same way once :func:`jax.distributed.initialize` has run:
``jax.devices()`` then lists the devices of every process, each process supplies its own shards
of the global batch (:func:`jax.make_array_from_callback`) and every process receives the whole
result (:func:`jax.experimental.multihost_utils.process_allgather`). All processes must run the
same program on the same inputs (SPMD), as with any multi-process JAX program. See
``docs/scaling.md`` for a multi-GPU node and a Slurm cluster.

The batch is padded to a multiple of the device count by repeating its last row (a valid
point), and the padding is dropped from the result. Every point is computed by the same
element-wise program whatever the device count, so results agree with a single device to
rounding (tests: 1e-12).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

#: Name of the mesh axis that carries scan points and toys.
AXIS = "points"


def device_count() -> int:
    """Devices the batch is spread over: every device of every process."""
    return jax.device_count()


def mesh() -> Mesh:
    """A one-dimensional mesh over all devices (of all processes), axis :data:`AXIS`."""
    return Mesh(np.asarray(jax.devices()), (AXIS,))


def _pad(x, n_total: int):
    x = np.asarray(x)
    if x.shape[0] == n_total:
        return x
    fill = np.repeat(x[-1:], n_total - x.shape[0], axis=0)
    return np.concatenate([x, fill], axis=0)


def _global_array(x: np.ndarray, sharding: NamedSharding):
    if jax.process_count() == 1:
        return jax.device_put(x, sharding)
    # Every process holds the whole (identical) host array and hands over the shards that
    # live on its own devices.
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def run_batched(fn, batched, *replicated, devices: int | None = None):
    """``fn(batched, *replicated)`` with the leading axis of ``batched`` split over devices.

    Args:
        fn: a jitted function whose output leaves all have the leading batch axis.
        batched: a pytree of arrays sharing the leading axis (length ``n``).
        *replicated: further arguments, the same on every device (likelihoods, templates).
        devices: force the sharded path (> 1) or the plain call (1); default: the number of
            devices (:func:`device_count`).

    Returns:
        ``fn``'s output as NumPy arrays of leading length ``n`` (gathered on every process).
    """
    n_dev = device_count() if devices is None else devices
    if n_dev == 1:
        return jax.tree_util.tree_map(np.asarray, fn(batched, *replicated))
    leaves = jax.tree_util.tree_leaves(batched)
    n = int(np.shape(leaves[0])[0])
    n_total = -(-n // n_dev) * n_dev
    sharding = NamedSharding(mesh(), PartitionSpec(AXIS))
    replicated_sharding = NamedSharding(mesh(), PartitionSpec())
    x = jax.tree_util.tree_map(lambda v: _global_array(_pad(v, n_total), sharding), batched)
    rep = jax.tree_util.tree_map(
        lambda v: _global_array(np.asarray(v), replicated_sharding) if _is_array(v) else v, replicated
    )
    out = fn(x, *rep)
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        out = multihost_utils.process_allgather(out, tiled=True)
    return jax.tree_util.tree_map(lambda v: np.asarray(v)[:n], out)


def _is_array(v) -> bool:
    return isinstance(v, (np.ndarray, jax.Array, float, int)) and not isinstance(v, bool)
