"""Stage `prepare`: generates a noisy tabular dataset (seeded, so the output is byte-identical on every
machine), cleans it (drops rows with missing values, clips outliers, removes duplicates) and splits it
into data/prepared/{train,test}.csv."""
import os
import random

from common import FEATURES, ROOT, load_params, sigmoid, write_csv

p = load_params("prepare")
rng = random.Random(p["seed"])
true_w = [1.5, -2.0, 0.7, 0.0]
true_b = 0.3

raw = []
for i in range(p["samples"]):
    x = [rng.gauss(0.0, 1.0) for _ in FEATURES]
    z = sum(w * v for w, v in zip(true_w, x)) + true_b + rng.gauss(0.0, p["noise"])
    label = 1 if rng.random() < sigmoid(3.0 * z) else 0
    row = [round(v, 6) for v in x] + [label]
    if rng.random() < 0.02:
        row[rng.randrange(len(FEATURES))] = ""  # a missing value
    if rng.random() < 0.01:
        raw.append(list(row))  # a duplicated record
    raw.append(row)

seen = set()
clean = []
for row in raw:
    if "" in row:
        continue
    key = tuple(row)
    if key in seen:
        continue
    seen.add(key)
    clean.append([max(-4.0, min(4.0, v)) for v in row[:-1]] + [row[-1]])

rng.shuffle(clean)
n_test = int(len(clean) * p["test_ratio"])
out = os.path.join(ROOT, "data", "prepared")
write_csv(os.path.join(out, "test.csv"), FEATURES + ["label"], clean[:n_test])
write_csv(os.path.join(out, "train.csv"), FEATURES + ["label"], clean[n_test:])
print(f"{len(raw)} raw rows -> {len(clean)} clean rows: {len(clean) - n_test} train, {n_test} test")
