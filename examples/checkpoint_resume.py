"""Stop a run, go on later, and use the evolved network elsewhere.

1. Evolve a GeneticMLPClassifier on digits for half the generations, with a
   checkpoint every few generations (Ctrl-C at any moment would also save one).
2. Load the checkpoint (as a new process would) and evolve the other half.
3. Check the result is bit-identical to one run without a stop.
4. Export the best network: .npz (read back with NumPy alone), and ONNX when
   the ``onnx`` extra is installed.

Run: ``python examples/checkpoint_resume.py [--small] [--out DIR]``.
"""

import argparse
import os

import numpy as np

from fastga import GeneticMLPClassifier
from fastga.datasets import load_digits_split


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny run (seconds)")
    parser.add_argument("--out", default="fastga-out")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "checkpoint_resume.npz")
    half = 4 if args.small else 40
    params = dict(architecture=(16,) if args.small else (32,), pop_size=30 if args.small else 300,
                  random_state=0)
    X_tr, X_te, y_tr, y_te = load_digits_split()

    clf = GeneticMLPClassifier(generations=half, warm_start=True, checkpoint_every=2,
                               checkpoint_path=ckpt, **params)
    clf.fit(X_tr, y_tr)
    print(f"first half: {clf.n_generations_} generations, test accuracy {clf.score(X_te, y_te):.4f}, "
          f"checkpoint {ckpt} ({os.path.getsize(ckpt)} bytes)")

    resumed = GeneticMLPClassifier.load(ckpt)  # settings, population, RNG counters, history
    resumed.set_params(checkpoint_path=None, checkpoint_every=None)
    resumed.fit(X_tr, y_tr)  # warm_start=True: `half` more generations
    print(f"resumed: {resumed.n_generations_} generations, test accuracy {resumed.score(X_te, y_te):.4f}")

    straight = GeneticMLPClassifier(generations=2 * half, **params).fit(X_tr, y_tr)
    same = (resumed.history_ == straight.history_
            and np.array_equal(resumed.best_network_.genome, straight.best_network_.genome))
    print(f"bit-identical to {2 * half} generations without a stop: {same}")
    if not same:
        raise SystemExit("resume was not bit-identical")

    net_path = resumed.best_network_.save(os.path.join(args.out, "checkpoint_resume_best.npz"))
    with np.load(net_path, allow_pickle=False) as f:  # NumPy alone: see the README
        print(f"saved {net_path}: arrays {sorted(k for k in f.files if k != '__header__')}")
    try:
        import onnxruntime as ort

        from fastga import to_onnx
    except ImportError:
        print("(onnx extra not installed: no ONNX export)")
        return
    onnx_path = os.path.join(args.out, "checkpoint_resume_best.onnx")
    to_onnx(resumed, onnx_path)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    probs = sess.run(None, {"input": X_te.astype(np.float32)})[0]
    diff = float(np.abs(probs - resumed.predict_proba(X_te)).max())
    print(f"saved {onnx_path}: onnxruntime test accuracy {(probs.argmax(1) == y_te).mean():.4f}, "
          f"max |onnx - fastga| = {diff:.2e}")


if __name__ == "__main__":
    main()
