r"""Any Flax NNX module as a model family: width axes, padding and its check, from the module.

A researcher's module is a callable ``module_fn(width, *, rngs) -> nnx.Module``
(their class, unchanged). ``ModuleFamily`` derives what the sweep engine
(``jaxnn._sweep``, ``jaxnn._train``) needs from the module itself: ``init(key,
width)``, ``pad_params(params, padded_width)``, ``constants(padded_width)``,
``apply(params, x, constants)``, ``parameter_count(width)`` and
``flops_per_example(width)`` (the planner's cost model), frozen and hashable
(a compile-cache key):

- **Parameters** are the module's ``nnx.Param`` variables, drawn by its own
  initializers at the member's true width (``nnx.Rngs(key)``), so fan-in
  scaling is the module's.
- **Width axes** come from building the module abstractly
  (``nnx.eval_shape``) at the true and the padded width: every axis whose size
  differs is padded at its end with zeros (``pad_params``).
- **Counts**: ``parameter_count`` sums the parameter shapes, and
  ``flops_per_example`` is XLA's cost analysis of one example's forward pass
  times 3 (forward, and a backward pass of about twice its flops).

Why zeros are enough. A unit whose incoming and outgoing weights and bias are
all zero outputs :math:`\psi(0)` and receives the gradient
:math:`\delta = \psi'(0)\,W_\text{out}^\top\delta_\text{next} = 0`; if
:math:`\psi(0) = 0` its outgoing weights' gradient :math:`\delta_\text{next}\,
\psi(0)` is 0 too. So with ReLU, tanh or GELU every padded entry keeps a zero
gradient, optax's updates of a zero gradient are zero (SGD, momentum, Adam,
decoupled decay of a zero weight), and the padded network computes and learns
exactly what the narrow one does. It does not hold for an activation with
:math:`\psi(0) \ne 0` (sigmoid, softplus), a normalization over the width
(LayerNorm, BatchNorm: the zeros enter the statistics), a flatten that
interleaves channels with positions (the narrow block is then not a prefix),
or an optimizer that moves zero-gradient weights (added noise). Rather than
reason about a module, ``check_padding`` tests it: one probe batch forward and
a few optimizer steps, narrow against padded; where they differ the sweep
trains that width unpadded (``jaxnn.module_sweep``).

Variables other than ``nnx.Param`` (BatchNorm's running statistics, a
Dropout's key) are held at their initial values, passed to ``apply`` as the
member's ``constants``: they are not trained or updated.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxnn import objectives, precision


@dataclasses.dataclass(frozen=True)
class ModuleFamily:
    """The model family of ``module_fn(width, *, rngs)``: what the sweep engine needs.

    Equal (and hashed alike) when built from the same ``module_fn`` with the same
    input shape and convolution: sweeps of one module share compiled programs.

    Attributes:
        module_fn: the user's module class or factory, called as
            ``module_fn(width, rngs=nnx.Rngs(key))``.
        input_shape: the shape of one example (for ``flops_per_example``).
        conv_impl: ``"patches"`` computes every convolution as patches times a
            matrix (``jaxnn._fastconv``, fast on CPU); ``"lax"`` as written.
    """

    module_fn: Callable[..., nnx.Module]
    input_shape: tuple[int, ...]
    conv_impl: str = "lax"

    def __post_init__(self):
        if not callable(self.module_fn):
            raise ValueError(
                f"module: need a callable (width, *, rngs) -> nnx.Module, got {self.module_fn!r}"
            )
        if self.conv_impl not in ("patches", "lax"):
            raise ValueError(f"conv_impl: need 'patches' or 'lax', got {self.conv_impl!r}")
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        # Padded parameter shapes -> width, filled as widths are built: ``apply`` sees
        # only the parameters and must find the graph of their width.
        object.__setattr__(self, "_width_by_shapes", {})

    @property
    def label(self) -> str:
        return getattr(self.module_fn, "__name__", type(self.module_fn).__name__)

    def abstract(self, width: int) -> tuple[nnx.GraphDef, dict, dict]:
        """``(graphdef, parameter shapes, other state shapes)`` at ``width``; nothing drawn."""
        built = _abstract(self, int(width))
        self._width_by_shapes.setdefault(_signature(built[1]), int(width))
        return built

    def init(self, key: jax.Array, width: int):
        """The module's own draw at the true ``width``: its ``nnx.Param`` values as a dict."""
        module = self.module_fn(int(width), rngs=nnx.Rngs(key))
        _, params, _ = nnx.split(module, nnx.Param, ...)
        return nnx.to_pure_dict(params)

    def pad_params(self, params, padded_width: int):
        """Embeds parameters in zeros at ``padded_width``: every width axis padded at its end."""
        _, shapes, _ = self.abstract(padded_width)

        def pad(leaf, target):
            if leaf.ndim != len(target.shape) or any(
                s > t for s, t in zip(leaf.shape, target.shape)
            ):
                raise ValueError(
                    f"module: a parameter of shape {leaf.shape} does not fit in "
                    f"{target.shape} at width {padded_width}"
                )
            return jnp.pad(leaf, [(0, t - s) for s, t in zip(leaf.shape, target.shape)])

        return jax.tree.map(pad, params, shapes)

    def constants(self, padded_width: int):
        """The member's constants for ``apply``: the non-``Param`` state, or ``None``."""
        return _other_state(self, int(padded_width))

    def width_of(self, params) -> int:
        """The width whose parameters have the shapes of ``params``.

        Widths already built are looked up; otherwise each axis size is taken as
        affine in the width, :math:`s(w) = a w + b`, read off widths 1 and 2, and
        the answer checked against a build at that width.
        """
        signature = _signature(params)
        if signature not in self._width_by_shapes:
            one, two = (_signature(self.abstract(w)[1]) for w in (1, 2))
            for size, low, high in zip(
                (s for shape in signature for s in shape),
                (s for shape in one for s in shape),
                (s for shape in two for s in shape),
            ):
                slope = high - low
                if slope > 0 and (size - low) % slope == 0 and size >= low:
                    width = 1 + (size - low) // slope
                    if _signature(self.abstract(width)[1]) == signature:
                        break
        if signature not in self._width_by_shapes:
            raise ValueError(f"params: no width of {self.label} has parameters of these shapes")
        return self._width_by_shapes[signature]

    def apply(self, params, x: jax.Array, constants=None) -> jax.Array:
        graphdef, _, _ = self.abstract(self.width_of(params))

        def forward(params, state, x):
            module = (
                nnx.merge(graphdef, params) if state is None else nnx.merge(graphdef, params, state)
            )
            return module(x)

        if self.conv_impl == "patches":
            from jaxnn import _fastconv as fastconv

            forward = fastconv.patches_conv(forward)
        return forward(params, constants, x)

    def parameter_count(self, width: int) -> int:
        _, shapes, _ = self.abstract(width)
        return int(sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(shapes)))

    def flops_per_example(self, width: int) -> int:
        return _flops_per_example(self, int(width))

    def output_shape(self, width: int) -> tuple[int, ...]:
        """The shape of one example's output (no compute)."""
        out = jax.eval_shape(lambda p, s, x: self.apply(p, x, s), *_one_example(self, int(width)))
        return tuple(out.shape[1:])


def _signature(params) -> tuple:
    return tuple(tuple(leaf.shape) for leaf in jax.tree.leaves(params))


@functools.lru_cache(maxsize=256)
def _abstract(family: ModuleFamily, width: int):
    try:
        module = nnx.eval_shape(lambda: family.module_fn(width, rngs=nnx.Rngs(0)))
    except Exception as error:  # the user's constructor: any failure is their input's
        raise ValueError(
            f"module: {family.label}({width}, rngs=...) failed: {type(error).__name__}: {error}"
        ) from error
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    shapes = jax.tree.map(
        lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype), nnx.to_pure_dict(params)
    )
    return graphdef, shapes, nnx.to_pure_dict(rest)


def _other_state_shapes(family: ModuleFamily, width: int):
    _, _, rest = family.abstract(width)
    if not jax.tree.leaves(rest):
        return None
    return jax.tree.map(lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype), rest)


def _one_example(family: ModuleFamily, width: int) -> tuple:
    """Abstract ``(params, constants, x[1, ...])`` of one example at ``width``."""
    x = jax.ShapeDtypeStruct((1, *family.input_shape), jnp.float32)
    return family.abstract(width)[1], _other_state_shapes(family, width), x


@functools.lru_cache(maxsize=64)
def _other_state(family: ModuleFamily, width: int):
    """The non-``Param`` state at ``width`` as built (``None`` when the module has none)."""
    if _other_state_shapes(family, width) is None:
        return None
    module = family.module_fn(width, rngs=nnx.Rngs(0))
    _, _, rest = nnx.split(module, nnx.Param, ...)
    return nnx.to_pure_dict(rest)


@functools.lru_cache(maxsize=256)
def _flops_per_example(family: ModuleFamily, width: int) -> int:
    lowered = jax.jit(lambda p, s, x: family.apply(p, x, s)).lower(*_one_example(family, width))
    analysis = lowered.cost_analysis()
    if isinstance(analysis, list | tuple):
        analysis = analysis[0] if analysis else {}
    flops = float((analysis or {}).get("flops", 0.0))
    # Forward plus backward (about twice the forward's flops), as the MLP family's 6p.
    return max(1, round(3 * flops))


def unpad_params(family: ModuleFamily, params, width: int):
    """The narrow model's parameters: every leaf cut to its shape at ``width`` (host arrays)."""
    _, shapes, _ = family.abstract(width)
    return jax.tree.map(
        lambda leaf, target: np.asarray(leaf)[tuple(slice(0, s) for s in target.shape)],
        params,
        shapes,
    )


class PaddingCheck(NamedTuple):
    """The outcome of ``check_padding``: ``ok``, and in words what differed."""

    ok: bool
    detail: str


@functools.lru_cache(maxsize=64)
def _padding_probe(family, objective, optimizer, steps: int, matmul_precision: str):
    """The probe of ``check_padding``: outputs, then parameters after ``steps`` steps.

    Jitted once per (family, objective, optimizer), so a second sweep of the
    same module compiles nothing new; optimization level 0, because each shape
    runs once and compiling at full optimization would cost more than it saves.
    """

    def run(params, constants, x_probe, y_probe):
        def loss(p):
            return objective.loss(family.apply(p, x_probe, constants), y_probe)

        outputs = family.apply(params, x_probe, constants)
        state = optimizer.init(params)
        for _ in range(steps):
            grads = jax.grad(loss)(params)
            updates, state = optimizer.update(grads, state, params)
            params = optax.apply_updates(params, updates)
        return outputs, params

    return jax.jit(
        precision.pinned(run, matmul_precision),
        compiler_options={"xla_backend_optimization_level": 0},
    )


def check_padding(
    family: ModuleFamily,
    objective: objectives.Objective,
    optimizer: optax.GradientTransformation,
    padded_params,
    width: int,
    padded_width: int,
    x_probe: jax.Array,
    y_probe: jax.Array,
    *,
    steps: int = 3,
    matmul_precision: str = "highest",
) -> PaddingCheck:
    """Whether ``width`` embedded at ``padded_width`` computes and learns as the narrow model.

    On the probe batch, in float32 at exact matmul precision: the outputs agree
    to rounding, and after ``steps`` optimizer steps the narrow block agrees
    with the narrow model's parameters to rounding while every padded entry is
    still exactly 0.

    Args:
        padded_params: one member's parameters at ``padded_width`` (its draw
            embedded in zeros), so the narrow model is their leading block.
    """
    narrow = jax.tree.map(jnp.asarray, unpad_params(family, padded_params, width))
    compiled = _padding_probe(family, objective, optimizer, steps, matmul_precision)
    x_probe, y_probe = jnp.asarray(x_probe), jnp.asarray(y_probe)
    out_narrow, trained_narrow = compiled(narrow, family.constants(width), x_probe, y_probe)
    out_padded, trained_padded = compiled(
        padded_params, family.constants(padded_width), x_probe, y_probe
    )
    refuse = functools.partial(PaddingCheck, False)
    out_narrow, out_padded = np.asarray(out_narrow), np.asarray(out_padded)
    scale = float(np.max(np.abs(out_narrow))) + 1e-30
    gap = float(np.max(np.abs(out_narrow - out_padded)))
    if not np.all(np.isfinite(out_padded)) or gap > 1e-5 * scale:
        return refuse(f"outputs differ by {gap:.2g} (scale {scale:.2g}) on the probe batch")
    block = unpad_params(family, trained_padded, width)
    embedded = family.pad_params(jax.tree.map(jnp.asarray, block), padded_width)
    outside = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))
        for a, b in zip(jax.tree.leaves(trained_padded), jax.tree.leaves(embedded))
    )
    if outside != 0.0:
        return refuse(f"padded entries moved by {outside:.2g} in {steps} optimizer steps")
    for a, b in zip(jax.tree.leaves(trained_narrow), jax.tree.leaves(block)):
        a = np.asarray(a)
        tolerance = 1e-4 * (float(np.max(np.abs(a), initial=0.0)) + 1e-6)
        if float(np.max(np.abs(a - b), initial=0.0)) > tolerance:
            return refuse(f"parameters differ after {steps} optimizer steps")
    return PaddingCheck(True, "equal")
