"""Stage `evaluate`: scores the exported model on data/prepared/test.csv and writes metrics.json and the
ROC curve (eval/roc.csv). Runs the ONNX file with onnxruntime when it is installed; otherwise applies
the same linear model from model/weights.json."""
import math
import os

from common import ROOT, load_params, read_csv, sigmoid, write_csv, write_json

p = load_params("evaluate")
xs, ys = read_csv(os.path.join(ROOT, "data", "prepared", "test.csv"))

try:
    import numpy as np  # type: ignore
    import onnxruntime as ort  # type: ignore

    session = ort.InferenceSession(os.path.join(ROOT, "model", "model.onnx"))
    probs = [float(v) for v in session.run(["probability"], {"input": np.array(xs, dtype=np.float32)})[0][:, 0]]
    engine = "onnxruntime"
except ImportError:
    import json

    with open(os.path.join(ROOT, "model", "weights.json"), encoding="utf-8") as f:
        m = json.load(f)
    probs = [sigmoid(sum(w * x for w, x in zip(m["weights"], row)) + m["bias"]) for row in xs]
    engine = "python"

t = float(p["threshold"])
tp = sum(1 for q, y in zip(probs, ys) if q >= t and y == 1)
fp = sum(1 for q, y in zip(probs, ys) if q >= t and y == 0)
fn = sum(1 for q, y in zip(probs, ys) if q < t and y == 1)
tn = len(ys) - tp - fp - fn
precision = tp / (tp + fp) if tp + fp else 0.0
recall = tp / (tp + fn) if tp + fn else 0.0
eps = 1e-12
log_loss = -sum(y * math.log(max(q, eps)) + (1 - y) * math.log(max(1 - q, eps)) for q, y in zip(probs, ys)) / len(ys)

# ROC curve and AUC (trapezoids over thresholds from high to low).
order = sorted(zip(probs, ys), key=lambda r: -r[0])
pos = sum(ys)
neg = len(ys) - pos
roc = [(0.0, 0.0)]
tps = fps = 0
for q, y in order:
    tps += y
    fps += 1 - y
    roc.append((fps / neg, tps / pos))
auc = sum((x2 - x1) * (y1 + y2) / 2 for (x1, y1), (x2, y2) in zip(roc, roc[1:]))

metrics = {
    "accuracy": round((tp + tn) / len(ys), 6),
    "precision": round(precision, 6),
    "recall": round(recall, 6),
    "f1": round(2 * precision * recall / (precision + recall), 6) if precision + recall else 0.0,
    "auc": round(auc, 6),
    "log_loss": round(log_loss, 6),
    "test_rows": len(ys),
}
write_json(os.path.join(ROOT, "metrics.json"), metrics)
step = max(1, len(roc) // 50)
write_csv(os.path.join(ROOT, "eval", "roc.csv"), ["fpr", "tpr"], [(round(a, 4), round(b, 4)) for a, b in roc[::step] + [roc[-1]]])
print(f"scored {len(ys)} rows with {engine}: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))
