"""What every peer serves: the bake's input class and its own model module, read from the environment.

bench/run.py starts each peer from this folder with the bake on PYTHONPATH and sets BENCH_INPUT
(the single route's body class, `module:qualname`, as bench/ceiling_app.py finds it), BENCH_PATH
(the single route) and MODEL_PATH (the .onnx file). The peers load and call the model with the
bake's own `load` and `predict`, so each does exactly the service's model work, on one thread.
"""

import importlib
import os
from pathlib import Path

_module_name, _, _class_name = os.environ["BENCH_INPUT"].partition(":")
Input = getattr(importlib.import_module(_module_name), _class_name)  # the bake's contract class
PATH = os.environ["BENCH_PATH"]
_model_module = importlib.import_module(_module_name.rpartition(".")[0] + ".model")


def load_model():
    """The bake's LoadedModel: `.predict(list of Input) -> list of answers`, one ONNX Runtime thread."""
    return _model_module.load(Path(os.environ["MODEL_PATH"]), 1)
