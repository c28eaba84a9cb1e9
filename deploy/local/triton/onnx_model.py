"""Triton Python-backend model that runs an ONNX file with the onnxruntime wheel.

The Triton server of PyPI's nvidia-pytriton ships only the Python backend (no
backends/onnxruntime), so deploy/local/triton.sh serves each ONNX model of the
repository through this file: prepare_repo.py writes <model>/<version>/model.py
(a copy of this file) beside a link to the model's ONNX file and turns the
model's config.pbtxt into a Python-backend one (same name, inputs, outputs,
max_batch_size). Inference is real: onnxruntime's CPU execution provider on
the same ONNX graph the embedded backend (inference/ort) runs.

Model parameters (config.pbtxt `parameters`, string values):
  onnx_file      file name of the graph in the version directory (model.onnx)
  intra_threads  onnxruntime intra-op threads (0: onnxruntime's default)
"""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


def _param(cfg, key, default):
    value = cfg.get("parameters", {}).get(key, {}).get("string_value", "")
    return value if value != "" else default


class TritonPythonModel:
    def initialize(self, args):
        cfg = json.loads(args["model_config"])
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        path = os.path.join(version_dir, _param(cfg, "onnx_file", "model.onnx"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(_param(cfg, "intra_threads", "0"))
        self.session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
        self.inputs = [(i["name"], pb_utils.triton_string_to_numpy(i["data_type"])) for i in cfg["input"]]
        self.outputs = [o["name"] for o in cfg["output"]]
        self.batching = int(cfg.get("max_batch_size", 0)) > 0

    def _run(self, feeds):
        return self.session.run(self.outputs, feeds)

    def execute(self, requests):
        # With max_batch_size > 0 Triton's dynamic batcher may hand several
        # requests at once: they are concatenated along the batch dimension,
        # run once and split again. Without batching each request runs alone.
        if self.batching and len(requests) > 1:
            try:
                return self._execute_batched(requests)
            except Exception:  # fall back to one run per request (errors per request)
                pass
        responses = []
        for request in requests:
            try:
                feeds = {}
                for name, dtype in self.inputs:
                    tensor = pb_utils.get_input_tensor_by_name(request, name)
                    if tensor is None:
                        raise ValueError("missing input %r" % name)
                    feeds[name] = tensor.as_numpy().astype(dtype, copy=False)
                outs = self._run(feeds)
                responses.append(pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor(n, np.ascontiguousarray(o)) for n, o in zip(self.outputs, outs)]))
            except Exception as exc:  # reported to the client as the request's error
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(str(exc))))
        return responses

    def _execute_batched(self, requests):
        sizes = []
        feeds = {}
        for name, dtype in self.inputs:
            parts = [pb_utils.get_input_tensor_by_name(r, name).as_numpy().astype(dtype, copy=False) for r in requests]
            feeds[name] = np.concatenate(parts, axis=0)
            if not sizes:
                sizes = [p.shape[0] for p in parts]
        outs = self._run(feeds)
        responses = []
        start = 0
        for size in sizes:
            responses.append(pb_utils.InferenceResponse(
                output_tensors=[pb_utils.Tensor(n, np.ascontiguousarray(o[start:start + size])) for n, o in zip(self.outputs, outs)]))
            start += size
        return responses

    def finalize(self):
        self.session = None
