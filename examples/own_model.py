"""Your own NNX module through jaxnn.width_sweep: a 1-D CNN on MNIST-1D with 15 % label noise."""

import argparse

import jax
import optax
from flax import nnx
from matplotlib.figure import Figure  # no pyplot: renders with Agg, needs no display

import jaxnn
from jaxnn import mnist1d


class CNN(nnx.Module):  # two convolutions of `width` channels, ReLU, mean over positions, linear
    def __init__(self, width: int, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, width, kernel_size=5, strides=2, rngs=rngs)
        self.conv2 = nnx.Conv(width, width, kernel_size=3, strides=2, rngs=rngs)
        self.head = nnx.Linear(width, mnist1d.NUM_CLASSES, rngs=rngs)

    def __call__(self, x):  # x: [batch, 40] -> [batch, 40, 1]: channels last
        h = nnx.relu(self.conv2(nnx.relu(self.conv1(x[..., None]))))  # [batch, 10, width]
        return self.head(h.mean(axis=-2))


def main(argv=None) -> jaxnn.SweepResult:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/examples", help="own_model.{json,png} go here")
    parser.add_argument("--epochs", type=int, help="default 100 (--quick: 4)")
    parser.add_argument("--quick", action="store_true", help="2 widths, 400 samples, 4 epochs")
    args = parser.parse_args(argv)
    widths, samples, epochs = ([2, 8], 400, 4) if args.quick else ([2, 4, 8, 16, 32], 4000, 100)
    data = mnist1d.load(mnist1d.MNIST1DConfig(num_samples=samples))  # 25 % train, 75 % test
    keys = jax.random.split(jax.random.key(0), 3)  # seed s's own 15 % label noise: [3, N]
    noisy = jax.vmap(lambda key: mnist1d.corrupt_labels(key, data.y_train, 0.15))(keys)
    result = jaxnn.width_sweep(
        CNN,
        dict(data._asdict(), y_train=noisy),  # x_train [N, 40], y_train [3, N], x_test, y_test
        widths=widths,
        seeds=3,
        loss="softmax_cross_entropy",
        optimizer=optax.sgd(0.05, momentum=0.9),
        epochs=args.epochs or epochs,
        batch_size=64,
    )
    print(result.table())
    result.save(f"{args.out}/own_model.json")
    ax = Figure(figsize=(5, 3.5), layout="constrained").subplots()
    for split, label in (("train", "train (noisy labels)"), ("test", "test (clean labels)")):
        mean, se = ([r[f"{split}_error{s}"] for r in result.summary()] for s in ("", "_se"))
        ax.errorbar(result.widths, mean, se, marker="o", capsize=3, label=label)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter("{x:g}")  # ticks 2, 4, 8, ...
    ax.set(xlabel="width (channels)", ylabel="error, mean ± se of 3 seeds")
    ax.legend(title="own CNN on MNIST-1D, 15 % label noise")
    ax.figure.savefig(f"{args.out}/own_model.png", dpi=150)
    return result


if __name__ == "__main__":
    main()
