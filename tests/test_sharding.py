"""The sweep axis sharded over 4 simulated CPU devices gives the unsharded results.

Runs in its own process: the device count must be set before JAX starts.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import functools
    import jax, jax.numpy as jnp, numpy as np, optax
    from jaxnn import models, _module_family as module_family, placement, _train as train

    assert len(jax.devices()) == 4, jax.devices()
    mesh = placement.sweep_mesh()
    family = module_family.ModuleFamily(
        functools.partial(models.MLP, input_dim=3, output_dim=2, depth=1), (3,)
    )
    sgd = train.Optimizer(
        lambda learning_rate, weight_decay: optax.chain(
            optax.add_decayed_weights(weight_decay, mask=models.kernel_mask),
            optax.sgd(learning_rate),
        ),
        ("learning_rate", "weight_decay"),
    )


    def compare(count):
        keys = jax.random.split(jax.random.key(count), count)
        params = jax.vmap(lambda k: models.init(k, (3, 6, 2), init_scheme="lecun_normal"))(keys)
        members = train.Members(
            params=params,
            hyperparams={
                "learning_rate": jnp.linspace(0.01, 0.1, count),
                "weight_decay": jnp.linspace(0.0, 1e-2, count),
            },
            x_train=jax.vmap(lambda k: jax.random.normal(k, (10, 3)))(keys),
            y_train=jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, 1), (10, 2)))(keys),
            shuffle_key=keys,
        )
        x_test = jax.random.normal(jax.random.key(0), (30, 3))
        y_test = jax.random.normal(jax.random.key(1), (30, 2))
        config = train.TrainConfig(
            model=family, optimizer=sgd, epochs=8, batch_size=5, chunk_epochs=4
        )
        plain = train.train(config, members, x_test, y_test)
        sharded = train.train(config, members, x_test, y_test, mesh=mesh)
        leaf = jax.tree.leaves(sharded.params)[0]
        # Each member runs whole on one device: float32 to rtol 1e-6, float64 to 1e-12.
        rtol = 1e-12 if sharded.train_loss.dtype == np.float64 else 1e-6
        return {
            "dtype": str(sharded.train_loss.dtype),
            "train_close": bool(np.allclose(plain.train_loss, sharded.train_loss, rtol=rtol)),
            "test_close": bool(np.allclose(plain.test_loss, sharded.test_loss, rtol=rtol)),
            "shape": list(sharded.train_loss.shape),
            "spec": str(getattr(leaf.sharding, "spec", None)),
            "n_shards": len(leaf.sharding.device_set),
        }


    report = {"4": compare(4), "5": compare(5)}  # divides the device count, and does not
    with jax.enable_x64(True):
        report["5-x64"] = compare(5)
    print(json.dumps(report))
    """
)


@pytest.mark.slow  # a fresh JAX process compiling three sweeps: about 20 s
def test_sharded_sweep_equals_unsharded_on_four_devices():
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu"
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) == {"4", "5", "5-x64"} and report["5-x64"]["dtype"] == "float64"
    for name, entry in report.items():
        assert entry["train_close"] and entry["test_close"], (name, entry)
        assert entry["shape"] == [int(name[0]), 9]
    # Four members on four devices: the parameters stay split along the sweep axis.
    assert report["4"]["n_shards"] == 4 and "sweep" in report["4"]["spec"]
