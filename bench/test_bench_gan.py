"""GA-GAN speed: one generation of P=50 generators (64 fakes each) on digits.

fastga's batched generation (one Numba forward pass for all fakes, a few
``train_on_batch`` calls, one ``predict_on_batch``, then the core's breeding)
against the reference's per-agent structure (one ``fit`` and one
``evaluate`` per generator, ``bench/reference_gan.py``), both measured in the
same run, with the reference's discriminator and with the GA-GAN's default
one (the reference's plus a minibatch standard deviation feature over groups
of 8; in the reference's per-agent ``fit`` the groups are only timed, its
shuffled batches give them no meaning). Run
``pytest bench/test_bench_gan.py --benchmark-enable`` for the
full measurement: the ratio is printed and stored in the benchmark's
``extra_info`` and must be >= 20. With benchmarks disabled (CI) it runs
once on a tiny population as a smoke test.
"""


import numpy as np
import pytest

from fastga import GeneticAlgorithm, NetworkSpec
from bench.peak import interleaved_medians

pytestmark = pytest.mark.gan

P, FAKES, LATENT, HIDDEN = 50, 64, 100, 100


def _median_seconds(fn, rounds):
    return interleaved_medians([fn], rounds, warmup=0)[0]


@pytest.mark.parametrize("minibatch_std", [None, 8], ids=["reference_d", "minibatch_std_d"])
def test_bench_gan_generation_vs_reference(benchmark, minibatch_std):
    pytest.importorskip("tensorflow")
    from bench.reference_gan import generate_agents, reference_fitness, sigmoid
    from fastga.datasets import load_digits_split
    from fastga.gan import DiscriminatorFitness
    from fastga.gan.discriminator import build_discriminator

    full = not benchmark.disabled
    n_ref = P if full else 3
    X, _, _, _ = load_digits_split()

    # fastga: the core GA driving the batched discriminator fitness.
    spec = NetworkSpec([LATENT, HIDDEN, 64], ["sigmoid", "sigmoid"])
    model = build_discriminator((8, 8), seed=1, minibatch_std=minibatch_std)
    fitness = DiscriminatorFitness(model, X, (8, 8), batch_size=FAKES, d_steps=2, d_batch=64, seed=1,
                                   group_size=minibatch_std or 1)
    ga = GeneticAlgorithm(spec, pop_size=P, elitism=2, type_probs=(0, 0, 0, 1), init="glorot",
                          random_state=1)
    ga.run(fitness, 0)  # evaluate generation 0 (also traces the Keras functions)

    def one_generation():
        ga.run(fitness, 1, warm_start=True)  # breed + evaluate: one generation

    one_generation()  # warm-up
    benchmark.pedantic(one_generation, rounds=10 if full else 1, iterations=1)

    # The reference's per-agent structure, same data, same discriminator design.
    rng = np.random.default_rng(2)
    network = [[LATENT, HIDDEN, sigmoid], [None, 64, sigmoid]]
    agents = generate_agents(n_ref, network, rng)
    model = build_discriminator((8, 8), seed=2, minibatch_std=minibatch_std)
    reference_fitness(agents[:1], model, X, 8, LATENT, FAKES, rng)  # warm-up (tracing)
    ref = _median_seconds(lambda: reference_fitness(agents, model, X, 8, LATENT, FAKES, rng),
                          rounds=3 if full else 1)
    assert all(0 <= a.fitness <= 100 for a in agents)
    assert len(ga.history_) >= 3 and np.isfinite(ga.history_["best_fitness"]).all()
    if not full:
        return
    ours = benchmark.stats.stats.median
    ratio = ref / ours
    benchmark.extra_info.update({"reference_seconds": ref, "fastga_seconds": ours, "speedup": ratio,
                                 "pop_size": P, "fakes_per_generator": FAKES,
                                 "minibatch_std": minibatch_std or 0})
    print(f"\nGA-GAN generation, P={P}, {FAKES} fakes each, minibatch_std={minibatch_std}: "
          f"reference per-agent {ref:.3f} s, "
          f"fastga {ours:.4f} s, speed-up {ratio:.1f}x")
    assert ratio >= 20, f"speed-up {ratio:.1f}x < 20x"


def _quality_row(scores):
    return {k[len("quality_"):]: round(float(v), 4) for k, v in scores.items()}


def test_bench_gan_quality_vs_plain_gan(full):
    """Sample quality of the default ``fastga gan`` run against a plain GAN trained as long.

    The default method's run on digits (:class:`fastga.gan.LineageGAN` with
    its defaults: the mixture of its lineages is the generator) is timed; a
    plain gradient-trained GAN with the same generator and discriminator
    networks (:func:`bench.reference_gan.plain_gan`) then trains for the same
    wall time in the same process, both are scored over 1000 samples by
    :class:`fastga.gan.SampleQuality` against the training digits (the plain
    GAN also with its latents scaled by 1.1 and by ``generalist_temperature``,
    the scale our generalists sample at: its precision-recall trade-off), and
    the table is printed. Full run: the lineages' k-NN precision and recall must
    both be higher, with a confident share >= 0.6 and all 10 classes. Smoke
    run: a few generations and steps.
    """
    pytest.importorskip("tensorflow")
    import time

    from bench.reference_gan import plain_gan
    from fastga._random import philox
    from fastga.datasets import load_digits_split
    from fastga.gan import LineageGAN, SampleQuality
    from fastga.registry import Purpose

    X, X_test, y, y_test = load_digits_split()
    quality = SampleQuality(random_state=0).fit(X, y, X_test, y_test)
    size = {} if full else dict(generations=3, steps=5)
    gan = LineageGAN(random_state=0, quality=quality, **size)
    start = time.perf_counter()
    gan.fit(X, y)
    seconds = time.perf_counter() - start
    ours = gan.sample_quality(1000)
    sample, steps = plain_gan(X, seconds, seed=0, max_steps=None if full else 3)
    z = philox(0, 0, Purpose.QUALITY).standard_normal((1000, 16), dtype=np.float32)
    plain = quality.score(sample(z))
    rows = {"fastga_gan": _quality_row(ours), "plain_gan": _quality_row(plain)}
    # The generalists sample at a temperature above 1 (their latents scaled): the plain GAN
    # sampled the same ways too, to show its precision-recall trade-off beside ours.
    for t in (1.1, gan.generalist_temperature):
        rows[f"plain_gan_T{t:g}"] = _quality_row(quality.score(sample(z * np.float32(t))))
    rows["held_out_real"] = _quality_row(quality.real_scores_)
    extra = gan.generalist_genomes_
    second = "" if extra is None else (f", then {gan.generalists_.generation_ * gan.steps} each of "
                                       f"{extra.shape[0]} generalists")
    print(f"\nGAN sample quality, {seconds:.0f} s each (lineages: {gan.generation_ * gan.steps} steps "
          f"each of {gan.pop_size}{second}; plain GAN: {steps} Adam steps):")
    for name, r in rows.items():
        print(f"  {name:14s} " + " ".join(f"{k}={v}" for k, v in r.items()))
    assert 0 <= ours["quality_precision"] <= 1 and 0 <= plain["quality_recall"] <= 1
    if not full:
        return
    assert ours["quality_precision"] > plain["quality_precision"]
    assert ours["quality_recall"] > plain["quality_recall"]
    assert ours["quality_confident"] >= 0.6 and ours["quality_coverage"] == 1.0
