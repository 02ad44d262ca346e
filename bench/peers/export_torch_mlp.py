"""Exports a small tabular MLP from PyTorch to ONNX with a symbolic batch dimension.

Usage: python export_torch_mlp.py OUT.onnx [--features 16] [--hidden 64] [--classes 2] [--predict X.csv]
  --predict  also write OUT.onnx.expected.json: PyTorch's own outputs for the rows of X.csv (no header),
             so tests can check onnxruntime-node against the framework that trained the model.
Used by bench/serve.mjs and by the end-to-end tests (test/model/torch.test.ts).
"""
import argparse

import torch
from torch import nn


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--features", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--predict")
    args = ap.parse_args()

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(args.features, args.hidden),
        nn.ReLU(),
        nn.Linear(args.hidden, args.hidden),
        nn.ReLU(),
        nn.Linear(args.hidden, args.classes),
        nn.Softmax(dim=1),
    ).eval()
    example = torch.randn(4, args.features)
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    torch.onnx.export(
        model,
        (example,),
        args.out,
        input_names=["features"],
        output_names=["probabilities"],
        dynamic_shapes=({0: batch},),
        dynamo=True,
        external_data=False,
    )
    if args.predict:
        import json

        with open(args.predict) as f:
            rows = [[float(v) for v in line.split(",")] for line in f if line.strip()]
        with torch.no_grad():
            out = model(torch.tensor(rows, dtype=torch.float32)).tolist()
        with open(args.out + ".expected.json", "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
