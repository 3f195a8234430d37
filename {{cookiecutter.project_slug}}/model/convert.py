"""Reading a model trained elsewhere and converting it to ONNX with one named input per column.

A scikit-learn estimator or Pipeline (joblib, pickle or skops; XGBoost and LightGBM through
their scikit-learn API) becomes one ONNX graph, preprocessing included; an ONNX file keeps its
graph, with a column per input in front of a matrix input. Inputs are named as the contract's
fields (`field_name`).
"""

import contextlib
import copy
import keyword
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import skl2onnx
from onnx import helper
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType
from skl2onnx.helpers.onnx_helper import select_model_inputs_outputs
from sklearn.base import BaseEstimator, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

PICKLES = (".joblib", ".pkl", ".pickle")
# skops loads these libraries' types, and the standard library's data containers LightGBM keeps.
TRUSTED_MODULES = ("sklearn.", "xgboost.", "lightgbm.", "numpy.", "scipy.", "collections.OrderedDict")
ONNX_ML_OPSET = 3  # LightGBM's converter needs ai.onnx.ml 3


class ImportRefused(ValueError):
    """Bad input, or a model that cannot be converted: the message says what and what to do."""


def field_name(column: str) -> str:
    """A column's name as a request field: a Python identifier (lowercase is kept as it is)."""
    name = re.sub(r"\W+", "_", str(column).strip()).strip("_") or "column"
    if name[0].isdigit():
        name = "c_" + name
    return name + "_" if keyword.iskeyword(name) or name.startswith("model_") else name


def load(path: Path) -> Any:
    """The model in MODEL: an ONNX ModelProto or a scikit-learn estimator."""
    if not path.is_file():
        raise ImportRefused(f"MODEL {path} does not exist or is not a file.")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        try:
            model = onnx.load(path)
            onnx.checker.check_model(model)
        except Exception as error:  # onnx raises DecodeError, ValidationError, ...
            raise ImportRefused(f"MODEL {path} could not be read as ONNX ({str(error)[:200]}).") from error
        return model
    if suffix == ".skops":
        estimator = load_skops(path)
    elif suffix in PICKLES:
        print(
            f"Loading {path.name} with joblib runs any code the file holds: import only files you trust. "
            "A .skops file (skops.io.dump) loads without running code."
        )
        import joblib

        try:
            estimator = joblib.load(path)
        except Exception as error:  # unpickling raises anything the file's code raises
            raise ImportRefused(f"MODEL {path} could not be read as a joblib or pickle file ({error!r}).") from error
    else:
        raise ImportRefused(f"MODEL {path} is not a model file this command reads: .skops, .joblib, .pkl or .onnx.")
    if not (isinstance(estimator, BaseEstimator) and hasattr(estimator, "predict")):
        raise ImportRefused(
            f"MODEL {path} holds a {type(estimator).__module__}.{type(estimator).__name__}, not a scikit-learn "
            "estimator or Pipeline (XGBoost and LightGBM through their scikit-learn classes)."
        )
    return estimator


def load_skops(path: Path) -> Any:
    """skops refuses types it does not know; those of scikit-learn, XGBoost, LightGBM, NumPy and SciPy are trusted."""
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=path)
        others = [name for name in untrusted if not name.startswith(TRUSTED_MODULES)]
        if others:
            raise ImportRefused(
                f"MODEL {path} holds types skops does not trust and this command will not load: {others}."
            )
        return skops.io.load(path, trusted=untrusted)
    except ImportRefused:
        raise
    except Exception as error:  # a damaged zip, another format
        raise ImportRefused(f"MODEL {path} could not be read as a skops file ({error!r}).") from error


def columns_of(estimator: BaseEstimator, data: pd.DataFrame, target: str) -> list[str]:
    """DATA's columns the estimator takes, in its order: its feature names, or (fitted on a matrix)
    every other column of DATA."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        missing = [name for name in names if name not in data.columns]
        if missing:
            raise ImportRefused(f"The model needs columns that DATA lacks: {missing}. DATA has {list(data.columns)}.")
        return [str(name) for name in names]
    columns = [column for column in data.columns if column != target]
    width = getattr(estimator, "n_features_in_", len(columns))
    if width != len(columns):
        raise ImportRefused(
            f"The model was fitted on a matrix of {width} columns, without column names; DATA has {len(columns)} "
            f"besides TARGET ({columns}). Give DATA exactly the model's columns, in its order."
        )
    return columns


def sklearn_to_onnx(estimator: BaseEstimator, data: pd.DataFrame, columns: list[str]) -> onnx.ModelProto:
    """The whole estimator as one graph, one input per column, the values or the class
    probabilities as its only output. Stops with one paragraph if the converter cannot."""
    register_boosting_converters()
    graph_model = with_column_inputs(estimator, data, columns)
    options = {id(final_step(graph_model)): {"zipmap": False}} if is_classifier(estimator) else None
    error = None
    # Doubles keep scalers exact; tree libraries want floats; an encoder of integers wants integers.
    tries = [(DoubleTensorType, False), (FloatTensorType, False), (DoubleTensorType, True), (FloatTensorType, True)]
    if boosting_library(estimator):  # their trees take float32: fed doubles, they can load and answer otherwise
        tries = [(FloatTensorType, False), (FloatTensorType, True)]
    for numbers, integers in tries:
        inputs = [(column, input_type(data[column], numbers, integers)) for column in columns]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                converted = skl2onnx.to_onnx(
                    graph_model,
                    initial_types=inputs,
                    options=options,
                    target_opset=opsets(estimator),
                )
            if is_classifier(estimator):
                converted = only_output(converted, converted.graph.output[-1].name)
            import onnxruntime  # the model must load there: some converters write doubles a float node refuses

            onnxruntime.InferenceSession(converted.SerializeToString(), providers=["CPUExecutionProvider"])
            return rename_inputs(converted, [field_name(column) for column in columns])
        except Exception as failure:  # converters raise anything, with messages of any length
            error = failure
    raise ImportRefused(cannot_export(estimator, error))


def opsets(estimator: BaseEstimator) -> dict[str, int]:
    """skl2onnx's tested opset; ai.onnx.ml 3 only for LightGBM and XGBoost, which need it. With it,
    scikit-learn's trees would compare doubles with double thresholds, where scikit-learn compares
    float32 values: answers near a split would change."""
    opsets = {"": skl2onnx.get_latest_tested_opset_version()}
    if boosting_library(estimator):
        opsets["ai.onnx.ml"] = ONNX_ML_OPSET
    return opsets


def boosting_library(estimator: BaseEstimator) -> bool:
    return any(type(step).__module__.split(".")[0] in ("lightgbm", "xgboost") for step in steps(estimator))


def input_type(column: pd.Series, numbers: type, integers: bool) -> Any:
    if integers and (pd.api.types.is_bool_dtype(column) or pd.api.types.is_integer_dtype(column)):
        return Int64TensorType([None, 1])
    if pd.api.types.is_numeric_dtype(column):
        return numbers([None, 1])
    return StringTensorType([None, 1])


def final_step(estimator: BaseEstimator) -> BaseEstimator:
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def with_column_inputs(estimator: BaseEstimator, data: pd.DataFrame, columns: list[str]) -> BaseEstimator:
    """A copy the converter can give one input per column: a Pipeline that starts with a
    ColumnTransformer as it is; anything else behind a ColumnTransformer that passes the columns
    through. XGBoost's converter needs feature names f0, f1, ...: the copy forgets its names."""
    estimator = copy.deepcopy(estimator)
    for step in steps(estimator):
        if type(step).__module__.startswith("xgboost") and hasattr(step, "get_booster"):
            step.get_booster().feature_names = None
    first = estimator.steps[0][1] if isinstance(estimator, Pipeline) else estimator
    if isinstance(first, ColumnTransformer):
        return trees_compare_float32(estimator)
    by = columns if hasattr(estimator, "feature_names_in_") else list(range(len(columns)))
    frame = data[columns] if hasattr(estimator, "feature_names_in_") else data[columns].to_numpy()
    passthrough = ColumnTransformer([("columns", "passthrough", by)]).fit(frame)
    return trees_compare_float32(Pipeline([("columns", passthrough), ("model", estimator)]))


def trees_compare_float32(estimator: BaseEstimator) -> BaseEstimator:
    """scikit-learn's trees compare float32 values: in the graph, a Cast to float32 in front of them
    does the same (fed doubles, ONNX Runtime's trees would compare doubles, and answer otherwise
    near a split). The Pipeline's own answers do not change: its trees cast the same way."""
    from skl2onnx.sklapi import CastTransformer

    if not isinstance(estimator, Pipeline) or not type(estimator.steps[-1][1]).__module__.startswith(
        ("sklearn.ensemble", "sklearn.tree")
    ):
        return estimator
    cast = CastTransformer(dtype=np.float32).fit(np.zeros((1, 1)))
    return Pipeline([*estimator.steps[:-1], ("float32", cast), estimator.steps[-1]])


def steps(estimator: BaseEstimator) -> list[BaseEstimator]:
    if isinstance(estimator, Pipeline):
        return [inner for _, step in estimator.steps for inner in steps(step)]
    return [estimator]


def register_boosting_converters() -> None:
    """XGBoost and LightGBM convert through onnxmltools, inside a Pipeline too (skl2onnx's registry)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from xgboost import XGBClassifier, XGBRegressor
    except ImportError:
        pass
    else:
        update_registered_converter(
            XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes, convert_xgboost
        )
        update_registered_converter(
            XGBClassifier,
            "XGBoostXGBClassifier",
            calculate_linear_classifier_output_shapes,
            convert_xgboost,
            options=classifier_options,
        )
    try:
        from lightgbm import LGBMClassifier, LGBMRegressor
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    except ImportError:
        pass
    else:
        update_registered_converter(
            LGBMRegressor,
            "LightGbmLGBMRegressor",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
            options={"split": None},
        )
        update_registered_converter(
            LGBMClassifier,
            "LightGbmLGBMClassifier",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options=classifier_options,
        )


INSTEAD = {
    "HistGradientBoostingRegressor": "GradientBoostingRegressor, or LightGBM's LGBMRegressor (the same kind of model)",
    "HistGradientBoostingClassifier": "GradientBoostingClassifier, or LightGBM's LGBMClassifier (the same kind)",
}


def cannot_export(estimator: BaseEstimator, error: BaseException | None) -> str:
    """One paragraph: which estimator, why (the converter's first line, cut short), what works instead."""
    names = [type(step).__name__ for step in steps(estimator)]
    culprit = next((name for name in names if name in INSTEAD), names[-1])
    why = str(error).strip().splitlines()[0][:160] if error and str(error).strip() else type(error).__name__
    instead = INSTEAD.get(culprit, "an estimator in docs/model.md's table of those that export")
    return (
        f"{culprit} cannot be exported to ONNX with skl2onnx {skl2onnx.__version__} ({type(error).__name__}: {why}). "
        f"What works instead: train {instead} and import it, or convert the model to ONNX yourself and import "
        "the .onnx file (docs/model.md lists the estimators that export)."
    )


def rename_inputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """The graph's inputs renamed, in order, to `names` (the request's fields)."""
    renames = {value.name: name for value, name in zip(model.graph.input, names, strict=True) if value.name != name}
    for value in model.graph.input:
        value.name = renames.get(value.name, value.name)
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renames.get(name, name)
    return model


# ONNX files

ONNX_TYPES = {
    onnx.TensorProto.FLOAT: "float",
    onnx.TensorProto.DOUBLE: "float",
    onnx.TensorProto.INT64: "int",
    onnx.TensorProto.INT32: "int",
    onnx.TensorProto.STRING: "text",
}


def onnx_columns(model: onnx.ModelProto, data: pd.DataFrame, target: str) -> tuple[onnx.ModelProto, list[str]]:
    """DATA's columns that feed the ONNX model and the model with one input per column: a matrix
    input gets a Concat of columns in front (every column of DATA but TARGET, in order)."""
    inputs = list(model.graph.input)
    if len(inputs) == 1 and width(inputs[0]) not in (1, None):
        columns = [column for column in data.columns if column != target]
        if width(inputs[0]) != len(columns):
            raise ImportRefused(
                f"The ONNX model takes one matrix {inputs[0].name!r} of {width(inputs[0])} columns; DATA has "
                f"{len(columns)} besides TARGET ({columns}). Give DATA exactly the model's columns, in its order."
            )
        text = [column for column in columns if not pd.api.types.is_numeric_dtype(data[column])]
        if text:
            raise ImportRefused(f"The ONNX model takes a numeric matrix, but DATA's columns {text} are not numbers.")
        return matrix_from_columns(model, [field_name(column) for column in columns]), columns
    by_field = {field_name(column): column for column in data.columns if column != target}
    columns, unfed = [], []
    for value in inputs:
        column = value.name if value.name in data.columns else by_field.get(field_name(value.name))
        kind = ONNX_TYPES.get(value.type.tensor_type.elem_type)
        if column is None or kind is None or (kind == "text") == pd.api.types.is_numeric_dtype(data[column]):
            unfed.append(f"{value.name} ({onnx.helper.printable_type(value.type)})")
        else:
            columns.append(column)
    if unfed:
        raise ImportRefused(
            f"DATA cannot feed the ONNX model's inputs {unfed}: each needs a column of that name, of numbers for a "
            f"numeric tensor or of text for a string tensor. DATA has {list(data.columns)}."
        )
    return rename_inputs(model, [field_name(column) for column in columns]), columns


def width(value: onnx.ValueInfoProto) -> int | None:
    dims = value.type.tensor_type.shape.dim
    return dims[1].dim_value or None if len(dims) == 2 else 1


def matrix_from_columns(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    [matrix] = model.graph.input
    elem_type = matrix.type.tensor_type.elem_type
    columns = [helper.make_tensor_value_info(name, elem_type, [None, 1]) for name in names]
    concat = helper.make_node("Concat", names, [matrix.name], axis=1, name="columns_to_matrix")
    graph = model.graph
    del graph.input[:]
    graph.input.extend(columns)
    graph.node.insert(0, concat)
    return model


def onnx_probabilities(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str] | None]:
    """A classifier's class probabilities as its only output (as a tensor, not ZipMap's
    dictionaries), and its class labels if the graph names them."""
    labels = None
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in ("classlabels_strings", "classlabels_int64s"):
                labels = [x.decode() if isinstance(x, bytes) else str(x) for x in helper.get_attribute_value(attribute)]
    zipmaps = [node for node in model.graph.node if node.op_type == "ZipMap"]
    tensors = [o.name for o in model.graph.output if o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT]
    probabilities = zipmaps[0].input[0] if zipmaps else (tensors[-1] if tensors else None)
    if probabilities is None:
        raise ImportRefused("The ONNX classifier has no output of class probabilities (a float tensor or a ZipMap).")
    return only_output(model, probabilities), labels


def only_output(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """The graph with `name` as its only output, typed (select_model_inputs_outputs leaves it untyped)."""
    typed = {value.name: value for value in model.graph.output}
    with contextlib.suppress(Exception):  # shape inference is best effort: an untyped output still runs
        typed |= {value.name: value for value in onnx.shape_inference.infer_shapes(model).graph.value_info}
    selected = select_model_inputs_outputs(model, outputs=[name])
    if name in typed:
        selected.graph.output[0].CopyFrom(typed[name])
    return selected


def onnx_task(model: onnx.ModelProto) -> str:
    """classification if the graph answers labels or a probability per class, else regression."""
    for output in model.graph.output:
        tensor = output.type.tensor_type
        if output.type.HasField("sequence_type") or tensor.elem_type in (onnx.TensorProto.STRING,):
            return "classification"
        if tensor.elem_type == onnx.TensorProto.INT64:
            return "classification"
        dims = tensor.shape.dim
        if len(dims) == 2 and dims[1].dim_value > 1:  # a probability per class
            return "classification"
    return "regression"


def feed(columns: list[str], names: list[str], types: list[Any], data: pd.DataFrame) -> dict[str, np.ndarray]:
    """DATA's columns as an ONNX Runtime feed, in the types the model's inputs declare."""
    return {
        name: data[[column]].to_numpy().astype(kind) for column, name, kind in zip(columns, names, types, strict=True)
    }
