"""Check that the CloudFormation templates and parameter files fit together.

    ecs-model-tools cross-stack

What no single-template linter sees:
- every nested stack the root stack wires (TemplateURL: ./x.yaml) exists, gets only
  parameters it declares and every parameter it has no default for;
- every `!GetAtt Child.Outputs.X` names an output the child declares;
- every Fn::ImportValue names an export of another template in infra/, no export name
  is declared twice, and no export's value comes from a parameter (parameters are what
  users tune, and AWS refuses to change an export another stack imports);
- the environment's exports (infra/environment/environment.yaml) are its versioned
  contract, <EnvironmentPrefix>-<EnvironmentName>:<CONTRACT>:<OutputName>, and this model's
  stacks import nothing of the environment but those (check_contract);
- every key of infra/params/<env>.json is a parameter of its template, with an allowed
  value (AllowedValues, AllowedPattern, MinValue/MaxValue), and together with what the
  deploy scripts pass, every required parameter is set (parameter_problems, which
  stack_params.py runs again with the scripts' values before every deploy);
- Prefix, the project name, has one AllowedPattern in every stack a script deploys
  (bootstrap, root, api); nested stacks take it from the root without checking it again;
- a value both stacks take as a parameter (SHARED_PARAMETERS; never an export, which AWS
  refuses to change while another stack imports it) is the same in both sections;
- no resource can turn a failed first create or a dev teardown into ROLLBACK_FAILED or
  DELETE_FAILED (check_deletion): no load balancer deletion protection, S3 buckets
  retained (CloudFormation cannot delete one that holds objects), a retained resource
  without a fixed name (the next create would collide with it), dev repositories emptied
  on delete.
Export and import names are compared as written: `!Sub ${Prefix}-${EnvironmentName}-Name`.
"""

import json
import re
from pathlib import Path

import yaml

ROOT = Path.cwd()  # the project's root: make, the pipeline and the bake run every command there
INFRA = ROOT / "infra"
# infrastructure "own": this repository deploys the environment too; "shared": only its model
# (infra/environment/ is then the stand-in `make rehearse` deploys, and the contract's reference).
# (Outside a project, as when a test imports only load(), "own".)
OWN_ENVIRONMENT = (
    json.loads((ROOT / "project.json").read_text() if (ROOT / "project.json").is_file() else "{}").get(
        "infrastructure", "own"
    )
    == "own"
)
ENVIRONMENT = "environment/environment.yaml"  # the environment's root stack, relative to infra/
# The version in the environment's export names; a model imports only <env>-<ENV>:v1:<Name>.
CONTRACT = "v1"
CONTRACT_EXPORT = "${EnvironmentPrefix}-${EnvironmentName}:" + CONTRACT + ":"
# Sections of a parameter file -> (template, parameters the deploy scripts pass themselves).
PARAMETER_FILES = {
    **({"environment": (ENVIRONMENT, {"EnvironmentPrefix", "EnvironmentName"})} if OWN_ENVIRONMENT else {}),
    "infra": (
        "root.yaml",
        {
            "Prefix",
            "EnvironmentName",
            "EnvironmentPrefix",
            "ListenerRulePriority",
            "TestListenerRulePriority",
            "ProductionAccount",
        },
    ),
    "api": ("api.yaml", {"Prefix", "EnvironmentName", "EnvironmentPrefix", "ImageTag"}),
}
# Values users tune that both stacks need: each is a parameter of both templates, set in
# both sections of every parameter file, and the two values must be equal.
SHARED_PARAMETERS = ["LatencyAlarmMs"]
# Parameters that only name things: fixed for a stack's life, so exports may use them
# (HostedZoneName: each host-routed model's rule is <model>.<zone>; renaming the zone is a
# new environment).
NAMING = {"Prefix", "EnvironmentName", "EnvironmentPrefix", "HostedZoneName"}


class TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser: 10x faster
    """Reads short-form tags as their long form: !Ref X -> {"Ref": "X"}, !GetAtt A.B -> {"Fn::GetAtt": ["A", "B"]}."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


TemplateLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=TemplateLoader) or {}  # noqa: S506 (a SafeLoader subclass)


def walk(node, key: str):
    """Every value stored under `key` anywhere in a template."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            yield from walk(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, key)


def name_of(value) -> str | None:
    """An export or import name as written: a plain string or a Fn::Sub string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return value["Fn::Sub"]
    return None


def check_nested_stacks(root_path: Path, root: dict) -> list[str]:
    problems = []
    children = {}
    for name, resource in root.get("Resources", {}).items():
        if resource.get("Type") != "AWS::CloudFormation::Stack":
            continue
        url = resource.get("Properties", {}).get("TemplateURL", "")
        if not isinstance(url, str) or not url.startswith("./"):
            problems.append(f"{root_path.name}: {name}: TemplateURL should be a local ./file.yaml, not {url!r}")
            continue
        child_path = root_path.parent / url
        if not child_path.is_file():
            problems.append(f"{root_path.name}: {name}: {url} does not exist")
            continue
        child = children[name] = load(child_path)
        declared = child.get("Parameters", {})
        passed = resource.get("Properties", {}).get("Parameters", {})
        for key in sorted(set(passed) - set(declared)):
            problems.append(f"{root_path.name}: {name} passes {key}, which {url} does not declare")
        for key in sorted(k for k, v in declared.items() if "Default" not in v and k not in passed):
            problems.append(f"{root_path.name}: {name} does not pass {key}, which {url} requires")
    targets = [t for t in walk(root, "Fn::GetAtt") if isinstance(t, list) and len(t) == 2]
    for sub in walk(root, "Fn::Sub"):  # "${Stack.Outputs.X}" inside a !Sub string
        text = sub[0] if isinstance(sub, list) else sub
        targets += [[s, f"Outputs.{o}"] for s, o in re.findall(r"\$\{(\w+)\.Outputs\.(\w+)\}", str(text))]
    for target in targets:
        if str(target[1]).startswith("Outputs."):
            stack, output = target[0], target[1].removeprefix("Outputs.")
            if stack not in children:
                problems.append(f"{root_path.name}: GetAtt {stack}.Outputs.{output}: {stack} is not a nested stack")
            elif output not in children[stack].get("Outputs", {}):
                problems.append(f"{root_path.name}: GetAtt {stack}.Outputs.{output}: no such output in that template")
    return problems


def check_imports(templates: dict[str, dict]) -> tuple[list[str], int]:
    problems = []
    exports: dict[str, str] = {}
    for file, template in templates.items():
        for output in template.get("Outputs", {}).values():
            if "Export" not in output:
                continue
            name = name_of(output["Export"].get("Name"))
            tuned = sorted(set(walk(output.get("Value"), "Ref")) & set(template.get("Parameters", {})) - NAMING)
            if tuned:
                problems.append(
                    f"{file}: export {name} comes from the parameter {', '.join(tuned)}; AWS refuses to "
                    "change an export another stack imports, so pass the value to both stacks as a "
                    "parameter instead (SHARED_PARAMETERS)"
                )
            if name is None:
                problems.append(f"{file}: an export name is not a string or !Sub string: {output['Export']}")
            elif name in exports:
                problems.append(f"{file}: export {name} is also declared in {exports[name]}")
            else:
                exports[name] = file
    imports = 0
    for file, template in templates.items():
        for value in walk(template, "Fn::ImportValue"):
            imports += 1
            name = name_of(value)
            if name is None:
                problems.append(f"{file}: cannot read the import name {value}")
            elif exports.get(name, file) == file:
                problems.append(f"{file}: imports {name}, which no other template in infra/ exports")
    return problems, imports


def check_contract(templates: dict[str, dict]) -> list[str]:
    """The environment exports only contract names; a model's stacks import of the environment only those."""
    if ENVIRONMENT not in templates:
        return [f"infra/{ENVIRONMENT} does not exist: the environment's contract is read from it"]
    problems = []
    contract = set()
    for key, output in templates[ENVIRONMENT].get("Outputs", {}).items():
        if "Export" in output:
            name = name_of(output["Export"].get("Name"))
            if name != CONTRACT_EXPORT + key:
                problems.append(f"infra/{ENVIRONMENT}: export of {key} must be named {CONTRACT_EXPORT}{key}")
            contract.add(name)
    outputs = templates["root.yaml"].get("Outputs", {}).values()
    own = {name_of(output["Export"].get("Name")) for output in outputs if "Export" in output}
    for file, template in templates.items():
        if file.startswith("environment/"):
            continue
        for value in walk(template, "Fn::ImportValue"):
            name = name_of(value)
            if name in own or name in contract:
                continue
            problems.append(
                f"{file}: imports {name}, which is neither this model's (root.yaml) nor in the environment's "
                f"contract ({CONTRACT_EXPORT}<Name>, exported by infra/{ENVIRONMENT})"
            )
    return problems


def as_text(value) -> str:
    """A parameter value as CloudFormation receives it (JSON true -> "true")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def refusals(spec: dict, value: str) -> list[str]:
    """What a parameter's declaration (AllowedValues, AllowedPattern, MinValue/MaxValue) refuses in value."""
    allowed = [as_text(v) for v in spec.get("AllowedValues", [])]
    pattern = spec.get("AllowedPattern")
    if allowed and value not in allowed:
        return [f"allows {allowed}"]
    if pattern and not re.fullmatch(pattern, value):
        return [f"wants {pattern}"]
    if spec.get("Type") != "Number":
        return []
    try:
        number = float(value)
    except ValueError:
        return ["wants a number"]
    found = []
    if "MinValue" in spec and number < float(spec["MinValue"]):
        found.append(f"wants at least {spec['MinValue']}")
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        found.append(f"wants at most {spec['MaxValue']}")
    return found


def parameter_problems(where: str, template: str, declared: dict, values: dict, passed: dict) -> list[str]:
    """What the parameters of `template` refuse in `values`, one section of a parameter file (`where`), and
    in `passed`, what the deploy scripts pass (a value None: known only when they deploy). Run by
    `make validate` for every parameter file and by stack_params.py before every deploy."""
    problems = []
    for key, value in values.items():
        if key not in declared:
            problems.append(f"{where}.{key} is not a parameter of {template}")
        elif key in passed:
            problems.append(f"{where}.{key} is passed by the deploy scripts; remove it here")
        else:
            problems += [
                f"{where}.{key} is {as_text(value)!r}; {template} {why}"
                for why in refusals(declared[key], as_text(value))
            ]
    for key, value in passed.items():
        if key not in declared:
            problems.append(f"{key} (from the deploy script) is not a parameter of {template}")
        elif value is not None:
            problems += [
                f"{key} is {value!r} (from the deploy script); {template} {why}"
                for why in refusals(declared[key], value)
            ]
    for key in sorted(k for k, v in declared.items() if "Default" not in v and k not in values and k not in passed):
        problems.append(f"{where} has no value for {key}, which {template} requires")
    return problems


def check_parameter_files(templates: dict[str, dict]) -> tuple[list[str], int]:
    problems = []
    keys = 0
    for path in sorted((INFRA / "params").glob("*.json")):
        rel = path.relative_to(ROOT)
        try:
            sections = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            problems.append(f"{rel}: not JSON: {error}")
            continue
        if not isinstance(sections, dict) or set(sections) != set(PARAMETER_FILES):
            problems.append(f"{rel}: must be an object with exactly the keys {sorted(PARAMETER_FILES)}")
            continue
        for section, (file, from_scripts) in PARAMETER_FILES.items():
            declared = templates.get(file, {}).get("Parameters", {})
            keys += len(sections[section])
            passed = dict.fromkeys(from_scripts)
            problems += parameter_problems(f"{rel}: {section}", f"infra/{file}", declared, sections[section], passed)
        for key in SHARED_PARAMETERS:
            found = {section: sections[section].get(key) for section in ("infra", "api")}
            if len({str(value) for value in found.values()}) != 1:
                problems.append(
                    f"{rel}: {key} must be the same in every section (both stacks use it), got "
                    + ", ".join(f"{section} {value!r}" for section, value in found.items())
                )
    return problems, keys


# The property that fixes a resource's name: a retained resource that has one blocks the
# next create of its stack ("already exists").
NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::ECS::Cluster": "ClusterName",
}
RETAINED = {"Retain", "RetainExceptOnCreate"}


def check_deletion(templates: dict[str, dict]) -> list[str]:
    problems = []
    for file, template in templates.items():
        resources = template.get("Resources", {})
        logged_to = set()  # buckets a load balancer writes to as soon as it exists
        for name, resource in resources.items():
            if resource.get("Type") != "AWS::ElasticLoadBalancingV2::LoadBalancer":
                continue
            listed = resource.get("Properties", {}).get("LoadBalancerAttributes", [])
            attributes = {a.get("Key"): a.get("Value") for a in listed}
            if attributes.get("deletion_protection.enabled", "false") != "false":
                problems.append(
                    f"{file}: {name} has deletion protection, which turns a failed first create into "
                    "ROLLBACK_FAILED; production's stacks get termination protection instead (scripts/lib.sh)"
                )
            bucket = attributes.get("access_logs.s3.bucket")
            if isinstance(bucket, dict) and "Ref" in bucket:
                logged_to.add(bucket["Ref"])
        for name, resource in resources.items():
            kind, policy = resource.get("Type"), resource.get("DeletionPolicy", "Delete")
            properties = resource.get("Properties", {})
            if kind == "AWS::S3::Bucket" and policy not in RETAINED:
                problems.append(
                    f"{file}: {name}: a bucket needs DeletionPolicy Retain or RetainExceptOnCreate; "
                    "CloudFormation cannot delete a bucket that holds objects (DELETE_FAILED)"
                )
            if name in logged_to and policy != "Retain":
                problems.append(
                    f"{file}: {name} receives load balancer logs from its first minute, so even a failed "
                    "first create cannot delete it: it needs DeletionPolicy Retain"
                )
            if policy == "Retain" and NAME_PROPERTIES.get(kind, "") in properties:
                problems.append(
                    f"{file}: {name} is retained on delete but has a fixed {NAME_PROPERTIES[kind]}: the next "
                    "create of the stack would fail because it already exists"
                )
            empty = properties.get("EmptyOnDelete")
            dev_empties = empty is True or (
                isinstance(empty, dict) and empty.get("Fn::If", [None, None, None])[0::2] == ["IsProduction", True]
            )
            if kind == "AWS::ECR::Repository" and not dev_empties:
                problems.append(
                    f"{file}: {name}: EmptyOnDelete must be true in dev (!If [IsProduction, false, true]); "
                    "a repository that holds images cannot be deleted (DELETE_FAILED)"
                )
    return problems


def check_prefix_rule(templates: dict[str, dict]) -> list[str]:
    """The project name's rule (Prefix's AllowedPattern) is written in each stack a script deploys,
    the same in each; nested stacks take Prefix from the root stack, which has checked it."""
    deployed = ["bootstrap.yaml", "root.yaml", "api.yaml"]
    rules = {file: templates[file]["Parameters"]["Prefix"].get("AllowedPattern") for file in deployed}
    if None in rules.values() or len(set(rules.values())) != 1:
        return [f"Prefix must have the same AllowedPattern in {', '.join(deployed)}: got {rules}"]
    naming = [ENVIRONMENT, "root.yaml", "api.yaml"]
    rules = {file: templates[file]["Parameters"]["EnvironmentPrefix"].get("AllowedPattern") for file in naming}
    if None in rules.values() or len(set(rules.values())) != 1:
        return [f"EnvironmentPrefix must have the same AllowedPattern in {', '.join(naming)}: got {rules}"]
    return []


def problems() -> tuple[list[str], str]:
    """All problems found, and a one-line summary of what was checked."""
    if not (INFRA / "root.yaml").is_file():
        return ["infra/root.yaml does not exist"], ""
    templates = {path.name: load(path) for path in sorted(INFRA.glob("*.yaml"))}
    templates |= {f"environment/{path.name}": load(path) for path in sorted(INFRA.glob("environment/*.yaml"))}
    if ENVIRONMENT not in templates:
        return [f"infra/{ENVIRONMENT} does not exist"], ""
    found = check_nested_stacks(INFRA / "root.yaml", templates["root.yaml"])
    found += check_nested_stacks(INFRA / ENVIRONMENT, templates[ENVIRONMENT])
    import_problems, imports = check_imports(templates)
    file_problems, keys = check_parameter_files(templates)
    nested = sum(
        r.get("Type") == "AWS::CloudFormation::Stack"
        for root in ("root.yaml", ENVIRONMENT)
        for r in templates[root]["Resources"].values()
    )
    summary = f"{nested} nested stacks, {imports} imports (contract {CONTRACT}), {keys} parameter file keys"
    found += import_problems + check_contract(templates) + file_problems
    return found + check_prefix_rule(templates) + check_deletion(templates), summary


def main(argv: list[str] | None = None) -> int:
    del argv  # no options
    found, summary = problems()
    for problem in found:
        print(problem)
    print(f"cross-stack: {len(found)} problems ({summary})")
    return 1 if found else 0
