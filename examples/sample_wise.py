"""Sample-wise double descent of your own NNX module: widths x N x label noise in one call."""

import argparse

import jax
import optax
from flax import nnx
from matplotlib.figure import Figure  # no pyplot: renders with Agg, needs no display

import jaxnn
from jaxnn import mnist1d


class MLP(nnx.Module):  # 40 -> width -> 10 with ReLU
    def __init__(self, width: int, *, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(mnist1d.INPUT_LENGTH, width, rngs=rngs)
        self.head = nnx.Linear(width, mnist1d.NUM_CLASSES, rngs=rngs)

    def __call__(self, x):
        return self.head(nnx.relu(self.hidden(x)))


def main(argv=None) -> jaxnn.SweepResult:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/examples", help="sample_wise.{json,png} go here")
    parser.add_argument("--quick", action="store_true", help="2 widths, 2 sizes N, 10 steps")
    args = parser.parse_args(argv)
    quick, noises = ([4, 16], [50, 100], 10), (0.0, 0.2)
    widths, sizes, steps = quick if args.quick else ([4, 16, 64], [50, 100, 200, 400, 800], 300)
    data = mnist1d.load(mnist1d.MNIST1DConfig(num_samples=4 * max(sizes)))  # 25 % train
    keys, sets = jax.random.split(jax.random.key(1), 3), {}  # seed s's noise, paired over levels
    for noise in noises:
        noisy = jax.vmap(lambda k, q=noise: mnist1d.corrupt_labels(k, data.y_train, q))(keys)
        for n in sizes:  # first n: x_train [n, 40], y_train [seed, n]; clean test labels
            sets[f"N={n} noise={noise:g}"] = dict(
                data._asdict(), x_train=data.x_train[:n], y_train=noisy[:, :n]
            )
    result = jaxnn.width_sweep(
        MLP, sets, widths=widths, seeds=3, optimizer=optax.adam(0.01), steps=steps
    )  # full batch (no batch_size): every N pads to the largest and shares compiled groups
    print(result.table())
    result.save(f"{args.out}/sample_wise.json")  # creates the folder
    summary = {(r["data"], r["width"]): r for r in result.summary()}
    axes = Figure(figsize=(9, 3.5), layout="constrained").subplots(1, 2, sharey=True)
    for ax, noise in zip(axes, noises):
        for width in widths:
            rows = [summary[(f"N={n} noise={noise:g}", width)] for n in sizes]
            mean, se = ([r[f"test_error{s}"] for r in rows] for s in ("", "_se"))
            ax.errorbar(sizes, mean, se, marker="o", capsize=3, label=f"width {width}")
        ax.set(xscale="log", xticks=sizes, xticklabels=sizes, xlabel="training examples N")
        ax.set_title(f"{noise:.0%} label noise")
        ax.minorticks_off()  # N spans decades: a log axis, ticked at the sizes trained
    axes[0].set_ylabel("test error, mean ± se of 3 seeds")
    axes[0].legend(title=f"own MLP on MNIST-1D, {steps} steps")
    axes[0].figure.savefig(f"{args.out}/sample_wise.png", dpi=150)
    return result


if __name__ == "__main__":
    main()
