"""Checkpoints: round trips, bad files (each a clear error that changes nothing), crashes mid-write."""

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest

from fastga import GeneticAlgorithm, Population, SupervisedFitness, checkpoint, fileio
from fastga.estimators import GeneticMLPClassifier, GeneticMLPRegressor
from fastga.fileio import FileFormatError, load_npz, save_npz
from fastga.algorithm import interrupts_deferred as _interrupts_deferred
from fastga.network import Network

SPEC = [4, 5, 3]


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, y


def _fitness():
    X, y = _data()
    return SupervisedFitness(X, y, batch_size=16, seed=7)


def _ga(**kw):
    params = dict(pop_size=12, random_state=3, die_off_rate=0.5, elitism=2)
    params.update(kw)
    return GeneticAlgorithm(SPEC, **params)


def _same_run(a, b):
    assert a.history_ == b.history_
    np.testing.assert_array_equal(a.population_.genomes, b.population_.genomes)
    np.testing.assert_array_equal(a.population_.fitness, b.population_.fitness)
    np.testing.assert_array_equal(a.best_genome_, b.best_genome_)
    assert a.best_fitness_ == b.best_fitness_
    sa, sb = dataclasses.asdict(a.state_), dataclasses.asdict(b.state_)
    sa.pop("stopped"), sb.pop("stopped")
    assert sa == sb


# ----------------------------------------------------------------- round trips
def test_population_round_trip(tmp_path):
    pop = Population.random(SPEC, 6, random_state=1)
    pop.fitness = np.array([1.0, -np.inf, np.nan, 0.5, 2.0, -3.0])
    pop.generation = 17
    path = pop.save(tmp_path / "p.npz", meta={"note": "x"})
    back = Population.load(path)
    assert back.spec == pop.spec and back.generation == 17 and back.meta == {"note": "x"}
    np.testing.assert_array_equal(back.genomes, pop.genomes)
    np.testing.assert_array_equal(back.fitness, pop.fitness)  # NaN stays NaN, -inf stays -inf
    assert back.genomes.flags.c_contiguous and back.genomes.dtype == np.float32
    assert isinstance(checkpoint.load(path), Population)


def test_ga_round_trip_keeps_settings_and_state(tmp_path):
    ga = _ga(selection="tournament", type_probs=(0.5, 0.2, 0.2, 0.1), patience=50,
             crossover="uniform").run(_fitness(), 4)
    ga.state_.stopped = "callback"
    back = GeneticAlgorithm.load(ga.save(tmp_path / "g.npz"))
    for k in ("pop_size", "selection", "type_probs", "patience", "crossover", "random_state"):
        assert getattr(back, k) == getattr(ga, k), k
    assert back.spec == ga.population_.spec
    assert back.state_ == ga.state_
    _same_run(back, ga)
    assert back.history_.keys() == ga.history_.keys()
    np.testing.assert_array_equal(back.history_["seconds"], ga.history_["seconds"])


def test_unrun_ga_round_trip(tmp_path):
    back = GeneticAlgorithm.load(_ga(mutation_rate=0.05).save(tmp_path / "g.npz"))
    assert back.mutation_rate == 0.05 and not hasattr(back, "state_")


def test_generator_random_state_is_saved_as_the_resolved_seed(tmp_path):
    ga = _ga(random_state=np.random.default_rng(5)).run(_fitness(), 2)
    back = GeneticAlgorithm.load(ga.save(tmp_path / "g.npz"))
    assert back.random_state == ga.state_.seed
    with pytest.raises(TypeError, match="^random_state"):
        _ga(random_state=np.random.default_rng(5)).save(tmp_path / "h.npz")


def test_loaded_ga_goes_on_bit_identically(tmp_path):
    once = _ga().run(_fitness(), 8)
    part = _ga().run(_fitness(), 3)
    resumed = GeneticAlgorithm.load(part.save(tmp_path / "g.npz")).run(_fitness(), 5)
    _same_run(resumed, once)


@pytest.mark.parametrize("cls", [GeneticMLPClassifier, GeneticMLPRegressor])
def test_estimator_round_trip(tmp_path, cls):
    X, y = _data()
    y = y if cls is GeneticMLPClassifier else X[:, :2] @ np.array([1.0, -0.5])
    est = cls(architecture=(6,), pop_size=16, generations=3, batch_size=20, random_state=0,
              type_probs=(0.8, 0.1, 0.1)).fit(X, y)
    back = cls.load(est.save(tmp_path / "e.npz"))
    assert back.get_params() == est.get_params()
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert back.history_ == est.history_ and back.n_generations_ == est.n_generations_
    assert back.train_loss_ == est.train_loss_
    assert back.score(X, y) == est.score(X, y)
    other = GeneticMLPRegressor if cls is GeneticMLPClassifier else GeneticMLPClassifier
    with pytest.raises(FileFormatError, match=f"holds a {cls.__name__}, not a {other.__name__}"):
        other.load(tmp_path / "e.npz")
    assert type(checkpoint.load(tmp_path / "e.npz")) is cls


def test_unfitted_estimator_round_trip(tmp_path):
    est = GeneticMLPClassifier(pop_size=30, architecture=(4, 3))
    back = GeneticMLPClassifier.load(est.save(tmp_path / "e.npz"))
    assert back.get_params() == est.get_params() and not hasattr(back, "ga_")


def test_unsaveable_parameter_is_a_clear_error_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "e.npz"
    GeneticMLPClassifier(pop_size=30).save(path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="^init_scale"):
        GeneticMLPClassifier(init_scale=object()).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["e.npz"]


# ------------------------------------------------------------------ bad files
def _checkpoint(tmp_path):
    ga = _ga().run(_fitness(), 2)
    return ga, ga.save(tmp_path / "good.npz")


def _corrupt(src, dst):
    data = bytearray(open(src, "rb").read())
    mid = len(data) // 2
    data[mid] ^= 0xFF
    data[mid + 1] ^= 0x55
    open(dst, "wb").write(bytes(data))


def _truncate(src, dst):
    data = open(src, "rb").read()
    open(dst, "wb").write(data[: len(data) * 2 // 3])


def _foreign_npz(src, dst):
    np.savez(dst, genomes=np.zeros((3, 4), np.float32))


def _not_npz(src, dst):
    open(dst, "w").write("genomes,fitness\n1,2\n")


def _other_kind(src, dst):
    Network([2, 1], np.zeros(3, np.float32)).save(dst)


def _future_format(src, dst, monkeypatch=None):
    arrays, meta = load_npz(src)
    old = fileio.FORMAT_VERSION
    fileio.FORMAT_VERSION = old + 1
    try:
        save_npz(dst, "ga", arrays, meta)
    finally:
        fileio.FORMAT_VERSION = old


def _future_checkpoint(src, dst):
    arrays, meta = load_npz(src)
    meta["checkpoint_version"] = fileio.CHECKPOINT_VERSION + 1
    save_npz(dst, "ga", arrays, meta)


def _old_streams_checkpoint(src, dst):
    arrays, meta = load_npz(src)
    meta["checkpoint_version"] = fileio.FIRST_RESUMABLE_VERSION - 1
    save_npz(dst, "ga", arrays, meta)


def _bad_checksum(src, dst):
    # Valid zip, valid header, one array changed: only the SHA-256 can tell.
    arrays, meta = load_npz(src)
    with np.load(src, allow_pickle=False) as data:
        header = data["__header__"]
    arrays["genomes"] = arrays["genomes"].copy()
    arrays["genomes"][0, 0] += 1.0
    np.savez(dst, **arrays, __header__=header)


def _inconsistent(src, dst):
    # Checksummed, but the genomes do not fit the spec.
    arrays, meta = load_npz(src)
    arrays["genomes"] = arrays["genomes"][:, :-1].copy()
    save_npz(dst, "ga", arrays, meta)


BAD = {
    "corrupt": (_corrupt, "truncated or corrupt|checksum"),
    "truncated": (_truncate, "truncated or corrupt"),
    "foreign_npz": (_foreign_npz, "not a fastga file"),
    "not_npz": (_not_npz, "truncated or corrupt|not a fastga file"),
    "other_kind": (_other_kind, "holds a 'network', not a ('ga'|checkpoint)"),
    "future_format": (_future_format, "format version 2.*upgrade fastga"),
    "future_checkpoint": (_future_checkpoint, "checkpoint of version 3.*upgrade fastga"),
    "old_streams": (_old_streams_checkpoint, "version 1.*mutation random streams.*not repeat"),
    "bad_checksum": (_bad_checksum, "checksum mismatch"),
    "inconsistent": (_inconsistent, "not a valid GeneticAlgorithm checkpoint.*genomes"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_is_a_clear_error_and_changes_nothing(tmp_path, case):
    ga, good = _checkpoint(tmp_path)
    make, message = BAD[case]
    bad = str(tmp_path / "bad.npz")
    make(good, bad)
    before = {name: open(tmp_path / name, "rb").read() for name in os.listdir(tmp_path)}
    genomes = ga.population_.genomes.copy()
    for loader in (GeneticAlgorithm.load, checkpoint.load):
        with pytest.raises(FileFormatError, match=message) as info:
            loader(bad)
        assert bad in str(info.value)  # the message names the file
    # Nothing changed: no file written, touched or removed, the live run untouched.
    after = {name: open(tmp_path / name, "rb").read() for name in os.listdir(tmp_path)}
    assert after == before
    np.testing.assert_array_equal(ga.population_.genomes, genomes)
    GeneticAlgorithm.load(good)  # the good one still loads


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        GeneticAlgorithm.load(tmp_path / "nope.npz")


def test_loading_never_unpickles(tmp_path, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    ga, good = _checkpoint(tmp_path)
    GeneticAlgorithm.load(good)
    # An object array in a checkpoint is refused, not unpickled.
    np.savez(tmp_path / "obj.npz", genomes=np.array([object()], dtype=object))
    with pytest.raises(FileFormatError):
        GeneticAlgorithm.load(tmp_path / "obj.npz")


# ------------------------------------------------- tampered sizes: no allocation
#: Most a loader may allocate while refusing a tampered file (the files are tiny).
_ALLOC_LIMIT = 4 << 20


def _refused_without_allocating(load, path, message):
    """``load(path)`` raises FileFormatError naming ``path`` and allocates under _ALLOC_LIMIT."""
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match=message) as info:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert peak < _ALLOC_LIMIT, f"{peak} bytes allocated while refusing the file"


def _claim_sizes(src, dst, kind, sizes, key="spec"):
    """Rewrite ``src`` with a header spec of ``sizes`` (and its ``sizes`` array when present),
    re-checksummed: only the comparison of the spec with the arrays can tell."""
    arrays, meta = load_npz(src)
    meta[key] = dict(meta[key], sizes=list(sizes))
    if "sizes" in arrays:
        arrays["sizes"] = np.asarray(sizes, dtype=np.int64)
    save_npz(dst, kind, arrays, meta)
    load_npz(dst, kind=kind)  # the checksum is valid


# 10**9-wide: over the size limit. 2**20-wide: within it, but not what the arrays hold
# (building the genome first would allocate 40 MB).
CLAIMS = {"huge": ([4, 10**9, 3], "exceeds the limit"),
          "mismatch": ([4, 2**20, 3], "spec says|shape|expected")}


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_network_file_claiming_a_wide_layer_is_refused_without_allocating(tmp_path, claim):
    sizes, message = CLAIMS[claim]
    good = Network(SPEC, np.zeros(43, np.float32)).save(tmp_path / "net.npz")
    bad = tmp_path / "bad.npz"
    _claim_sizes(good, bad, "network", sizes)
    _refused_without_allocating(Network.load, bad, message)
    # Arrays of the right shapes but one missing or one extra: refused too.
    arrays, meta = load_npz(good)
    for change in ({"W1": None}, {"W2": np.zeros((3, 1), np.float32)}):
        changed = {k: v for k, v in {**arrays, **change}.items() if v is not None}
        save_npz(bad, "network", changed, meta)
        with pytest.raises(FileFormatError, match="W1.*missing|unexpected arrays"):
            Network.load(bad)
    assert Network.load(good).spec.sizes == tuple(SPEC)


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_population_and_ga_files_claiming_a_wide_layer_are_refused_without_allocating(tmp_path, claim):
    sizes, message = CLAIMS[claim]
    good = Population.random(SPEC, 6, random_state=1).save(tmp_path / "p.npz")
    bad = tmp_path / "bad.npz"
    _claim_sizes(good, bad, "population", sizes)
    _refused_without_allocating(Population.load, bad, message)
    _refused_without_allocating(checkpoint.load, bad, message)
    ga, good_ga = _checkpoint(tmp_path)
    _claim_sizes(good_ga, bad, "ga", sizes)
    _refused_without_allocating(GeneticAlgorithm.load, bad, message)


def _npz_with_npy_header(src, dst, name, shape):
    """Copy the .npz ``src`` to ``dst`` with member ``name``'s .npy header declaring ``shape``
    (its data unchanged)."""
    import io
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            raw = zin.read(info)
            if info.filename == name + ".npy":
                fp = io.BytesIO(raw)
                version = np.lib.format.read_magic(fp)
                assert version == (1, 0)
                _, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
                data = raw[fp.tell():]
                out = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    out, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": fortran,
                          "shape": tuple(shape)})
                raw = out.getvalue() + data
            zout.writestr(info.filename, raw)


@pytest.mark.parametrize("shape", [(10**6, 10**6), (10**12,), (7, 43)])
def test_npy_header_claiming_another_shape_is_refused_without_allocating(tmp_path, shape):
    pop = Population.random(SPEC, 6, random_state=1)
    good = pop.save(tmp_path / "p.npz")
    bad = tmp_path / "bad.npz"
    _npz_with_npy_header(good, bad, "genomes", shape)
    message = "member 'genomes.npy' declares shape"
    for load in (load_npz, fileio.read_npz, Population.load, checkpoint.load):
        _refused_without_allocating(load, bad, message)
    net = Network(SPEC, np.zeros(43, np.float32)).save(tmp_path / "net.npz")
    _npz_with_npy_header(net, bad, "W0", shape)
    _refused_without_allocating(Network.load, bad, "member 'W0.npy' declares shape")
    _npz_with_npy_header(good, bad, "genomes", (6, 43))  # untouched: still loads
    np.testing.assert_array_equal(Population.load(bad).genomes, pop.genomes)


def _rezip(src, dst, compression=None, extra=None):
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info), compress_type=compression)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)


def test_npz_members_that_are_not_plain_npy_arrays_are_refused(tmp_path):
    import zipfile

    good = Population.random(SPEC, 6, random_state=1).save(tmp_path / "p.npz")
    bad = tmp_path / "bad.npz"
    _rezip(good, bad, zipfile.ZIP_DEFLATED)  # deflated: read like stored
    np.testing.assert_array_equal(Population.load(bad).genomes, Population.load(good).genomes)
    _rezip(good, bad, zipfile.ZIP_BZIP2)  # no bound on how much it expands
    with pytest.raises(FileFormatError, match="compression method"):
        Population.load(bad)
    _rezip(good, bad, extra={"notes.txt": b"hello"})
    with pytest.raises(FileFormatError, match="'notes.txt' is not a .npy array"):
        Population.load(bad)
    # A member whose central-directory entry claims 4 GB uncompressed.
    data = bytearray(open(good, "rb").read())
    entry = data.find(b"PK\x01\x02")  # central-directory entries: name at +46, size at +24
    while data[entry + 46:entry + 46 + len(b"genomes.npy")] != b"genomes.npy":
        entry = data.find(b"PK\x01\x02", entry + 4)
    data[entry + 24:entry + 28] = (2**32 - 2).to_bytes(4, "little")
    open(bad, "wb").write(bytes(data))
    _refused_without_allocating(Population.load, bad, "claims 4294967294 bytes")


def test_spec_from_a_file_is_capped():
    from fastga import NetworkSpec

    cap = NetworkSpec.MAX_FILE_LAYER_SIZE
    acts = ["relu", "linear"]
    assert NetworkSpec.from_dict({"sizes": [4, cap, 3], "activations": acts}).sizes == (4, cap, 3)
    with pytest.raises(ValueError, match="^spec: a layer of"):
        NetworkSpec.from_dict({"sizes": [4, cap + 1, 3], "activations": acts})
    with pytest.raises(ValueError, match="^spec: .* parameters exceed"):
        NetworkSpec.from_dict({"sizes": [cap, cap, 3], "activations": acts})
    with pytest.raises(ValueError, match="^spec: 'sizes' must be a list of ints"):
        NetworkSpec.from_dict({"sizes": [4, 5.0, 3], "activations": acts})


# ------------------------------------------------------------ checkpoints in run
def test_checkpoint_every_saves_and_a_mid_run_checkpoint_resumes(tmp_path):
    path = tmp_path / "ck.npz"
    seen = {}

    def peek(ga, record):
        gen = int(record["generation"])
        if gen in (4, 7):  # the checkpoint of generation 3, then of 6
            seen[gen] = GeneticAlgorithm.load(path)

    once = _ga().run(_fitness(), 7, callbacks=[peek], checkpoint_every=3, checkpoint_path=path)
    assert seen[4].population_.generation == 3 and seen[7].population_.generation == 6
    assert GeneticAlgorithm.load(path).population_.generation == 7  # and one at the end
    _same_run(seen[4].run(_fitness(), 4), once)


def test_checkpoint_arguments_are_checked():
    with pytest.raises(ValueError, match="^checkpoint_path"):
        _ga().run(_fitness(), 2, checkpoint_every=2)
    with pytest.raises(ValueError, match="^checkpoint_every"):
        _ga().run(_fitness(), 2, checkpoint_every=0, checkpoint_path="x.npz")
    X, y = _data()
    with pytest.raises(ValueError, match="^checkpoint_path"):
        GeneticMLPClassifier(checkpoint_every=2, generations=1, pop_size=4).fit(X, y)


class Interrupting:
    """A fitness that raises KeyboardInterrupt (or sends SIGINT) at one generation."""

    def __init__(self, at, real_signal=False):
        self.inner, self.at, self.real_signal = _fitness(), at, real_signal

    def __call__(self, pop):
        if pop.generation == self.at:
            self.at = None
            if self.real_signal:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1.0)  # the handler raises in here
            raise KeyboardInterrupt
        out = self.inner(pop)
        self.last_stats = self.inner.last_stats
        return out


@pytest.mark.parametrize("real_signal", [False, True])
def test_ctrl_c_saves_a_checkpoint_and_returns_the_best(tmp_path, real_signal):
    path = tmp_path / "ck.npz"
    ga = _ga().run(Interrupting(4, real_signal), 8, checkpoint_path=path)
    assert ga.state_.stopped == "interrupted" and ga.population_.generation == 4
    assert ga.state_.evaluated == 3 and np.isfinite(ga.best_fitness_)
    resumed = GeneticAlgorithm.load(path).run(_fitness(), 4)
    _same_run(resumed, _ga().run(_fitness(), 8))


def test_ctrl_c_without_checkpoint_path_propagates_with_a_consistent_state(tmp_path):
    ga = _ga()
    with pytest.raises(KeyboardInterrupt):
        ga.run(Interrupting(2), 8)
    assert ga.state_.stopped == "interrupted"
    resumed = GeneticAlgorithm.load(ga.save(tmp_path / "g.npz")).run(_fitness(), 6)
    _same_run(resumed, _ga().run(_fitness(), 8))


def test_estimator_ctrl_c_saves_and_fit_goes_on(tmp_path):
    X, y = _data()
    path = tmp_path / "e.npz"
    params = dict(architecture=(6,), pop_size=16, batch_size=20, random_state=0, warm_start=True)
    est = GeneticMLPClassifier(generations=9, checkpoint_path=path, **params)
    def interrupt(ga, record):
        if record["generation"] == 5:
            raise KeyboardInterrupt

    est.fit(X, y, callbacks=[interrupt])
    assert est.ga_.state_.stopped == "interrupted" and est.n_generations_ == 5
    back = GeneticMLPClassifier.load(path)
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    back.set_params(generations=4, checkpoint_path=None).fit(X, y)
    full = GeneticMLPClassifier(generations=9, **params).fit(X, y)
    assert back.history_ == full.history_
    np.testing.assert_array_equal(back.best_network_.genome, full.best_network_.genome)


@pytest.fixture
def sigint_default():
    """Python's own SIGINT handler, whatever the test process inherited: a job started in
    the background of a non-interactive shell starts with SIGINT ignored, and Python then
    leaves it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_interrupts_are_deferred_inside_state_updates(sigint_default):
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with _interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            reached.append(True)  # still runs: the update is all or nothing
    assert reached == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ------------------------------------------------------------- crash mid-write
WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from fastga import Population
    path = sys.argv[1]
    pop = Population(%(spec)r, np.random.default_rng(1).normal(size=(400, %(n)d)).astype(np.float32))
    print("ready", flush=True)
    while True:
        pop.generation += 1
        pop.save(path)
""")


def test_killed_writer_leaves_the_previous_checkpoint_intact(tmp_path):
    spec = [100, 60, 10]
    n = 100 * 60 + 60 + 60 * 10 + 10  # a few MB per checkpoint
    path = tmp_path / "ck.npz"
    first = Population(spec, np.zeros((400, n), np.float32))
    first.save(path)
    script = tmp_path / "writer.py"
    script.write_text(WRITER % {"spec": spec, "n": n})
    killed_mid_write = 0
    for attempt in range(5):
        proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == b"ready"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # wait until a temporary file is being written
                if any(name.startswith(".tmp-") for name in os.listdir(tmp_path)):
                    break
                time.sleep(0.0005)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        leftovers = [nm for nm in os.listdir(tmp_path) if nm.startswith(".tmp-")]
        killed_mid_write += bool(leftovers)
        back = Population.load(path)  # always a whole, valid checkpoint
        assert back.genomes.shape == (400, n)
        if back.generation == 0:
            np.testing.assert_array_equal(back.genomes, first.genomes)
        else:
            np.testing.assert_array_equal(
                back.genomes, np.random.default_rng(1).normal(size=(400, n)).astype(np.float32))
        for nm in leftovers:
            os.unlink(tmp_path / nm)
        if killed_mid_write:
            break
    assert killed_mid_write, "never caught the writer mid-write"


# ------------------------------------------------- the documented NumPy predict
def _standalone_predict_source():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    for doc in (root / "README.md", root / "docs" / "standalone_predict.md"):
        if doc.exists():
            for block in re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S):
                if "def predict(path, X)" in block:
                    return block
    pytest.fail("no standalone `def predict(path, X)` in README.md or docs/standalone_predict.md")


@pytest.mark.parametrize("acts", [["relu", "leaky_relu", "softmax"], ["sigmoid", "tanh", "linear"],
                                  ["leaky_relu", "linear", "sigmoid"]])
def test_documented_standalone_predict_matches_fastga(tmp_path, acts):
    namespace = {}
    exec(compile(_standalone_predict_source(), "standalone_predict", "exec"), namespace)
    rng = np.random.default_rng(0)
    from fastga import NetworkSpec

    spec = NetworkSpec([5, 7, 6, 4], acts)
    net = Network(spec, rng.normal(size=spec.n_params).astype(np.float32))
    X = rng.normal(size=(40, 5)).astype(np.float32) * 4  # large enough to saturate
    got = namespace["predict"](net.save(tmp_path / "net.npz"), X)
    np.testing.assert_allclose(got, net.predict(X), atol=1e-5, rtol=0)


def test_interrupt_while_an_estimator_finishes_still_saves(tmp_path, monkeypatch):
    X, y = _data()
    path = tmp_path / "e.npz"
    est = GeneticMLPClassifier(architecture=(6,), pop_size=16, batch_size=20, random_state=0,
                               generations=2, checkpoint_path=path)
    finish = GeneticMLPClassifier._finish

    def finish_with_ctrl_c(self, *args):
        os.kill(os.getpid(), signal.SIGINT)  # lands while the best network is picked
        time.sleep(0.05)
        return finish(self, *args)

    monkeypatch.setattr(GeneticMLPClassifier, "_finish", finish_with_ctrl_c)
    est.fit(X, y)  # no KeyboardInterrupt escapes: it is recorded, and the run saved
    assert est.ga_.state_.stopped == "interrupted"
    back = GeneticMLPClassifier.load(path)
    assert back.ga_.state_.stopped == "interrupted" and back.n_generations_ == 2
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
