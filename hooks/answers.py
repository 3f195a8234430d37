"""Every answer checked once the last question is answered, before anything is written.

cookiecutter.json's last variable, `__answers_checked`, passes all answers through the
`checked` filter below (loaded as a Jinja extension through `_extensions`). A bad answer
stops cookiecutter with one message that names each field, what it got and what is
allowed, and one command that asks the questions again with the other answers kept.
hooks/pre_gen_project.py runs the same checks for runs that skip the questions (--replay).
"""

import functools
import inspect
import ipaddress
import itertools
import keyword
import re
import sys
import tempfile
import tokenize
import unicodedata
from io import StringIO
from pathlib import Path

import click
import yaml
from jinja2 import TemplateSyntaxError
from jinja2.ext import Extension

TEMPLATE_DIR = Path(__file__).resolve().parent.parent


# Valid Fargate CPU units -> allowed memory (MiB).
FARGATE_MEMORY = {
    "256": [512, 1024, 2048],
    "512": list(range(1024, 4097, 1024)),
    "1024": list(range(2048, 8193, 1024)),
    "2048": list(range(4096, 16385, 1024)),
    "4096": list(range(8192, 30721, 1024)),
}
SLUG_MAX = 24  # "<slug>-prod" and longer derived names stay within AWS's shorter name limits (32 for ALBs)
# The WHATWG HTML form's email address, less the characters the free-text answers refuse.
EMAIL = re.compile(
    r"[a-zA-Z0-9.!#%&'*+/=?^_{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.[a-zA-Z]{2,}"
)
PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
HOST_HEADER_MAX = 128  # a load balancer rule's host-header value (Elastic Load Balancing quotas)
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$")


def width(text: str) -> int:
    """Columns the text takes in an editor (and for ruff's line length): wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def check_text(a):
    """Free text lands in Python, YAML, TOML and shell files: keep it to plain characters."""
    errors = []
    for field, most in (("project_name", 80), ("description", 300), ("author_name", 80)):
        text = a[field]
        if not text.strip() or width(text) > most or not text.isprintable() or any(c in text for c in '"\\`$'):
            errors.append(
                f"{field}: {text!r} must be 1 to {most} printable characters (a wide character such as "
                "\u540d counts as two) without double quotes, backslashes, backticks or dollar signs"
            )
    return errors


# Unquoted, YAML 1.1 reads these as a boolean or null (found by the drawn bakes: project_name NULL).
YAML_WORDS = {"null": "null", "true": "a boolean", "false": "a boolean", "yes": "a boolean", "off": "a boolean"}


def check_names(a):
    errors = []
    slug = a["project_slug"]
    if not re.fullmatch(f"[a-z][a-z0-9-]{{1,{SLUG_MAX - 2}}}[a-z0-9]", slug) or "--" in slug:
        errors.append(
            f"project_slug: {slug!r} is not allowed; use 3 to {SLUG_MAX} lowercase letters, "
            "digits and single hyphens, starting with a letter (for example "
            "'property-valuation-api'); it names every AWS resource"
        )
    if slug in YAML_WORDS:
        errors.append(
            f"project_slug: {slug!r} is read by YAML as {YAML_WORDS[slug]}, not a name (in the compose file "
            "and the stacks' parameters); choose another slug"
        )
    if slug.startswith("internal-"):
        errors.append(
            f"project_slug: {slug!r} must not start with 'internal-': AWS refuses load "
            "balancer names that begin with it, and the slug is the prefix of this project's "
            "resource names; "
            "for example use 'tools-internal' instead of 'internal-tools'"
        )
    package = a["package_name"]
    if (
        not re.fullmatch(r"[a-z][a-z0-9_]{0,29}", package)
        or keyword.iskeyword(package)
        or package in sys.stdlib_module_names
    ):
        errors.append(
            f"package_name: {package!r} is not a usable Python package name; use 1 to 30 lowercase "
            "letters, digits and underscores, starting with a letter, and not a keyword or "
            "a standard-library module"
        )
    elif package in generated_code().folders_and_imports:
        errors.append(
            f"package_name: {package!r} is a folder of the project or a library its code imports; "
            "choose another name (for example the project's name with underscores)"
        )
    if not EMAIL.fullmatch(a["author_email"]):
        errors.append(f"author_email: {a['author_email']!r} is not an email address")
    if a["alarm_email"] and not EMAIL.fullmatch(a["alarm_email"]):
        errors.append(f"alarm_email: {a['alarm_email']!r} is not an email address (leave it empty to subscribe later)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,61}", a["bitbucket_workspace"]):
        errors.append(
            f"bitbucket_workspace: {a['bitbucket_workspace']!r} is not a workspace id; use "
            "the lowercase name from bitbucket.org/<workspace>"
        )
    return errors


# Names the service already uses for its other routes, fields and metrics.
TAKEN = {
    "model",
    "health_check",
    "docs",
    "redoc",
    "openapi",
    "requests",
    "responses",
    "probabilities",
    "batch",
    "currency",  # the regression sample's unit, beside the prediction in every answer
}
# Attributes of pydantic's BaseModel (2.x, less model_*): a field of that name would shadow one
# (item_plural names the batch request's field, the prediction's names the answers' fields).
BASE_MODEL = {"construct", "copy", "dict", "from_orm", "json", "parse_file", "parse_obj", "parse_raw"}
BASE_MODEL |= {"schema", "schema_json", "update_forward_refs", "validate"}
NAME = re.compile(r"[a-z][a-z0-9_]{0,28}[a-z0-9]")
PLURAL = re.compile(r"[a-z][a-z0-9_]{0,30}[a-z0-9]")  # two longer: the default plural of a 30-character name
NAMES = ("item_name", "item_plural", "prediction_name", "prediction_plural")


class GeneratedCode:
    """Names of the generated project's Python, read from the template itself: its folders and the
    libraries it imports (which a package of the same name would shadow), and every identifier of
    the modules that use the request body's class (which that class must not redefine)."""

    def __init__(self):
        self.identifiers: set[str] = set()
        self.folders_and_imports = {path.name for path in PROJECT.iterdir() if path.is_dir()}
        for path in PROJECT.rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            # Jinja expressions become a plain name, so the rest reads as Python tokens.
            text = re.sub(r"\{\{.*?\}\}", "x", re.sub(r"\{%.*?%\}", "", source))
            try:
                tokens = list(tokenize.generate_tokens(StringIO(text).readline))
            except (tokenize.TokenError, SyntaxError):
                continue  # a broken template file: the bake's validator names it, with its line
            for first, second in itertools.pairwise(tokens):
                starts = first.line.lstrip().startswith(first.string + " ")
                if first.string in ("import", "from") and starts and second.type == tokenize.NAME:
                    self.folders_and_imports.add(second.string)
            if "cookiecutter.__item_class" in source:
                self.identifiers.update(t.string for t in tokens if t.type == tokenize.NAME)
        self.folders_and_imports -= {"x", "import"}


@functools.cache
def generated_code() -> GeneratedCode:
    return GeneratedCode()


def check_model_names(a):
    """The request's noun, its plural, the prediction's name and its plural become Python
    identifiers, JSON keys, a route and metric names: lowercase words joined by underscores."""
    errors = []
    for field in NAMES:
        name, plural = a[field], field.endswith("_plural")
        if not (PLURAL if plural else NAME).fullmatch(name) or "__" in name or keyword.iskeyword(name):
            errors.append(
                f"{field}: {name!r} is not allowed; use 2 to {32 if plural else 30} lowercase letters, digits "
                "and single underscores, starting with a letter (for example 'property', 'properties', 'valuation')"
            )
        elif name in TAKEN or name.startswith("model_"):
            errors.append(f"{field}: {name!r} is taken by the service; choose another name")
        elif name in BASE_MODEL and field != "item_name":
            errors.append(
                f"{field}: {name!r} names a field of a request or response body, and pydantic's "
                "BaseModel has a method of that name; choose another name"
            )
    for plural, singular in (("item_plural", "item_name"), ("prediction_plural", "prediction_name")):
        if a[plural] == a[singular]:
            errors.append(
                f"{plural}: {a[plural]!r} is also {singular}; give the plural form (the batch "
                f"{'key' if plural == 'item_plural' else 'answer list'})"
            )
    # The request body's class shares the OpenAPI schema's names with the response bodies, and
    # each module's names with the classes and functions it imports.
    item_class = camel(a["item_name"])
    if item_class in {camel(a["prediction_name"]), "Batch" + camel(a["prediction_name"])}:
        errors.append(
            f"item_name: {a['item_name']!r} would name the request body {item_class}, the name of "
            f"a response body (from prediction_name {a['prediction_name']!r}); choose another noun"
        )
    elif item_class in generated_code().identifiers:
        errors.append(
            f"item_name: {a['item_name']!r} would name the request body {item_class}, a name "
            "the service already uses; choose another noun"
        )
    return errors


def camel(name: str) -> str:
    """A class name from a lowercase name, as cookiecutter.json derives it: bank_account -> BankAccount."""
    return name.title().replace("_", "")


# The regions of the pinned botocore's partitions and of cfn-lint's registry schemas
# (tests/test_answers.py keeps this list equal to theirs).
AWS_REGIONS = {
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-isoe-west-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "us-west-1",
    "us-west-2",
}


def check_aws(a):
    errors = []
    if a["aws_region"] not in AWS_REGIONS:
        errors.append(
            f"aws_region: {a['aws_region']!r} is not an AWS region code (for example eu-west-1, us-east-2; "
            "a region newer than this template: update the template)"
        )
    for field in ("dev_account_id", "prod_account_id"):
        if not re.fullmatch(r"[0-9]{12}", a[field]):
            errors.append(f"{field}: {a[field]!r} must be a 12-digit AWS account id")
    if a["dev_account_id"] == a["prod_account_id"]:
        errors.append(
            f"prod_account_id: {a['prod_account_id']!r} is also dev_account_id; dev and production "
            "need accounts of their own (each holds one bootstrap stack, its deploy identity and its roles)"
        )
    arn = a["certificate_arn"]
    if arn:
        match = re.fullmatch(r"arn:aws[a-z-]*:acm:([a-z0-9-]+):([0-9]{12}):certificate/[0-9a-f-]{36}", arn)
        if not match:
            errors.append(
                f"certificate_arn: {arn!r} is not an ACM certificate ARN "
                "(arn:aws:acm:<region>:<account>:certificate/<uuid>); leave it empty for HTTP"
            )
        elif match.group(1) != a["aws_region"]:
            errors.append(
                f"certificate_arn: the certificate is in {match.group(1)}, but the load "
                f"balancer is in aws_region {a['aws_region']}; use a certificate from that region"
            )
        if match and match.group(2) != a["prod_account_id"] and a["infrastructure"] == "own":
            errors.append(
                f"certificate_arn: the certificate belongs to account {match.group(2)}, but "
                f"prod_account_id is {a['prod_account_id']}; ACM certificates cannot be used "
                "from another account, so give production's certificate here (dev names its "
                "own later in infra/params/dev.json, or serves HTTP)"
            )
    zone = a["hosted_zone_name"]
    if zone and not DOMAIN.match(zone):
        errors.append(
            f"hosted_zone_name: {zone!r} is not a domain name (for example internal.example.com); "
            "leave it empty for no DNS record"
        )
    elif zone and len(f"{a['project_slug']}.{zone.rstrip('.')}") > HOST_HEADER_MAX:
        errors.append(
            f"hosted_zone_name: {zone!r} is too long: the load balancer routes this model by the host "
            f"name <project_slug>.<zone>, at most {HOST_HEADER_MAX} characters "
            f"({len(a['project_slug']) + 1} of them taken by the slug and its dot)"
        )
    return errors


def check_network(a):
    cidr = a["vpc_cidr"]
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        return [f"vpc_cidr: {cidr!r} is not a CIDR block with no host bits set (for example 10.0.0.0/16)"]
    private = any(
        network.version == 4 and network.subnet_of(ipaddress.ip_network(block))
        for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    )
    errors = []
    if not private:
        errors.append(f"vpc_cidr: {cidr!r} is not in a private range (10/8, 172.16/12, 192.168/16)")
    if not 16 <= network.prefixlen <= 24:
        errors.append(
            f"vpc_cidr: {cidr!r} has prefix /{network.prefixlen}; use /16 to /24 so that "
            "every zone gets a public and a private subnet of at least /27"
        )
    if a["nat_gateways"] == "none" and a["sidecar_image_source"] == "public_ecr" and a["infrastructure"] == "own":
        errors.append(
            "sidecar_image_source: 'public_ecr' needs outbound internet, but nat_gateways is "
            "'none'; choose sidecar_image_source 'ecr_copy' or a NAT option"
        )
    return errors


def as_int(a, field, low, high, errors):
    # Written as digits only, as it is rendered into Python and JSON (where 0250 or +5 is an error).
    if not re.fullmatch(r"-?[1-9][0-9]*|0", str(a[field])):
        errors.append(f"{field}: {a[field]!r} must be a whole number from {low} to {high}, without leading zeros")
        return None
    value = int(a[field])
    if not low <= value <= high:
        errors.append(f"{field}: {value} must be from {low} to {high}")
        return None
    return value


def check_sizes(a):
    errors = []
    memory = as_int(a, "task_memory", 512, 30720, errors)
    allowed = FARGATE_MEMORY.get(a["task_cpu"], [])
    if memory is not None and allowed and memory not in allowed:
        errors.append(
            f"task_memory: {memory} MiB does not fit task_cpu {a['task_cpu']} on Fargate; "
            f"allowed: {', '.join(map(str, allowed))}"
        )
    low = as_int(a, "prod_min_tasks", 1, 100, errors)
    high = as_int(a, "prod_max_tasks", 1, 100, errors)
    if low is not None and high is not None and low > high:
        errors.append(f"prod_max_tasks: {high} is below prod_min_tasks {low}")
    as_int(a, "latency_alarm_ms", 1, 60000, errors)
    return errors


def check_environment(a):
    """The environment's stacks are <name>-dev and <name>-prod; a model's are <slug>-<env>-infra and
    -api. Neither name may start the other's stack names, or one's deploy roles would match the
    other's stacks."""
    name, slug = a["environment_name"], a["project_slug"]
    if not re.fullmatch(f"[a-z][a-z0-9-]{{1,{SLUG_MAX - 2}}}[a-z0-9]", name) or "--" in name:
        return [
            f"environment_name: {name!r} is not allowed; use 3 to {SLUG_MAX} lowercase letters, digits "
            "and single hyphens, starting with a letter (for example 'ml-models'); it names the "
            "environment's stacks <name>-dev and <name>-prod"
        ]
    if name in YAML_WORDS:
        return [f"environment_name: {name!r} is read by YAML as {YAML_WORDS[name]}, not a name; choose another"]
    clash = re.compile(r"(?P<a>.+)-(dev|prod)(-.*)?$")
    for one, other in ((name, slug), (slug, name)):
        found = clash.fullmatch(one)
        if one == other or (found and found.group("a") == other):
            return [
                f"environment_name: {name!r} collides with project_slug {slug!r}: the environment's "
                f"stacks ({name}-dev) and the model's ({slug}-dev-infra) must not share a prefix; "
                "name the environment for the group of models (for example 'ml-models')"
            ]
    return []


ROLLOUTS = ("canary", "linear", "rolling")  # infra/params/prod.json's DeploymentStrategy, lowercase


def check_rollout(a):
    """A replayed or hand-written answer file is not checked against cookiecutter.json's choices."""
    if a.get("production_rollout", "canary") not in ROLLOUTS:
        return [f"production_rollout: {a['production_rollout']!r} is not one of {', '.join(ROLLOUTS)}"]
    return []


# Prefixes S3 reserves for bucket names (Amazon S3 User Guide, "General purpose bucket naming
# rules"; its reserved suffixes cannot end these names). The slug and the environment's name
# begin bucket names: the artifact bucket, and the buckets CloudFormation names after a stack.
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


def check_deploy_constraints(a):
    """Answers AWS would refuse at deploy time, not here: reserved bucket prefixes, and a
    certificate no host name can match."""
    errors = [
        f"{field}: {a[field]!r} must not start with '{prefix}', which S3 reserves: it begins this "
        "project's bucket names (the artifact bucket at bootstrap would be refused)"
        for field in ("project_slug", "environment_name")
        for prefix in S3_RESERVED_PREFIXES
        if a[field].startswith(prefix)
    ]
    if a["certificate_arn"] and not a["hosted_zone_name"]:
        errors.append(
            "certificate_arn: a certificate needs hosted_zone_name too: without it each model is "
            "reached at https://<the load balancer's AWS name>/<slug>, a name no certificate can "
            "hold, so clients would have to turn TLS verification off; give the zone (models "
            "then answer at https://<slug>.<zone>) or leave certificate_arn empty"
        )
    return errors


CHECKS = (
    check_text,
    check_names,
    check_model_names,
    check_aws,
    check_network,
    check_sizes,
    check_environment,
    check_rollout,
    check_deploy_constraints,
)


def problems(answers: dict) -> list[str]:
    """Every bad answer, each as 'field: what is wrong'. Choices and yes/no answers are
    checked by cookiecutter itself."""
    return [error for check in CHECKS for error in check(answers)]


def report(errors: list[str]) -> str:
    return "The template was not generated; fix these answers:\n" + "".join(f"  - {e}\n" for e in errors)


def save_for_retry(answers: dict, errors: list[str]) -> Path:
    """A cookiecutter config file whose defaults are the answers given, less the bad ones."""
    bad = {error.split(":", 1)[0] for error in errors}
    kept = {k: v for k, v in answers.items() if not k.startswith("_") and k not in bad}
    handle, name = tempfile.mkstemp(prefix="ecs-model-starter-answers-", suffix=".yaml")
    with open(handle, "w") as file:
        yaml.safe_dump({"default_context": kept}, file, sort_keys=False)
    return Path(name)


def checked(answers) -> str:
    errors = problems(dict(answers))
    if errors:
        retry = save_for_retry(dict(answers), errors)
        raise click.ClickException(
            report(errors) + f"Ask again, with your other answers kept: "
            f"cookiecutter --config-file {retry} {TEMPLATE_DIR}"
        )
    return "yes"


def answer_being_rendered() -> str | None:
    """The question cookiecutter is rendering the answer of (prompt_for_config's `key`), if any."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name == "prompt_for_config":
            return frame.f_locals.get("key")
        frame = frame.f_back
    return None


class AnswerChecks(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["checked"] = checked
        parse = environment.from_string

        def from_string(source, *args, **kwargs):
            """cookiecutter renders every answer as a template: an answer that opens Jinja ({{, {% or
            {#) fails before the checks run, with a traceback; say which answer instead."""
            try:
                return parse(source, *args, **kwargs)
            except TemplateSyntaxError:
                field = answer_being_rendered()
                if field is None:  # the template's own text: its error is for us, as it is
                    raise
                raise click.ClickException(
                    report([f"{field}: {source!r} opens a Jinja template ({{{{, {{% or {{#), which an answer cannot"])
                    + "Answer again without those characters."
                ) from None

        environment.from_string = from_string
