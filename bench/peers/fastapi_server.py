"""The peer for bench/serve.mjs: the usual Python way to serve an ONNX model.

FastAPI + uvicorn (uvloop and httptools when installed) + onnxruntime, one worker, speaking the same
MLflow-style payload as `mlo serve`: POST /invocations {"inputs": [[...], ...]} -> {"predictions": ...}.

Usage: python fastapi_server.py MODEL.onnx PORT [--fast]
  --fast  uvicorn on uvloop + httptools (uvicorn[standard]); without it, uvicorn's defaults when those
          extras are absent (asyncio + h11), which is what `pip install fastapi uvicorn` gives.
"""
import sys

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, HTTPException, Request

model_path, port = sys.argv[1], int(sys.argv[2])
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name

app = FastAPI()


@app.get("/ping")
def ping() -> dict:
    return {"status": "ok"}


@app.post("/invocations")
async def invocations(request: Request) -> dict:
    body = await request.json()
    try:
        x = np.asarray(body["inputs"], dtype=np.float32)
    except (KeyError, ValueError, TypeError) as err:
        raise HTTPException(status_code=400, detail=str(err)) from err
    (y,) = session.run(None, {input_name: x})
    return {"predictions": y.tolist()}


if __name__ == "__main__":
    fast = "--fast" in sys.argv[3:]
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop" if fast else "asyncio",
        http="httptools" if fast else "h11",
    )
