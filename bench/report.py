"""Turn a pytest-benchmark JSON file into the markdown results table.

Usage::

    python bench/report.py out.json            # rewrite the table in bench/README.md
    python bench/report.py out.json --print    # print it only
    python bench/report.py a.json b.json       # several runs; a later result replaces an earlier one

Each benchmark of ``bench/`` stores its headline ratio in ``extra_info``
(``metric``, ``value``, ``target``, ``better``; see ``bench/conftest.py``);
the table lists it with the median time of the benchmarked call, and the
machine lines say which BLAS kernel ran (threadpoolctl) and whether
``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` were set.
"""

import argparse
import json
import sys
from pathlib import Path

START = "<!-- results:start -->"
END = "<!-- results:end -->"
README = Path(__file__).with_name("README.md")


def _fmt(x):
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def table(data):
    lines = []
    mi = data.get("machine_info", {})
    cpu = mi.get("cpu", {}).get("brand_raw", mi.get("processor", "?"))
    lines.append(f"Machine: {cpu}, {mi.get('cpu', {}).get('count', '?')} CPUs; "
                 f"Python {mi.get('python_version', '?')}; run {data.get('datetime', '?')}.")
    for pool in mi.get("threadpools", []):
        lines.append(f"Thread pool: {pool.get('internal_api')} {pool.get('version')} "
                     f"({pool.get('architecture')} kernel, {pool.get('num_threads')} threads, "
                     f"{Path(pool.get('filepath', '')).name}).")
    env = mi.get("blas_env", {})
    lines.append("BLAS environment: " + ", ".join(f"{k}={v}" for k, v in env.items()) + ".")
    lines.append(f"Numba threads: {mi.get('numba_threads', '?')}.")
    lines.append("")
    lines.append("| benchmark | median of the benchmarked call | measure | measured | target | met |")
    lines.append("|---|---|---|---|---|---|")
    for b in sorted(data.get("benchmarks", []), key=lambda b: b["fullname"]):
        info = b.get("extra_info", {})
        median = b.get("stats", {}).get("median")
        med = f"{median * 1e3:.1f} ms" if median is not None else "-"
        if "metric" in info:
            v, t, better = info["value"], info["target"], info["better"]
            met = (v >= t) if better == ">=" else (v <= t)
            row = [b["name"], med, info["metric"], _fmt(v), f"{better} {_fmt(t)}", "yes" if met else "**no**"]
        else:
            row = [b["name"], med, "-", "-", "-", "-"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Other figures (extra_info):")
    lines.append("")
    for b in sorted(data.get("benchmarks", []), key=lambda b: b["fullname"]):
        extra = {k: v for k, v in b.get("extra_info", {}).items()
                 if k not in ("metric", "value", "target", "better")}
        if extra:
            lines.append(f"- `{b['name']}`: " + ", ".join(f"{k}={_fmt(v)}" for k, v in extra.items()))
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="file(s) written by pytest --benchmark-json")
    parser.add_argument("--print", action="store_true", help="print the table, leave README.md alone")
    parser.add_argument("--readme", default=str(README))
    args = parser.parse_args(argv)
    data = None
    for path in args.json:
        run = json.loads(Path(path).read_text())
        if data is None:
            data = run
            continue
        names = {b["fullname"] for b in run.get("benchmarks", [])}
        data["benchmarks"] = [b for b in data["benchmarks"] if b["fullname"] not in names] + run["benchmarks"]
    text = table(data)
    if args.print:
        sys.stdout.write(text)
        return 0
    readme = Path(args.readme)
    old = readme.read_text()
    if START not in old or END not in old:
        raise SystemExit(f"{readme}: no {START} ... {END} markers")
    head, rest = old.split(START, 1)
    _, tail = rest.split(END, 1)
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(head + START + "\n" + text + END + tail)
    tmp.replace(readme)
    print(f"wrote {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
