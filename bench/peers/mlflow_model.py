"""MLflow's model server (`mlflow models serve`) on the bake's ONNX model and input class.

`python mlflow_model.py DIR` saves a pyfunc model (this module's `Peer`, a `PythonModel` that
turns each dataframe row into the bake's input class and calls the bake's model) into DIR;
bench/run.py then serves it with `mlflow models serve -m DIR --env-manager local -w 1`
(no conda or virtualenv of MLflow's own: this one is already it). Requests are MLflow's
documented `{"dataframe_records": [...]}` JSON. MLflow's server has no request batching.
"""

import sys

import mlflow.pyfunc


class Peer(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from bake_model import load_model

        self.model = load_model()

    def predict(self, context, model_input, params=None) -> list:  # one answer per row, whatever the task
        from bake_model import Input

        return self.model.predict([Input(**row) for row in model_input.to_dict("records")])


if __name__ == "__main__":
    mlflow.pyfunc.save_model(sys.argv[1], python_model=Peer())
