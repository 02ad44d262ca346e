"""Stage `train`: fits a logistic regression on data/prepared/train.csv with the params under `train:`
and exports it to model/model.onnx (plus model/weights.json and model/info.json).

Uses scikit-learn or PyTorch when the machine has them, and the standard library otherwise; the exported
graph is the same linear model either way. Features are standardized during training and the scaling
is folded into the weights, so the ONNX model takes raw features.
"""
import json
import math
import os

from common import FEATURES, ROOT, load_params, read_csv, sigmoid, write_json
from onnx_writer import linear_classifier_onnx

p = load_params("train")
xs, ys = read_csv(os.path.join(ROOT, "data", "prepared", "train.csv"))
n, k = len(xs), len(FEATURES)
mean = [sum(x[j] for x in xs) / n for j in range(k)]
std = [math.sqrt(sum((x[j] - mean[j]) ** 2 for x in xs) / n) or 1.0 for j in range(k)]
zs = [[(x[j] - mean[j]) / std[j] for j in range(k)] for x in xs]
# The training loss of each epoch, for the trainers that expose it (scikit-learn does not).
losses = []


def train_sklearn():
    from sklearn.linear_model import LogisticRegression  # type: ignore

    model = LogisticRegression(C=1.0 / max(p["l2"], 1e-12), max_iter=int(p["epochs"]))
    model.fit(zs, ys)
    return [float(v) for v in model.coef_[0]], float(model.intercept_[0])


def train_torch():
    import torch  # type: ignore

    torch.manual_seed(0)
    x = torch.tensor(zs, dtype=torch.float32)
    y = torch.tensor(ys, dtype=torch.float32).unsqueeze(1)
    layer = torch.nn.Linear(k, 1)
    opt = torch.optim.SGD(layer.parameters(), lr=float(p["lr"]), weight_decay=float(p["l2"]))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(int(p["epochs"])):
        opt.zero_grad()
        loss = loss_fn(layer(x), y)
        losses.append(float(loss))
        loss.backward()
        opt.step()
    return [float(v) for v in layer.weight.detach()[0]], float(layer.bias.detach()[0])


def train_stdlib():
    """Full-batch gradient descent on the L2-regularized log loss."""
    w = [0.0] * k
    b = 0.0
    lr, l2 = float(p["lr"]), float(p["l2"])
    for _ in range(int(p["epochs"])):
        gw = [0.0] * k
        gb = 0.0
        total = 0.0
        for z, y in zip(zs, ys):
            q = sigmoid(sum(wj * zj for wj, zj in zip(w, z)) + b)
            total -= math.log(max(q if y else 1 - q, 1e-12))
            err = q - y
            for j in range(k):
                gw[j] += err * z[j]
            gb += err
        w = [w[j] - lr * (gw[j] / n + l2 * w[j]) for j in range(k)]
        b -= lr * gb / n
        losses.append(total / n)
    return w, b


trainer = "stdlib"
for name, fn in (("scikit-learn", train_sklearn), ("pytorch", train_torch)):
    try:
        w_std, b_std = fn()
        trainer = name
        break
    except ImportError:
        continue
else:
    w_std, b_std = train_stdlib()

# Fold the standardization into the model: w.(x-mean)/std + b == (w/std).x + (b - sum(w*mean/std)).
weights = [w_std[j] / std[j] for j in range(k)]
bias = b_std - sum(w_std[j] * mean[j] / std[j] for j in range(k))

out = os.path.join(ROOT, "model")
os.makedirs(out, exist_ok=True)
onnx = linear_classifier_onnx(weights, bias, FEATURES, doc=f"logistic regression trained with {trainer}")
with open(os.path.join(out, "model.onnx"), "wb") as f:
    f.write(onnx)
write_json(os.path.join(out, "weights.json"), {"features": FEATURES, "weights": weights, "bias": bias})
write_json(os.path.join(out, "info.json"), {"trainer": trainer, "rows": n, "params": p})

train_acc = sum((sigmoid(sum(wj * xj for wj, xj in zip(weights, x)) + bias) >= 0.5) == bool(y) for x, y in zip(xs, ys)) / n
# Step metrics go to $MLO_METRICS_FILE (set by experiment tracking) as one JSON object per line:
# {"step": N, "<metric>": value, ...}; every key but `step` and `timestamp` is a metric (docs/tracking.md).
# Here, one point per epoch of the training loss, and the final training accuracy. Names differ from
# metrics.json's (evaluate writes `accuracy`), so the series and the final values stay apart.
series = os.environ.get("MLO_METRICS_FILE")
if series:
    with open(series, "a", encoding="utf-8") as f:
        for step, loss in enumerate(losses):
            f.write(json.dumps({"step": step, "train_loss": round(loss, 6)}) + "\n")
        f.write(json.dumps({"step": len(losses), "train_accuracy": round(train_acc, 6)}) + "\n")
print(f"trained with {trainer} on {n} rows: train accuracy {train_acc:.3f}; wrote model/model.onnx ({len(onnx)} bytes)")
