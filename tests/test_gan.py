"""Tests of fastga.gan (GA-GAN) with a tiny discriminator and tiny shapes."""

import os
import subprocess
import sys

import numpy as np
import pytest

from fastga import NetworkSpec, Population


def test_importing_fastga_gan_does_not_import_tensorflow():
    code = (
        "import sys, fastga, fastga.gan, fastga.gan.quality, fastga.gan.plots\n"
        "import argparse, fastga.cli, fastga.commands.gan as cmd\n"
        "cmd.add_parser(argparse.ArgumentParser().add_subparsers())\n"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "print(','.join(bad) or 'clean')\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "clean"


def _real(n=40, side=4, seed=0):
    """Tiny 'digits': two classes, a vertical and a horizontal bar, plus noise."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, side, side), np.float32)
    y = np.arange(n) % 2
    X[y == 0, :, 1] = 1.0
    X[y == 1, 1, :] = 1.0
    X = np.clip(X + rng.uniform(0, 0.2, X.shape).astype(np.float32), 0, 1)
    return X.reshape(n, -1), y


def test_sample_quality_separates_real_from_noise():
    from fastga.gan import SampleQuality

    X, y = _real(60)
    q = SampleQuality(random_state=0).fit(X, y)
    real = q.score(X)
    noise = q.score(np.random.default_rng(1).uniform(0, 1, X.shape).astype(np.float32))
    assert real["quality_entropy"] > 0.9  # both classes present
    assert real["quality_nn_ratio"] < noise["quality_nn_ratio"]
    one_class = q.score(np.repeat(X[y == 0][:1], 10, axis=0))
    assert one_class["quality_entropy"] == 0.0
    with pytest.raises(ValueError, match="samples"):
        q.score(X[:, :3])


def test_plots_write_png(tmp_path):
    pytest.importorskip("matplotlib")
    from fastga.gan.plots import save_loss_plot, save_sample_grid
    from fastga.history import History

    p = save_sample_grid(tmp_path / "g.png", np.random.default_rng(0).uniform(size=(2, 3, 4, 4)))
    assert open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    h = History()
    for g in range(3):
        h.append({"generation": g, "best_fitness": 0.5, "mean_fitness": 0.4, "d_loss": 0.7,
                  "d_accuracy": 0.5, "quality_confident": np.nan if g == 1 else 0.1})
    p = save_loss_plot(tmp_path / "l.png", h)
    assert open(p, "rb").read(4) == b"\x89PNG"
    with pytest.raises(ValueError, match="images"):
        save_sample_grid(tmp_path / "x.png", np.zeros((3, 4, 4)))


def _tiny_disc(keras, side, seed=0):
    model = keras.Sequential([
        keras.Input(shape=(side, side, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(1, activation="sigmoid",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def _evolver(**kw):
    from fastga.gan import GANEvolver

    params = dict(latent_dim=3, hidden=5, generations=3, pop_size=6, batch_size=4, d_batch=4,
                  quality_every=1, random_state=0, threads=1)
    params.update(kw)
    return GANEvolver(**params)


@pytest.mark.gan
def test_fitness_is_mean_d_of_each_generators_fakes():
    pytest.importorskip("tensorflow")
    from fastga.gan import DiscriminatorFitness
    from fastga.gan.discriminator import import_keras

    keras = import_keras(1)
    X, _ = _real()
    spec = NetworkSpec([3, 5, 16], ["sigmoid", "sigmoid"])
    pop = Population.random(spec, 5, random_state=1, init="glorot")
    model = _tiny_disc(keras, 4)
    fit = DiscriminatorFitness(model, X, (4, 4), batch_size=6, d_steps=2, d_batch=4, seed=3)
    f = fit(pop)
    # Same latent batch, same (now trained) D: recompute per generator by hand.
    z = fit.latent(pop.generation)
    assert z.shape == (6, 3)
    for i in range(pop.size):
        fakes = pop.network(i).predict(z).reshape(-1, 4, 4, 1)
        np.testing.assert_allclose(f[i], model.predict_on_batch(fakes).mean(), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(fit.last_fakes, pop.forward(z))
    s = fit.last_stats
    assert 0 <= s["ref_accuracy_min"] <= s["ref_accuracy_mean"] <= 1
    assert np.isfinite(s["d_loss"]) and 0 <= s["d_accuracy"] <= 1


@pytest.mark.gan
def test_replay_buffer_diversity_sharing_and_features():
    pytest.importorskip("tensorflow")
    from fastga._random import philox
    from fastga.gan import DiscriminatorFitness
    from fastga.gan.discriminator import import_keras
    from fastga.gan.evolver import PURPOSE_REAL

    keras = import_keras(1)
    X, _ = _real()
    spec = NetworkSpec([3, 5, 16], ["sigmoid", "sigmoid"])
    pop = Population.random(spec, 5, random_state=2, init="glorot")
    pop.genomes[:, spec.layer_slices(0)[0]] *= 4.0  # outputs that vary with the latent
    model = _tiny_disc(keras, 4, seed=1)
    kw = dict(batch_size=6, d_steps=0, d_batch=4, seed=3)  # D frozen: scores comparable
    plain = DiscriminatorFitness(model, X, (4, 4), **kw)
    f0 = plain(pop)
    # Diversity bonus: the per-pixel spread across latents over the real one, capped at 1.
    div = DiscriminatorFitness(model, X, (4, 4), diversity=0.5, **kw)
    spread = plain.last_fakes.std(axis=1, dtype=np.float64).mean(axis=1) / X.std(axis=0, dtype=np.float64).mean()
    np.testing.assert_allclose(div(pop) - f0, 0.5 * np.minimum(spread, 1.0), rtol=1e-6, atol=1e-9)
    assert div.last_stats["spread"] == pytest.approx(spread.mean())
    # Fitness sharing: divided by the niche count, computed here pair by pair.
    shr = DiscriminatorFitness(model, X, (4, 4), sharing=0.3, **kw)
    fakes = plain.last_fakes.astype(np.float64)
    niche = np.array([sum(max(0.0, 1 - (np.sqrt(((fakes[i] - fakes[j]) ** 2).mean()) / 0.3) ** 2)
                          for j in range(pop.size)) for i in range(pop.size)])
    assert (niche >= 1).all()
    np.testing.assert_allclose(shr(pop), f0 / niche, rtol=1e-6)
    # Feature matching on D's penultimate features (here: the flattened image).
    feat = DiscriminatorFitness(model, X, (4, 4), score="features", n_real=8, **kw)
    f = feat(pop)
    real = X[philox(3, pop.generation, PURPOSE_REAL).integers(0, X.shape[0], size=8)].astype(np.float64)
    sd_r = real.std(axis=0)
    scale = sd_r + 1e-3 * sd_r.mean()
    for i in range(pop.size):
        gap_mean = (fakes[i].mean(axis=0) - real.mean(axis=0)) / scale
        gap_sd = (fakes[i].std(axis=0) - sd_r) / scale
        assert f[i] == pytest.approx(-np.sqrt((gap_mean ** 2).mean() + (gap_sd ** 2).mean()), rel=1e-5)
    # Replay buffer: 2 * d_batch fakes added per generation, capped; label smoothing trains.
    rep = DiscriminatorFitness(model, X, (4, 4), batch_size=6, d_steps=2, d_batch=4, seed=3,
                               replay=12, real_label=0.9)
    rep(pop)
    assert rep.replay_buffer_.shape == (8, 16)
    pop.generation += 1
    rep(pop)
    assert rep.replay_buffer_.shape == (12, 16)
    assert np.isfinite(rep.last_stats["d_loss"]) and 0 <= rep.last_stats["d_accuracy"] <= 1


@pytest.mark.gan
def test_evolver_runs_and_records_history(tmp_path):
    pytest.importorskip("tensorflow")
    from fastga.gan import load_generator
    from fastga.gan.discriminator import import_keras

    keras = import_keras(1)
    X, y = _real()
    seen = []
    ev = _evolver(discriminator=_tiny_disc(keras, 4)).fit(X, y, callbacks=[lambda e, r: seen.append(r["generation"])])
    h = ev.history_
    assert len(h) == 4 and seen == [0, 1, 2, 3]
    for key in ("d_loss", "d_accuracy", "best_fitness", "mean_fitness", "ref_accuracy_min",
                "quality_confident", "quality_entropy", "quality_nn_ratio"):
        assert key in h and np.isfinite(h[key]).all(), key
    assert ev.image_shape_ == (4, 4)
    assert ev.generator_spec_.sizes == (3, 5, 16)
    samples = ev.sample(7)
    assert samples.shape == (1, 7, 4, 4) and 0 <= samples.min() and samples.max() <= 1
    assert ev.sample(2, rows=ev.top_rows(3)).shape == (3, 2, 4, 4)
    ev.save_generator(tmp_path / "g.npz")
    net, shape = load_generator(tmp_path / "g.npz")
    assert shape == (4, 4)
    np.testing.assert_array_equal(net.genome, ev.best_generator_.genome)
    ev.save_discriminator(tmp_path / "d.keras")
    d2 = keras.models.load_model(tmp_path / "d.keras")
    imgs = samples.reshape(-1, 4, 4, 1)
    np.testing.assert_allclose(d2.predict_on_batch(imgs), ev.discriminator_.predict_on_batch(imgs), rtol=1e-5)
    with pytest.raises(ValueError, match="path"):
        ev.save_discriminator(tmp_path / "d.h5")


@pytest.mark.gan
def test_default_discriminator_and_reproducibility():
    pytest.importorskip("tensorflow")
    X, y = _real()
    a = _evolver(generations=2, quality=False).fit(X, y)
    b = _evolver(generations=2, quality=False).fit(X, y)
    assert [layer.__class__.__name__ for layer in a.discriminator_.layers] == [
        "Conv2D", "LeakyReLU", "Dropout", "Conv2D", "LeakyReLU", "Dropout", "Flatten", "Dense"]
    assert a.discriminator_.output_shape == (None, 1)
    # Same seed, same machine and threads: the same run.
    assert a.history_ == b.history_
    np.testing.assert_array_equal(a.population_.genomes, b.population_.genomes)
    assert "quality_confident" not in a.history_


@pytest.mark.gan
def test_threshold_stops_like_the_reference():
    pytest.importorskip("tensorflow")
    X, y = _real()
    ev = _evolver(generations=20, threshold=1.0, threshold_after=2, quality=False).fit(X, y)
    assert ev.stopped_ == "threshold" and len(ev.history_) == 3
    ev = _evolver(generations=2, threshold=0.0, quality=False).fit(X, y)
    assert ev.stopped_ is None and len(ev.history_) == 3


@pytest.mark.gan
def test_bad_input():
    pytest.importorskip("tensorflow")
    X, y = _real()
    with pytest.raises(ValueError, match="X"):
        _evolver().fit(X * 2, y)
    with pytest.raises(ValueError, match="generator_spec"):
        _evolver(generator_spec=[3, 4, 9]).fit(X, y)
    with pytest.raises(ValueError, match="image_shape"):
        _evolver().fit(X[:, :15], y)
    with pytest.raises(ValueError, match="score"):
        _evolver(score="max").fit(X, y)
    with pytest.raises(ValueError, match="threshold"):
        _evolver(threshold=90).fit(X, y)


@pytest.mark.gan
def test_cli_gan_writes_outputs(tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("matplotlib")
    import argparse

    from fastga.cli import SUBCOMMANDS
    from fastga.commands import gan as cmd

    assert "fastga.commands.gan" in SUBCOMMANDS
    parser = argparse.ArgumentParser()
    cmd.add_parser(parser.add_subparsers())

    def main(argv):
        args = parser.parse_args(argv)
        return args.func(args)

    X, y = _real(40)
    np.savez(tmp_path / "mnist.npz", x_train=(X.reshape(-1, 4, 4) * 255).astype(np.uint8), y_train=y,
             x_test=(X[:4].reshape(-1, 4, 4) * 255).astype(np.uint8), y_test=y[:4])
    out = tmp_path / "out"
    code = main(["gan", "--mnist", str(tmp_path / "mnist.npz"), "--generations", "2", "--pop-size", "4",
                 "--latent", "2", "--hidden", "3", "--batch-size", "3", "--d-batch", "4",
                 "--sample-every", "1", "--grid", "2", "3", "--out", str(out), "--quiet",
                 "--threads", "1"])
    assert code == 0
    names = sorted(os.listdir(out))
    for name in ("samples_gen0000.png", "samples_gen0001.png", "samples_gen0002.png",
                 "samples_final.png", "generator.npz", "discriminator.keras", "losses.png",
                 "history.csv"):
        assert name in names
    assert not [n for n in names if n.startswith(".tmp")]
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        main(["gan", "--mnist", str(tmp_path / "missing.npz"), "--out", str(out)])


@pytest.mark.gan
def test_output_bias_from_data():
    pytest.importorskip("tensorflow")
    X, y = _real()
    ev = _evolver(generations=0, output_bias="data", quality=False).fit(X, y)
    spec = ev.generator_spec_
    _, bs, _ = spec.layer_slices(spec.n_layers - 1)
    mean = np.clip(X.mean(axis=0, dtype=np.float64), 0.02, 0.98)
    expected = np.log(mean / (1 - mean)).astype(np.float32)
    for g in ev.population_.genomes:
        np.testing.assert_array_equal(g[bs], expected)
    with pytest.raises(ValueError, match="output_bias"):
        _evolver(output_bias="mean").fit(X, y)


@pytest.mark.gan
def test_latent_gain_scales_the_first_layer_and_bad_settings():
    pytest.importorskip("tensorflow")
    X, y = _real()
    a = _evolver(generations=0, quality=False).fit(X, y)
    b = _evolver(generations=0, quality=False, latent_gain=3.0).fit(X, y)
    spec = a.generator_spec_
    ws, bs, _ = spec.layer_slices(0)
    np.testing.assert_allclose(b.population_.genomes[:, ws], 3.0 * a.population_.genomes[:, ws], rtol=1e-6)
    ws1 = spec.layer_slices(1)[0]
    np.testing.assert_array_equal(b.population_.genomes[:, ws1], a.population_.genomes[:, ws1])
    for kw, name in ((dict(real_label=0.4), "real_label"), (dict(replay=-1), "replay"),
                     (dict(diversity=-1.0), "diversity"), (dict(sharing=-0.1), "sharing"),
                     (dict(latent_gain=0.0), "latent_gain")):
        with pytest.raises(ValueError, match=name):
            _evolver(**kw).fit(X, y)
