"""Helpers shared by the example stages: params.yaml, CSV files and the sigmoid."""
import csv
import json
import math
import os

ROOT = os.environ.get("MLO_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES = ["f1", "f2", "f3", "f4"]


def _scalar(text):
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip("'\"")


def _mini_yaml(text):
    """Nested `key: value` maps, which is all params.yaml holds here (used when PyYAML is missing)."""
    root = {}
    stack = [(-1, root)]
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if value.strip():
            parent[key] = _scalar(value)
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    return root


def load_params(section):
    with open(os.path.join(ROOT, "params.yaml"), encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml  # type: ignore

        params = yaml.safe_load(text)
    except ImportError:
        params = _mini_yaml(text)
    return params[section]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    xs = [[float(r[k]) for k in FEATURES] for r in rows]
    ys = [int(r["label"]) for r in rows]
    return xs, ys


def write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_json(path, doc):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
