r"""Convolutions as patches times a matrix, and a transformation that swaps them into any function.

What is computed. For channels-last input :math:`x \in \mathbb{R}^{B \times S_1 \times \dots
\times S_d \times C}`, kernel :math:`w \in \mathbb{R}^{K_1 \times \dots \times K_d \times C
\times O}`, strides :math:`s`, kernel dilation :math:`r` and :math:`x` zero-padded to
:math:`\tilde x`,

.. math::

    y_{b,i,o} = \sum_{k \in \prod_j [K_j]} \sum_{c} \tilde x_{b,\, s \odot i + r \odot k,\, c}\,
    w_{k,c,o} = \big(P(\tilde x)\, W\big)_{b,i,o},
    \qquad P(\tilde x)_{b,i,(k,c)} = \tilde x_{b,\, s \odot i + r \odot k,\, c},

where :math:`W` is :math:`w` reshaped to :math:`[\prod_j K_j\, C, O]`. :math:`P` is built from
:math:`\prod_j K_j` strided ``lax.slice``\ s of :math:`\tilde x` concatenated along the channels
(index :math:`k\,C + c`, :math:`k` in row-major order), and the sum is one ``dot_general``. With
:math:`G` feature groups the same holds per group (a batch dimension of the ``dot_general``).

Why. XLA:CPU runs ``lax.conv_general_dilated`` (what ``flax.nnx.Conv`` calls) under ``jax.vmap``
as a batch-grouped conv, far below matmul speed; the patches form stays a batched matmul.
Measured on 2 CPU cores (jax 0.10.2, default XLA flags, medians of 9 interleaved rounds of 30
steps, three runs): one SGD step (``value_and_grad`` and update) of a 2-D CNN (two 3x3
``nnx.Conv`` to C channels with ReLU, global average pool, ``nnx.Linear`` to 10) on 8x8x1
inputs, batch 64, under ``jax.jit(jax.vmap(...))`` over 3 members: C = 32, 133-146 ms with
``lax`` convs and 26-29 ms with ``patches_conv`` (5x; 5 against 26 GFLOP/s of conv work); C = 8,
8.1 against 4.7 ms. Without the vmap (one member, jitted) both take the same time (C = 32: 8-9
ms; C = 8: 1.7-1.8 ms), so the gain is the vmap's. Accelerators were not measured: cuDNN and TPU
convs are fast, so ``default_conv_impl`` keeps ``lax`` there.

Limits. ``conv_as_matmul`` calls ``lax.conv_general_dilated`` unchanged for input dilation
(``lhs_dilation`` != 1: transposed convs, e.g. the input gradient of a strided conv when
``patches_conv`` wraps a function that itself differentiates), for ``batch_group_count`` != 1
and for empty outputs. ``patches_conv`` binds convs with an ``out_sharding`` unchanged and
rewrites convs inside ``jit``/``pjit``, ``closed_call``, ``core_call``,
``remat``/``checkpoint``, ``scan``, ``cond`` and ``while``; inside
``custom_jvp_call``/``custom_vjp_call`` it inlines the primal computation and drops the custom
rule, but only where the sub-computation holds a conv (so ``jax.nn.relu`` keeps its rule). Other
primitives with sub-computations are bound unchanged, convs and all. It traces ``fn`` on every
call (no cache: a cached trace would freeze the values of whatever ``fn`` closes over), so wrap
the result in ``jax.jit``.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend as jex
import numpy as np
from jax import lax

CONV = "conv_general_dilated"


def _channels_last_perms(dnums: lax.ConvDimensionNumbers) -> tuple[tuple, tuple, np.ndarray]:
    """Permutations to ``[B, *S, C]`` and ``[*K, I, O]``, and from ``[B, *S, O]`` back."""
    lhs_spec, rhs_spec, out_spec = dnums
    lhs_perm = (lhs_spec[0], *lhs_spec[2:], lhs_spec[1])
    rhs_perm = (*rhs_spec[2:], rhs_spec[1], rhs_spec[0])
    out_inverse = np.argsort((out_spec[0], *out_spec[2:], out_spec[1]))
    return lhs_perm, rhs_perm, out_inverse


def _patches(
    x: jax.Array, window: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> jax.Array:
    """``[B, *S, C]`` (already padded) to ``[B, *S_out, prod(K) * C]``, offsets row-major."""
    batch, *spatial, channels = x.shape
    out = [(n - r * (k - 1) - 1) // s + 1 for n, k, s, r in zip(spatial, window, strides, dilation)]
    windows = []
    for offset in itertools.product(*(range(k) for k in window)):
        start = [k * r for k, r in zip(offset, dilation)]
        limit = [b + s * (m - 1) + 1 for b, s, m in zip(start, strides, out)]
        windows.append(lax.slice(x, [0, *start, 0], [batch, *limit, channels], [1, *strides, 1]))
    return lax.concatenate(windows, x.ndim - 1)


def _grouped_matmul(
    patches: jax.Array, kernel: jax.Array, groups: int, precision, preferred_element_type
) -> jax.Array:
    """``[..., prod(K) * C]`` times ``[*K, C/G, O]`` with group ``g`` seeing channels ``g``."""
    *window, group_in, c_out = kernel.shape
    taps, lead = math.prod(window), patches.shape[:-1]
    dot = functools.partial(
        lax.dot_general, precision=precision, preferred_element_type=preferred_element_type
    )
    if groups == 1:
        flat = kernel.reshape(taps * group_in, c_out)
        return dot(patches, flat, (((patches.ndim - 1,), (0,)), ((), ())))
    lhs = patches.reshape(-1, taps, groups, group_in)
    rhs = kernel.reshape(taps, group_in, groups, c_out // groups)
    # dot_general puts the batch (group) axis first: [G, rows, O/G].
    out = dot(lhs, rhs, (((1, 3), (0, 1)), ((2,), (2,))))
    return out.transpose(1, 0, 2).reshape(*lead, c_out)


def conv_as_matmul(
    lhs: jax.Array,
    rhs: jax.Array,
    window_strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: Any = None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> jax.Array:
    """``lax.conv_general_dilated`` (same arguments, any number of spatial dimensions)
    computed as patches times a matrix (see the module docstring), in the layout
    ``dimension_numbers`` asks for. Input dilation, ``batch_group_count`` != 1 and empty
    outputs go to ``lax.conv_general_dilated``."""
    args = (lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers)
    kwargs = dict(
        feature_group_count=feature_group_count,
        batch_group_count=batch_group_count,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    n_spatial = lhs.ndim - 2
    rhs_dilation = tuple(rhs_dilation or (1,) * n_spatial)
    if any(d != 1 for d in lhs_dilation or ()) or batch_group_count != 1:
        return lax.conv_general_dilated(*args, **kwargs)
    dnums = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    lhs_perm, rhs_perm, out_inverse = _channels_last_perms(dnums)
    x, kernel = lhs.transpose(lhs_perm), rhs.transpose(rhs_perm)
    window = kernel.shape[:-2]
    if isinstance(padding, str):
        dilated = [r * (k - 1) + 1 for k, r in zip(window, rhs_dilation)]
        padding = lax.padtype_to_pads(x.shape[1:-1], dilated, window_strides, padding)
    padded_sizes = [n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], padding)]
    if any(n < r * (k - 1) + 1 for n, k, r in zip(padded_sizes, window, rhs_dilation)):
        return lax.conv_general_dilated(*args, **kwargs)
    # lax.pad, not jnp.pad: negative padding crops, as in conv_general_dilated.
    config = [(0, 0, 0), *((lo, hi, 0) for lo, hi in padding), (0, 0, 0)]
    x = lax.pad(x, np.zeros((), x.dtype), config)
    patches = _patches(x, window, window_strides, rhs_dilation)
    out = _grouped_matmul(patches, kernel, feature_group_count, precision, preferred_element_type)
    return out.transpose(out_inverse)


def _has_conv(jaxpr: jex.core.Jaxpr) -> bool:
    """Whether a conv occurs in ``jaxpr`` or any of its sub-jaxprs."""
    return any(
        eqn.primitive.name == CONV or any(map(_has_conv, jex.core.jaxprs_in_params(eqn.params)))
        for eqn in jaxpr.eqns
    )


def _eval(jaxpr: jex.core.Jaxpr | jex.core.ClosedJaxpr, *args: Any) -> list[Any]:
    """Evaluates an open (no constants) or closed jaxpr with every conv rewritten."""
    consts = getattr(jaxpr, "consts", ())
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    env = dict(zip(jaxpr.constvars, consts)) | dict(zip(jaxpr.invars, args))

    def read(atom):
        return atom.val if isinstance(atom, jex.core.Literal) else env[atom]

    for eqn in jaxpr.eqns:
        outs = _eval_eqn(eqn, [read(v) for v in eqn.invars])
        env.update(zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]))
    return [read(v) for v in jaxpr.outvars]


def _inline(params: dict, invals: list) -> list:
    """Calls and custom-derivative calls evaluated in place (a custom rule is dropped)."""
    key = next(k for k in ("jaxpr", "call_jaxpr", "fun_jaxpr") if k in params)
    return _eval(params[key], *invals)


def _remat(params: dict, invals: list) -> list:
    """Re-applies ``jax.checkpoint`` so that its saving policy still holds for the new ops."""
    body = functools.partial(_eval, params["jaxpr"])
    return jax.checkpoint(body, prevent_cse=params["prevent_cse"], policy=params["policy"])(*invals)


def _cond(params: dict, invals: list) -> list:
    """``cond`` carries an integer branch index, as ``lax.switch`` takes."""
    branches = [functools.partial(_eval, branch) for branch in params["branches"]]
    return lax.switch(invals[0], branches, *invals[1:])


def _scan(params: dict, invals: list) -> list:
    n_consts, n_carry = params["num_consts"], params["num_carry"]
    consts, rest = invals[:n_consts], invals[n_consts:]
    init, xs = rest[:n_carry], rest[n_carry:]

    def step(carry, x):
        outs = _eval(params["jaxpr"], *consts, *carry, *x)
        return outs[:n_carry], outs[n_carry:]

    carry, ys = lax.scan(
        step, init, xs, params["length"], reverse=params["reverse"], unroll=params["unroll"]
    )
    return [*carry, *ys]


def _while(params: dict, invals: list) -> list:
    n_cond, n_body = params["cond_nconsts"], params["body_nconsts"]
    cond_consts, body_consts = invals[:n_cond], invals[n_cond : n_cond + n_body]
    return lax.while_loop(
        lambda carry: _eval(params["cond_jaxpr"], *cond_consts, *carry)[0],
        lambda carry: _eval(params["body_jaxpr"], *body_consts, *carry),
        invals[n_cond + n_body :],
    )


_SUB_RULES: dict[str, Callable[[dict, list], list]] = {
    **dict.fromkeys(
        ("jit", "pjit", "closed_call", "core_call", "custom_jvp_call", "custom_vjp_call"),
        _inline,
    ),
    **dict.fromkeys(("checkpoint", "remat", "remat2"), _remat),
    "cond": _cond,
    "scan": _scan,
    "while": _while,
}


def _eval_eqn(eqn: jex.core.JaxprEqn, invals: list) -> Any:
    """One equation: a conv rewritten, a sub-computation holding a conv recursed, else bound."""
    name, params = eqn.primitive.name, eqn.params
    if name == CONV and params.get("out_sharding") is None:
        # The equation's params are conv_as_matmul's keywords (all but lhs and rhs).
        names = list(inspect.signature(conv_as_matmul).parameters)[2:]
        return conv_as_matmul(*invals, **{name: params[name] for name in names})
    if name in _SUB_RULES and any(map(_has_conv, jex.core.jaxprs_in_params(params))):
        return _SUB_RULES[name](params, invals)
    bind_params = eqn.primitive.get_bind_params(params)
    if isinstance(bind_params, tuple):  # older jax returns (subfuns, params)
        subfuns, bind_params = bind_params
        return eqn.primitive.bind(*subfuns, *invals, **bind_params)
    return eqn.primitive.bind(*invals, **bind_params)


def patches_conv(fn: Callable) -> Callable:
    """``fn`` with every ``conv_general_dilated`` it traces to computed by ``conv_as_matmul``.

    ``fn`` takes and returns pytrees of arrays (as for ``jax.jit`` without static
    arguments). The result traces ``fn`` with ``jax.make_jaxpr`` at each call and evaluates
    the jaxpr with the convs replaced, so it composes with ``jax.jit``, ``jax.vmap`` and
    ``jax.grad`` (they see slices and a ``dot_general``) and should be jitted to trace once.
    """

    @functools.wraps(fn)
    def rewritten(*args: Any, **kwargs: Any) -> Any:
        leaves, treedef = jax.tree.flatten((args, kwargs))

        def flat_fn(*flat):
            call_args, call_kwargs = jax.tree.unflatten(treedef, flat)
            return fn(*call_args, **call_kwargs)

        closed, out_shape = jax.make_jaxpr(flat_fn, return_shape=True)(*leaves)
        outs = _eval(closed, *leaves)
        return jax.tree.unflatten(jax.tree.structure(out_shape), outs)

    return rewritten


def default_conv_impl(platform: str | None = None) -> str:
    """``"patches"`` on CPU, where it is measured faster; ``"lax"`` on accelerators.

    Args:
        platform: ``"cpu"``, ``"gpu"``, ``"tpu"``...; the default backend when None.
    """
    return "patches" if (platform or jax.default_backend()) == "cpu" else "lax"
