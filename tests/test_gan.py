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
    assert one_class["quality_entropy"] == 0.0 and one_class["quality_confident_entropy"] == 0.0
    assert real["quality_confident_entropy"] > 0.9
    with pytest.raises(ValueError, match="samples"):
        q.score(X[:, :3])
    with pytest.raises(ValueError, match="samples"):
        q.score(X[:3])  # k-NN radii need more than k samples


@pytest.fixture(scope="module")
def digits_quality():
    from fastga.datasets import load_digits_split
    from fastga.gan import SampleQuality

    X, X_test, y, y_test = load_digits_split()
    return SampleQuality(random_state=0).fit(X, y, X_test, y_test), X, X_test, y_test


def test_quality_of_real_digits_is_near_ideal(digits_quality):
    q, X, X_test, y_test = digits_quality
    real = q.real_scores_
    assert real == q.score(X_test) and q.n_holdout_ == X_test.shape[0]
    assert q.real_accuracy_ > 0.9
    assert real["quality_precision"] > 0.8 and real["quality_recall"] > 0.8
    assert real["quality_confident"] > 0.8 and real["quality_coverage"] == 1.0
    assert real["quality_fid"] < 1.0
    # The training digits themselves: every one inside its own k-NN ball.
    assert q.score(X[:500])["quality_precision"] == 1.0
    # by_class: the first confident samples of each class, in order; -1 past a class's last.
    rows = q.by_class(X_test, per_class=5)
    proba = q.classifier_.predict_proba(X_test)
    for c in range(10):
        want = np.flatnonzero((proba.max(axis=1) >= q.confidence) & (proba.argmax(axis=1) == c))[:5]
        np.testing.assert_array_equal(rows[c], want)
    only_zeros = q.by_class(X_test[y_test == 0], per_class=3)
    assert (only_zeros[0] >= 0).all() and (only_zeros[1:] == -1).all()
    with pytest.raises(ValueError, match="^per_class"):
        q.by_class(X_test, per_class=0)


def test_quality_of_noise_and_of_one_repeated_image_is_bad(digits_quality):
    q, X, X_test, _ = digits_quality
    real = q.real_scores_
    noise = q.score(philox_uniform((500, X.shape[1])))
    assert noise["quality_precision"] < 0.05 and noise["quality_recall"] < 0.05
    assert noise["quality_fid"] > 20 * real["quality_fid"]
    one = q.score(np.repeat(X_test[:1], 500, axis=0))
    # A real image, so precise; but it covers nothing, one class, far in distribution.
    assert one["quality_precision"] == 1.0 and one["quality_recall"] < 0.01
    assert one["quality_coverage"] == pytest.approx(0.1)
    assert one["quality_fid"] > 20 * real["quality_fid"]
    # Blurring the real images (the mean of pairs) hurts precision and FID, less than noise.
    blur = 0.5 * (X_test[:300] + X_test[1:301])
    b = q.score(blur)
    assert b["quality_precision"] < real["quality_precision"]
    assert real["quality_fid"] < b["quality_fid"] < noise["quality_fid"]


def philox_uniform(shape, seed=1):
    from fastga._random import philox
    from fastga.registry import Purpose

    return philox(seed, 0, Purpose.USER).uniform(0, 1, shape).astype(np.float32)


def _naive_trace_sqrt(A):
    """trace(sqrtm(A)) by the Denman-Beavers iteration, NumPy only (A with positive eigenvalues)."""
    Y, Zm = A.astype(np.float64), np.eye(A.shape[0])
    for _ in range(100):
        Y, Zm = 0.5 * (Y + np.linalg.inv(Zm)), 0.5 * (Zm + np.linalg.inv(Y))
    return float(np.trace(Y))


def test_fid_matrix_square_root_matches_references():
    from fastga._random import philox
    from fastga.gan.quality import frechet_distance, trace_sqrt_product
    from fastga.registry import Purpose

    rng = philox(5, 0, Purpose.USER)
    for d in (1, 2, 4):
        A = rng.standard_normal((d + 3, d))
        B = rng.standard_normal((d + 5, d))
        S1, S2 = A.T @ A / d, B.T @ B / d
        want = _naive_trace_sqrt(S1 @ S2)
        assert trace_sqrt_product(S1, S2) == pytest.approx(want, rel=1e-9)
        try:
            from scipy.linalg import sqrtm

            assert trace_sqrt_product(S1, S2) == pytest.approx(float(np.trace(sqrtm(S1 @ S2)).real), rel=1e-7)
        except ImportError:  # pragma: no cover - scipy comes with scikit-learn
            pass
        mu = rng.standard_normal(d)
        assert frechet_distance(mu, S1, mu, S1) == pytest.approx(0.0, abs=1e-9)
    # One dimension: (m1 - m2)^2 + (s1 - s2)^2.
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)
    # A singular covariance (a collapsed generator) stays finite and real.
    assert np.isfinite(frechet_distance(np.zeros(3), np.zeros((3, 3)), np.zeros(3), np.eye(3)))


def test_knn_precision_recall_match_a_loop():
    from fastga._random import philox
    from fastga.gan.quality import knn_precision_recall, knn_radii
    from fastga.registry import Purpose

    rng = philox(6, 0, Purpose.USER)
    real = rng.standard_normal((15, 2))
    fake = rng.standard_normal((9, 2)) * 1.5 + 0.5
    k = 3

    def radii(P):
        return np.array([np.sort([np.linalg.norm(p - o) for j, o in enumerate(P) if j != i])[k - 1]
                         for i, p in enumerate(P)])

    rr, rf = radii(real), radii(fake)
    np.testing.assert_allclose(knn_radii(real, k), rr, rtol=1e-12)
    precision = np.mean([any(np.linalg.norm(f - r) <= rr[j] for j, r in enumerate(real)) for f in fake])
    recall = np.mean([any(np.linalg.norm(r - f) <= rf[j] for j, f in enumerate(fake)) for r in real])
    assert knn_precision_recall(real, fake, k) == (pytest.approx(precision), pytest.approx(recall))
    assert 0 < precision < 1 and 0 < recall < 1  # the case tests both sides
    with pytest.raises(ValueError, match="k=3"):
        knn_radii(real[:3], 3)


def test_generator_gradients_match_finite_differences():
    from fastga._random import philox
    from fastga.gan.gradient import generator_forward, generator_gradients
    from fastga.registry import Purpose

    rng = philox(7, 0, Purpose.USER)
    for acts in (["tanh", "sigmoid"], ["relu", "leaky_relu", "linear"]):
        spec = NetworkSpec([3, 4, 5] if len(acts) == 2 else [3, 4, 3, 5], acts)
        genomes = rng.standard_normal((2, spec.n_params))
        Z = rng.standard_normal((6, spec.n_inputs))
        gout = rng.standard_normal((2, 6, spec.n_outputs))
        g = generator_gradients(spec, genomes, Z, gout)

        def loss(theta):
            return float((generator_forward(spec, theta, Z)[0] * gout).sum(axis=(1, 2)).sum())

        eps = 1e-6
        for i in range(2):
            for j in range(spec.n_params):
                plus, minus = genomes.copy(), genomes.copy()
                plus[i, j] += eps
                minus[i, j] -= eps
                assert g[i, j] == pytest.approx((loss(plus) - loss(minus)) / (2 * eps), abs=1e-5)
    with pytest.raises(ValueError, match="gelu"):
        from fastga.gan.gradient import GradientVariation

        GradientVariation(NetworkSpec([2, 3, 4], ["gelu", "sigmoid"]), (2, 2))


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
                  minibatch_std=2, quality_every=1, random_state=0, threads=1)
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
    from fastga.registry import Purpose

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
    real = X[philox(3, pop.generation, Purpose.REAL).integers(0, X.shape[0], size=8)].astype(np.float64)
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
    from fastga.gan.quality import QUALITY_COLUMNS

    for key in ("d_loss", "d_accuracy", "best_fitness", "mean_fitness", "ref_accuracy_min") + QUALITY_COLUMNS:
        assert key in h and np.isfinite(h[key]).all(), key
    s = ev.sample_quality(20)
    assert set(s) == set(QUALITY_COLUMNS) and 0 <= s["quality_precision"] <= 1
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
def test_gradient_variation_raises_d_of_the_fakes():
    pytest.importorskip("tensorflow")
    from fastga._random import philox
    from fastga.gan.discriminator import import_keras, input_gradient
    from fastga.gan.gradient import GradientVariation
    from fastga.registry import Purpose

    keras = import_keras(1)
    model = _tiny_disc(keras, 4, seed=2)
    spec = NetworkSpec([3, 5, 16], ["tanh", "sigmoid"])
    pop = Population.random(spec, 4, random_state=3, init="glorot")
    Z = philox(1, 0, Purpose.USER).standard_normal((8, 3)).astype(np.float32)
    for loss in ("nonsaturating", "minimax", "least_squares"):
        op = GradientVariation(spec, (4, 4), lr=0.02, steps=4, loss=loss)
        new, seen = op(model, pop.genomes, [Z] * 4)
        assert new.dtype == np.float32 and new.shape == pop.genomes.shape
        assert seen[-1] > seen[0], loss  # D, frozen, finds the stepped fakes more real
    # The image gradient is TensorFlow's: check one entry by finite differences.
    img = pop.forward(Z, rows=np.arange(1)).reshape(-1, 4, 4, 1).astype(np.float32)
    g, d = input_gradient(model, img)
    np.testing.assert_allclose(d, model.predict_on_batch(img).reshape(-1), rtol=1e-5)
    eps = 1e-2
    plus, minus = img.copy(), img.copy()
    plus[0, 1, 2, 0] += eps
    minus[0, 1, 2, 0] -= eps
    f = lambda x: -np.log(model.predict_on_batch(x).astype(np.float64)).sum()  # noqa: E731
    assert g[0, 1, 2, 0] == pytest.approx((f(plus) - f(minus)) / (2 * eps), rel=1e-2, abs=1e-5)
    with pytest.raises(ValueError, match="loss"):
        input_gradient(model, img, "hinge")


@pytest.mark.gan
def test_hybrid_evolver_steps_children_and_repeats():
    pytest.importorskip("tensorflow")
    X, y = _real()
    kw = dict(generations=3, gradient_share=0.5, gradient_lr=0.02, quality=False)
    a = _evolver(**kw).fit(X, y)
    b = _evolver(**kw).fit(X, y)
    h = a.history_
    assert len(h) == 4 and np.isnan(h["gradient_d_fake"][0]) and np.isfinite(h["gradient_d_fake"][1:]).all()
    assert a.history_ == b.history_
    np.testing.assert_array_equal(a.population_.genomes, b.population_.genomes)
    assert "gradient_d_fake" not in _evolver(generations=1, gradient_share=0.0, quality=False).fit(X, y).history_
    m = _evolver(generations=1, gradient_share=1.0, gradient_loss="mixed", quality=False).fit(X, y)
    assert np.isfinite(m.history_["gradient_d_fake"][1])
    with pytest.raises(ValueError, match="gradient_share"):
        _evolver(gradient_share=1.5).fit(X, y)
    with pytest.raises(ValueError, match="gradient_loss"):
        _evolver(gradient_share=0.5, gradient_loss="hinge").fit(X, y)
    with pytest.raises(ValueError, match="gradient"):
        _evolver(gradient_share=0.5, generator_spec=NetworkSpec([3, 5, 16], ["gelu", "sigmoid"])).fit(X, y)


@pytest.mark.gan
def test_default_discriminator_and_reproducibility():
    pytest.importorskip("tensorflow")
    X, y = _real()
    a = _evolver(generations=2, quality=False).fit(X, y)
    b = _evolver(generations=2, quality=False).fit(X, y)
    reference = ["Conv2D", "LeakyReLU", "Dropout", "Conv2D", "LeakyReLU", "Dropout", "Flatten", "Dense"]
    names = [layer.__class__.__name__ for layer in a.discriminator_.layers]
    names = [n for n in names if n != "InputLayer"]
    # The reference's layers, in order, plus the minibatch-std feature fed to the final Dense.
    assert [n for n in names if n not in ("MinibatchStd", "Concatenate")] == reference
    assert names.count("MinibatchStd") == 1 and a.discriminator_.output_shape == (None, 1)
    c = _evolver(generations=0, quality=False, minibatch_std=0).fit(X, y)
    assert [layer.__class__.__name__ for layer in c.discriminator_.layers] == reference
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
def test_cli_gan_writes_outputs(tmp_path, capsys):
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
                 "--latent", "2", "--hidden", "3", "--batch-size", "4", "--d-batch", "4",
                 "--minibatch-std", "2", "--steps", "2", "--generalists", "2",
                 "--sample-every", "1", "--grid", "2", "3", "--out", str(out), "--quiet",
                 "--threads", "1"])
    assert code == 0
    names = sorted(os.listdir(out))
    for name in ("samples_gen0001.png", "samples_gen0002.png",
                 "samples_final.png", "samples_by_class.png", "generator.npz", "discriminator.keras",
                 "losses.png", "quality.png", "history.csv"):
        assert "gan_" + name in names
    assert not [n for n in names if n.startswith(".tmp")]
    printed = capsys.readouterr().out
    for line in ("k-NN precision (k=3)", "k-NN recall (k=3)", "FID (classifier features)",
                 "confident share", "classes >= 3% of confident", "held-out real, 4",
                 "mixture of 6 generators, 1000 samples", "2 generations (completed)"):
        assert line in printed
    # The default method is the lineages; its checkpoint resumes.
    assert main(["gan", "--mnist", str(tmp_path / "mnist.npz"), "--resume", str(out / "gan_checkpoint.npz"),
                 "--generations", "3", "--out", str(out), "--quiet"]) == 0
    assert "3 generations (completed)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="^--replay"):
        main(["gan", "--replay", "8", "--out", str(out)])
    with pytest.raises(ValueError, match="^--steps"):
        main(["gan", "--hybrid", "--steps", "8", "--out", str(out)])
    with pytest.raises(ValueError, match="--generalist-temperature"):
        main(["gan", "--pure-ga", "--generalist-temperature", "1.2", "--out", str(out)])
    code = main(["gan", "--mnist", str(tmp_path / "mnist.npz"), "--generations", "1", "--pop-size", "4",
                 "--latent", "2", "--hidden", "3", "--batch-size", "4", "--d-batch", "4",
                 "--minibatch-std", "2", "--pure-ga", "--quality-samples", "8", "--sample-every", "0",
                 "--out", str(tmp_path / "ga"), "--quiet", "--threads", "1"])
    assert code == 0 and "best generator, 8 samples" in capsys.readouterr().out
    with pytest.raises(ValueError, match="quality-samples"):
        main(["gan", "--mnist", str(tmp_path / "mnist.npz"), "--quality-samples", "2", "--out", str(out)])
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
    a = _evolver(generations=0, quality=False, latent_gain=1.0).fit(X, y)
    b = _evolver(generations=0, quality=False, latent_gain=3.0).fit(X, y)
    spec = a.generator_spec_
    ws, bs, _ = spec.layer_slices(0)
    np.testing.assert_allclose(b.population_.genomes[:, ws], 3.0 * a.population_.genomes[:, ws], rtol=1e-6)
    ws1 = spec.layer_slices(1)[0]
    np.testing.assert_array_equal(b.population_.genomes[:, ws1], a.population_.genomes[:, ws1])
    for kw, name in ((dict(real_label=0.4), "real_label"), (dict(replay=-1), "replay"),
                     (dict(diversity=-1.0), "diversity"), (dict(sharing=-0.1), "sharing"),
                     (dict(latent_gain=0.0), "latent_gain"), (dict(minibatch_std=1), "minibatch_std"),
                     (dict(minibatch_std=3), "minibatch_std"),
                     (dict(hidden_activation="cube"), "activation")):
        with pytest.raises(ValueError, match=name):
            _evolver(**kw).fit(X, y)


def _group_std_numpy(x, g):
    flat = x.reshape(x.shape[0], -1).astype(np.float64)
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], g):
        block = flat[start:start + g]
        out[start:start + g] = np.sqrt(block.var(axis=0) + 1e-8).mean()
    return out


@pytest.mark.gan
def test_minibatch_std_matches_numpy_and_survives_saving(tmp_path):
    pytest.importorskip("tensorflow")
    from fastga.gan.discriminator import build_discriminator, import_keras

    keras = import_keras(1)
    from fastga.gan.layers import MinibatchStd, group_std

    x = np.random.default_rng(0).uniform(size=(10, 3, 3, 2)).astype(np.float32)
    for g in (2, 4, 5):  # 10 = 5 groups of 2; 2 of 4 plus one of 2; 2 of 5
        np.testing.assert_allclose(np.asarray(group_std(x, g)), _group_std_numpy(x, g), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(MinibatchStd(4)(x)), _group_std_numpy(x, 4)[:, None], rtol=1e-5)
    with pytest.raises(ValueError, match="group_size"):
        MinibatchStd(1)
    model = build_discriminator((4, 4), filters=2, minibatch_std=4, seed=1, threads=1)
    imgs = np.random.default_rng(1).uniform(size=(8, 4, 4, 1)).astype(np.float32)
    model.save(tmp_path / "d.keras")
    again = keras.models.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(again.predict_on_batch(imgs), model.predict_on_batch(imgs), rtol=1e-5)


@pytest.mark.gan
def test_minibatch_std_lets_d_reject_a_collapsed_generator():
    """Fakes that each look exactly real (copies of real images) but do not vary
    within a group: without the feature D cannot tell them apart, with it D learns to."""
    pytest.importorskip("tensorflow")
    from fastga.gan.discriminator import import_keras

    keras = import_keras(1)
    from fastga.gan.layers import MinibatchStd

    X, _ = _real(64)
    g = 4

    def train(with_feature):
        rng = np.random.default_rng(0)
        inputs = keras.Input(shape=(16,))
        h = keras.layers.Concatenate()([inputs, MinibatchStd(g)(inputs)]) if with_feature else inputs
        out = keras.layers.Dense(1, activation="sigmoid",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=0))(h)
        model = keras.Model(inputs, out)
        model.compile(optimizer=keras.optimizers.Adam(1e-1), loss="binary_crossentropy")
        labels = np.r_[np.ones(32), np.zeros(32)].astype(np.float32)

        def collapsed(n):  # groups of g copies of one real image
            return np.repeat(X[rng.integers(0, len(X), n // g)], g, axis=0)

        for _ in range(200):
            model.train_on_batch(np.concatenate([X[rng.integers(0, len(X), 32)], collapsed(32)]), labels)
        return (float(model.predict_on_batch(X[rng.integers(0, len(X), 64)]).mean()),
                float(model.predict_on_batch(collapsed(64)).mean()))

    d_real, d_collapsed = train(True)
    assert d_collapsed < 0.3 and d_real > 0.7, (d_real, d_collapsed)
    d_real, d_collapsed = train(False)  # the same D without the feature: no idea
    assert abs(d_real - d_collapsed) < 0.15, (d_real, d_collapsed)


@pytest.mark.gan
def test_grouped_batches_hold_one_generator_per_group():
    pytest.importorskip("tensorflow")
    from fastga.gan import DiscriminatorFitness
    from fastga._random import philox

    X, _ = _real()
    fit = DiscriminatorFitness(None, X, (4, 4), batch_size=8, d_batch=8, group_size=4, replay=24)
    P, B = 5, 8
    fakes = np.repeat(np.arange(P, dtype=np.float32)[:, None, None], B, axis=1).repeat(16, axis=2)
    fakes += np.arange(B, dtype=np.float32)[None, :, None] / 100  # which latent
    rng = philox(0, 0, 34)
    picked = fit._pick_fakes(fakes, 16, rng).reshape(4, 4, 16)
    who = np.floor(picked[..., 0])
    assert (who == who[:, :1]).all()  # one generator per group
    lat = np.round((picked[..., 0] - who) * 100)
    assert all(len(set(row)) == 4 for row in lat)  # different latents within it
    buf = fit._pick_fakes(fakes, 24, rng)
    again = fit._pick_fakes(None, 8, rng, buf).reshape(2, 4, 16)
    assert (np.floor(again[..., 0]) == np.floor(again[:, :1, 0])).all()
    with pytest.raises(ValueError, match="group_size"):
        DiscriminatorFitness(None, X, (4, 4), batch_size=6, d_batch=8, group_size=4)


def test_evolver_sets_every_ga_setting():
    """Every GASettings field reaches the core GA (no TensorFlow needed)."""
    from fastga import GASettings
    from fastga.gan import GAN_SETTINGS, HYBRID_SETTINGS, PURE_GA, GANEvolver

    spec = NetworkSpec([3, 5, 16], ["tanh", "sigmoid"])
    assert _evolver().make_ga(spec, 0).settings() == HYBRID_SETTINGS
    assert GANEvolver(**PURE_GA).make_ga(spec, 0).settings() == GAN_SETTINGS
    assert HYBRID_SETTINGS == GAN_SETTINGS.replace(mutation_rate=0.1, sigma=0.01)
    assert _evolver(ga=None).make_ga(spec, 0).settings() == GASettings()
    custom = GAN_SETTINGS.replace(mutation_rate_cap=0.45, mutation_rate_increase=0.05,
                                  crossover="uniform", shift_max=1.5, fitness_pref=2.0)
    ga = _evolver(ga=custom).make_ga(spec, 7)
    assert ga.settings() == custom and ga.pop_size == 6 and ga.random_state == 7
    X, y = _real()
    with pytest.raises(TypeError, match="^ga"):
        _evolver(ga={"sigma": 0.1}).fit(X, y)
    with pytest.raises(ValueError, match="^mutation_rate_cap"):
        _evolver(ga=GAN_SETTINGS.replace(mutation_rate_cap=0.1)).fit(X, y)


def _same_history(a, b, start=0):
    """Every column but the timings, rows ``start`` on, equal bit for bit (NaN == NaN)."""
    cols = [c for c in a.keys() if not c.endswith("seconds")]
    assert cols == [c for c in b.keys() if not c.endswith("seconds")]
    for c in cols:
        np.testing.assert_array_equal(np.asarray(a[c])[start:], np.asarray(b[c])[start:], err_msg=c)


def _interrupt_at(generation):
    """A callback that sends this process Ctrl-C (SIGINT) once ``generation`` is told."""
    import signal

    def callback(evolver, record):
        if record["generation"] == generation:
            os.kill(os.getpid(), signal.SIGINT)
        return False

    return callback


@pytest.mark.gan
@pytest.mark.parametrize("method", ["hybrid", "pure_ga"])
def test_stopped_and_resumed_run_repeats_the_uninterrupted_one(tmp_path, method):
    """Ctrl-C at generation 3 saves; the resumed run gives the same generations 4-6, bit for bit.

    Nondeterminism: on CPU, TensorFlow's kernels here (oneDNN convolutions,
    Eigen matmuls and reductions, the segment sums of the minibatch-std
    feature, Adam's updates) give the same bits for the same inputs, thread
    count and machine: the run repeats exactly with or without
    ``tf.config.experimental.enable_op_determinism()`` (measured with 1 and 2
    threads, ``bench/README.md``), so this test asks for exact equality. Across
    thread counts or CPUs the float rounding of those kernels may differ,
    and a different ranking then changes the rest of the run. The dropout
    layers draw from Keras seed generators whose states are variables: they
    are saved with the weights, as are Adam's moments and iteration count.
    """
    pytest.importorskip("tensorflow")
    from fastga.gan import GANEvolver

    X, y = _real()
    kw = dict(generations=6, replay=16, quality_every=2, threads=1)
    kw.update(gradient_share=0.5, gradient_lr=0.02) if method == "hybrid" else kw.update(gradient_share=0.0)
    full = _evolver(**kw).fit(X, y)
    path = tmp_path / "gan.npz"
    part = _evolver(checkpoint_path=path, **kw).fit(X, y, callbacks=[_interrupt_at(3)])
    assert part.stopped_ == "interrupted" and part.population_.generation == 3 and len(part.history_) == 4
    assert os.path.exists(path)
    resumed = GANEvolver.load(path)
    assert resumed.warm_start and resumed.population_.generation == 3 and resumed.generations == 6
    # The discriminator comes back whole: weights, dropout seed states, Adam's moments and step count.
    d_saved, d_loaded = part.discriminator_, resumed.discriminator_
    for u, v in zip(d_saved.variables + d_saved.optimizer.variables,
                    d_loaded.variables + d_loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(u.numpy(), v.numpy())
    assert int(d_loaded.optimizer.iterations.numpy()) == 4 * 1  # d_steps=1, generations 0-3
    assert len(d_loaded.optimizer.variables) > 2  # the moments too (a .keras reload has only 2)
    np.testing.assert_array_equal(resumed._loaded_replay, part.fitness_.replay_buffer_)
    _same_history(resumed.history_, part.history_)
    resumed.fit(X, y)
    assert resumed.stopped_ is None and len(resumed.history_) == 7
    _same_history(resumed.history_, full.history_)
    np.testing.assert_array_equal(resumed.population_.genomes, full.population_.genomes)
    np.testing.assert_array_equal(resumed.best_generator_.genome, full.best_generator_.genome)
    for u, v in zip(full.discriminator_.variables + full.discriminator_.optimizer.variables,
                    resumed.discriminator_.variables + resumed.discriminator_.optimizer.variables, strict=True):
        np.testing.assert_array_equal(u.numpy(), v.numpy())


@pytest.mark.gan
def test_checkpoints_every_n_and_bad_checkpoint_use(tmp_path):
    pytest.importorskip("tensorflow")
    from fastga.fileio import FileFormatError, load_npz
    from fastga.gan import GANEvolver
    from fastga.gan.discriminator import import_keras

    X, y = _real()
    path = tmp_path / "every.npz"
    seen = []
    _evolver(generations=4, quality=False, checkpoint_every=2, checkpoint_path=path).fit(
        X, y, callbacks=[lambda e, r: seen.append(os.path.getmtime(path) if os.path.exists(path) else None)])
    # Written after generation 2 (its callbacks run before): first seen by generation 3's.
    assert seen[:3] == [None, None, None] and seen[3] is not None
    arrays, meta = load_npz(path, kind="gan")
    assert meta["ga"]["state"] is not None and "replay_buffer" not in arrays  # replay off
    ev = GANEvolver.load(path)
    assert ev.population_.generation == 4 and ev.stopped_ is None
    # Going further: raise generations.
    ev.generations = 5
    ev.fit(X, y)
    assert len(ev.history_) == 6
    with pytest.raises(ValueError, match="checkpoint_path"):
        _evolver(checkpoint_every=2).fit(X, y)
    with pytest.raises(ValueError, match="checkpoint_every"):
        _evolver(checkpoint_every=0, checkpoint_path=path).fit(X, y)
    with pytest.raises(AttributeError, match="save"):
        _evolver().save(tmp_path / "x.npz")
    with pytest.raises(ValueError, match="X"):
        GANEvolver.load(path).fit(X[:, :9], y)
    with pytest.warns(UserWarning, match="X: not the images"):
        GANEvolver.load(path).fit(X[::-1], y)
    # A discriminator of one's own must be given back, of the same architecture.
    keras = import_keras(1)
    own = tmp_path / "own.npz"
    _evolver(generations=1, quality=False, discriminator=_tiny_disc(keras, 4), checkpoint_path=own).fit(X, y)
    with pytest.raises(ValueError, match="discriminator"):
        GANEvolver.load(own)
    assert GANEvolver.load(own, discriminator=_tiny_disc(keras, 4, seed=5)).population_.generation == 1
    other = keras.Sequential([keras.Input(shape=(4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2), keras.layers.Dense(1, activation="sigmoid")])
    other.compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.raises(FileFormatError, match="variables"):
        GANEvolver.load(own, discriminator=other)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(FileFormatError):
        GANEvolver.load(junk)


def _idx_bytes(arr):
    import struct

    arr = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.tobytes()


@pytest.mark.gan
def test_cli_gan_on_an_idx_file_resumes_and_names_bad_data(tmp_path, capsys):
    """``--data`` reads a (synthetic) MNIST-shaped IDX file; ``--resume`` goes on from the checkpoint."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("matplotlib")
    import argparse
    import gzip

    from fastga.commands import gan as cmd
    from fastga.fileio import load_npz
    from fastga.gan import GANEvolver

    parser = argparse.ArgumentParser()
    cmd.add_parser(parser.add_subparsers())

    def main(argv):
        args = parser.parse_args(argv)
        return args.func(args)

    X, y = _real(40)
    data = tmp_path / "data"
    data.mkdir()
    images = data / "train-images-idx3-ubyte.gz"
    with gzip.open(images, "wb") as fh:
        fh.write(_idx_bytes(X.reshape(-1, 4, 4) * 255))
    (data / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(y))
    out = tmp_path / "out"
    tiny = ["--hybrid", "--pop-size", "4", "--latent", "2", "--hidden", "3", "--batch-size", "4", "--d-batch", "4",
            "--minibatch-std", "2", "--replay", "8", "--quality-samples", "8", "--sample-every", "0",
            "--quiet", "--threads", "1"]
    assert main(["gan", "--data", str(images), "--generations", "2", "--out", str(out)] + tiny) == 0
    printed = capsys.readouterr().out
    assert "k-NN precision (k=3)" in printed and "--resume" in printed
    ckpt = out / "gan_checkpoint.npz"
    arrays, meta = load_npz(ckpt, kind="gan")
    assert meta["image_shape"] == [4, 4] and arrays["replay_buffer"].shape[1] == 16
    assert main(["gan", "--resume", str(ckpt), "--data", str(images), "--generations", "3",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "resuming" in printed and "3 generations (completed)" in printed
    assert main(["gan", "--resume", str(ckpt), "--data", str(images), "--out", str(out), "--quiet"]) == 0
    assert "3 generations (completed)" in capsys.readouterr().out  # the saved total: nothing to add
    assert main(["gan", "--resume", str(ckpt), "--data", str(images), "--out", str(out), "--quiet",
                 "--mixture", "3", "--quality-samples", "8"]) == 0
    assert "mixture of 3 generators, 8 samples" in capsys.readouterr().out
    ev = GANEvolver.load(ckpt)
    ev.quality = True
    ev.fit(X, y)
    mix = ev.sample_mixture(50, 4, random_state=1)
    assert mix.shape == (50, 4, 4)
    each = ev.sample(50, rows=ev.top_rows(4), random_state=1)  # same latents, every generator
    assert all(any(np.array_equal(mix[i], each[j, i]) for j in range(4)) for i in range(50))
    assert set(ev.sample_quality(20, mixture=2)) == set(ev.sample_quality(20))
    with pytest.raises(ValueError, match="^k"):
        ev.sample_mixture(5, 5)
    with pytest.raises(ValueError, match="^--mixture"):
        main(["gan", "--mixture", "0", "--out", str(out)])
    with pytest.raises(ValueError, match="^--generations"):
        main(["gan", "--resume", str(ckpt), "--data", str(images), "--generations", "1", "--out", str(out)])
    # Images without labels: the run goes on, without the quality measures.
    bare = tmp_path / "images.idx"
    bare.write_bytes(_idx_bytes(X.reshape(-1, 4, 4) * 255))
    assert main(["gan", "--data", str(bare), "--generations", "1", "--out", str(tmp_path / "bare")] + tiny) == 0
    captured = capsys.readouterr()
    assert "no labels" in captured.err and "k-NN precision" not in captured.out
    # Bad files: the error names the argument.
    junk = tmp_path / "junk-images-idx3-ubyte"
    junk.write_bytes(b"\x01\x02\x03\x04 not idx")
    with pytest.raises(ValueError, match="^--data: .*junk-images-idx3-ubyte.*magic"):
        main(["gan", "--data", str(junk), "--out", str(out)] + tiny)
    with pytest.raises(FileNotFoundError, match="^--data: .*nothere"):
        main(["gan", "--data", str(tmp_path / "nothere"), "--out", str(out)] + tiny)
    with pytest.raises(ValueError, match="^--checkpoint-every"):
        main(["gan", "--checkpoint-every", "0", "--out", str(out)] + tiny)


def _lineages(**kw):
    from fastga.gan.lineages import LineageGAN

    params = dict(latent_dim=3, hidden=5, generations=3, steps=2, pop_size=3, batch_size=4, d_batch=4,
                  eval_batch=4, minibatch_std=2, quality_every=1, random_state=0, threads=1)
    params.update(kw)
    return LineageGAN(**params)


@pytest.mark.gan
def test_stacked_generators_match_numpy_and_step_each_on_its_own_loss():
    pytest.importorskip("tensorflow")
    from fastga.gan.discriminator import build_discriminator
    from fastga.gan.gradient import generator_forward
    from fastga.gan.stacked import StackedGenerators

    spec = NetworkSpec([3, 5, 16], ["tanh", "sigmoid"])
    rng = np.random.default_rng(0)
    genomes = rng.normal(0, 0.5, (3, spec.n_params)).astype(np.float32)
    X, _ = _real()
    D = build_discriminator((4, 4), seed=0, threads=1)
    mix = np.eye(3, dtype=np.float32)  # generator i on loss i
    S = StackedGenerators(spec, genomes, D, X, (4, 4), mix)
    z = rng.standard_normal((3, 7, 3)).astype(np.float32)
    fakes, d = S.score(z)
    ref = np.stack([generator_forward(spec, genomes[i:i + 1], z[i])[0][0] for i in range(3)])
    np.testing.assert_allclose(fakes, ref, rtol=1e-5, atol=1e-6)
    assert d.shape == (3, 7) and np.all((d > 0) & (d < 1))
    np.testing.assert_array_equal(S.genomes(), genomes)
    # A generator's step depends only on its own loss: changing generator 2's loss leaves 0 and 1 alone.
    state = S.state()
    zs = rng.standard_normal((2, 3, 4, 3)).astype(np.float32)
    idx = rng.integers(0, X.shape[0], (2, 4))
    S.train(zs, idx)
    a = S.genomes()
    assert not np.array_equal(a, genomes)
    assert float(S.state()["adam_t"][0]) == 2.0
    D2 = build_discriminator((4, 4), seed=0, threads=1)  # the same fresh D as S's
    mix2 = mix.copy()
    mix2[2] = [1, 0, 0]
    S2 = StackedGenerators(spec, state["genomes"], D2, X, (4, 4), mix2)
    S2.train(zs, idx)
    b = S2.genomes()
    np.testing.assert_allclose(b[:2], a[:2], rtol=1e-5, atol=1e-7)
    assert not np.allclose(b[2], a[2])


@pytest.mark.gan
def test_lineage_gan_runs_records_and_saves_its_mixture(tmp_path):
    pytest.importorskip("tensorflow")
    from fastga._random import philox
    from fastga.gan.lineages import GeneratorMixture, load_mixture
    from fastga.registry import Purpose

    X, y = _real()
    gan = _lineages(generations=4, generalists=2).fit(X, y)
    h = gan.history_
    assert list(h["generation"]) == [1, 2, 3, 4]
    for col in ("d_loss", "d_accuracy", "best_fitness", "distinct_mean", "quality_precision", "quality_recall"):
        assert np.isfinite(h[col]).all(), col
    assert list(h["replaced"][:3]) != [-1, -1, -1] and h["replaced"][-1] == -1  # no copy after the last
    assert gan.genomes_.shape == (3, gan.generator_spec_.n_params)
    assert set(gan.losses_.tolist()) <= {0, 1, 2}
    assert [gan._lr_scale(g, 4) for g in range(4)] == [1.0, 1.0, 1.0, 1.0]
    gan.decay = 0.5
    assert [gan._lr_scale(g, 4) for g in range(4)] == [1.0, 1.0, 1.0, 0.5]
    own = np.arange(4)[:, None] * np.full((1, 16), 0.1)  # 4 fakes 0.4 apart (RMS 0.1)
    d = gan.distinctness(np.stack([own, own + 1.0, own + 1.001]))  # the third: a near copy of the second
    np.testing.assert_array_equal(d, [1.0, 0.0, 0.0])
    images = gan.sample_mixture(10)
    assert images.shape == (10, 4, 4) and 0 <= images.min() and images.max() <= 1
    scores = gan.sample_quality(40)
    assert 0 <= scores["quality_precision"] <= 1
    path = gan.save_generator(tmp_path / "mix.npz")
    mix, shape = load_mixture(path)
    assert shape == (4, 4)
    np.testing.assert_array_equal(mix.sample(10).reshape(10, 4, 4), images)
    # The second phase: 2 generalists, 0.4 of the mixture's samples (the default share).
    assert gan.generalist_genomes_.shape == (2, gan.generator_spec_.n_params)
    assert gan.generalists_.generation_ == 3  # three quarters of 4 generations
    np.testing.assert_allclose(gan.generator_.weights, [0.2, 0.2, 0.2, 0.2, 0.2])
    assert gan.generator_.genomes.shape[0] == 5 and gan.sample_mixture(10, k=3).shape == (10, 4, 4)
    np.testing.assert_array_equal(mix.weights, gan.generator_.weights)
    # The generalists sample at generalist_temperature (1.25): their latents scaled, in the
    # mixture (saved with it) and in their rows of sample(); the specialists at 1.
    np.testing.assert_array_equal(mix.temperatures, [1.0, 1.0, 1.0, 1.25, 1.25])
    n_z = gan.generator_spec_.n_inputs
    z = philox(0, 0, Purpose.QUALITY).standard_normal((10, n_z), dtype=np.float32)
    pick = philox(0, 1, Purpose.QUALITY).choice(5, size=10, p=mix.weights)
    np.testing.assert_array_equal(mix.sample(10), mix.predict(z * mix.temperatures[pick][:, None], pick))
    rows = gan.sample(6, rows=[0, 3], random_state=0).reshape(2, 6, 16)
    z6 = philox(0, 0, Purpose.QUALITY).standard_normal((6, n_z), dtype=np.float32)
    np.testing.assert_array_equal(rows[0], mix.members[0].predict(z6))
    np.testing.assert_array_equal(rows[1], mix.members[3].predict(z6 * np.float32(1.25)))
    with pytest.raises(ValueError, match="^temperatures"):
        GeneratorMixture(gan.generator_spec_, mix.genomes, temperatures=[1.0, 1.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="^generalist_temperature"):
        _lineages(generalist_temperature=-1.0).fit(X, y)
    alone = _lineages(generalists=0).fit(X, y)
    assert alone.generalist_genomes_ is None and alone.generator_.weights is None
    # The coverage share: each real image is claimed by the generator of its nearest fake.
    share = gan.coverage_share(np.stack([own, own + 1.0, own + 3.0]),
                               np.stack([own[0], own[1], own[0] + 1.0, own[0] + 2.9]))
    np.testing.assert_array_equal(share, [0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="minibatch_std"):
        _lineages(minibatch_std=3).fit(X, y)
    with pytest.raises(ValueError, match="gradient_loss"):
        _lineages(gradient_loss="wasserstein").fit(X, y)
    with pytest.raises(ValueError, match="^generalists"):
        _lineages(generalists=1).fit(X, y)
    with pytest.raises(ValueError, match="^generalist_share"):
        _lineages(generalists=2, generalist_share=1.0).fit(X, y)
    with pytest.raises(ValueError, match="generalist_generations"):
        _lineages(generalist_generations=0).fit(X, y)
    with pytest.raises(ValueError, match="coverage"):
        _lineages(coverage=-1.0).fit(X, y)


@pytest.mark.gan
def test_lineage_gan_stopped_and_resumed_repeats_the_uninterrupted_one(tmp_path):
    """Ctrl-C at generation 3 saves; the resumed run repeats generations 4-6 bit for bit.

    Same nondeterminism as the GA-GAN's (see
    ``test_stopped_and_resumed_run_repeats_the_uninterrupted_one``): exact on
    one machine and thread count; the generators' Adam moments and step
    count, their losses and the discriminator's optimizer are saved.
    """
    pytest.importorskip("tensorflow")
    from fastga.gan.lineages import LineageGAN

    X, y = _real()
    full = _lineages(generations=6, decay=0.5, generalists=2).fit(X, y)
    path = tmp_path / "lineages.npz"
    part = _lineages(generations=6, decay=0.5, generalists=2, checkpoint_path=path).fit(
        X, y, callbacks=[_interrupt_at(3)])
    assert part.stopped_ == "interrupted" and part.generation_ == 3
    resumed = LineageGAN.load(path)
    assert resumed.warm_start and resumed.generation_ == 3 and resumed.generations == 6
    _same_history(resumed.history_, part.history_)
    resumed.fit(X, y)
    assert resumed.stopped_ is None and len(resumed.history_) == 6
    _same_history(resumed.history_, full.history_)
    np.testing.assert_array_equal(resumed.genomes_, full.genomes_)
    np.testing.assert_array_equal(resumed.losses_, full.losses_)
    np.testing.assert_array_equal(resumed.generalist_genomes_, full.generalist_genomes_)  # second phase
    for u, v in zip(full.discriminator_.variables + full.discriminator_.optimizer.variables,
                    resumed.discriminator_.variables + resumed.discriminator_.optimizer.variables, strict=True):
        np.testing.assert_array_equal(u.numpy(), v.numpy())


@pytest.mark.gan
def test_lineage_gan_generalists_beside_the_specialists_give_the_same_bits():
    """With ``threads=2`` the generalists train in a second Python thread from the start;
    the run is the same bits as the sequential one (``threads=1``). Stopped early,
    the second phase is cancelled and not kept, as when it runs after."""
    pytest.importorskip("tensorflow")
    import threading

    X, y = _real()
    one = _lineages(generations=4, generalists=2, threads=1).fit(X, y)
    two = _lineages(generations=4, generalists=2, threads=2)
    assert not one._side_by_side() and two._side_by_side()
    two.fit(X, y)
    _same_history(two.history_, one.history_)
    np.testing.assert_array_equal(two.genomes_, one.genomes_)
    np.testing.assert_array_equal(two.generalist_genomes_, one.generalist_genomes_)
    _same_history(two.generalists_.history_, one.generalists_.history_)
    stopped = _lineages(generations=6, generalists=2, threads=2).fit(
        X, y, callbacks=[lambda gan, record: record["generation"] >= 2])
    assert stopped.stopped_ is not None and stopped.generation_ == 2
    assert stopped.generalist_genomes_ is None
    assert not any(t.name == "fastga-generalists" for t in threading.enumerate())
