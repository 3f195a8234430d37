"""checkov's own command line, with its JSONPath parser built once per grammar.

    python -m ecs_model_tools.checkov_scan <checkov's arguments>

checkov reads each attribute path of a CloudFormation template with bc-jsonpath-ng, whose
parser builds its LALR tables with ply on every parse ("we regenerate the parse table every
time", bc_jsonpath_ng/parser.py): 74 times for a bake's four named templates, 2.7 of the 6.2 s
that checkov spends on them. Here ply builds a grammar's tables once per thread and hands back
the same parser, which starts every parse afresh. Everything else is checkov's command:
its arguments, config file, report and exit status (validate.py runs it so when checkov is
installed beside this tool; tools/tests/test_checks.py compares its report with the plain
command's).
"""

import sys
import threading
import warnings

import ply.yacc

_build = ply.yacc.yacc
_built = {}


def yacc(*args, module=None, start=None, **options):
    """ply.yacc.yacc, once per JSONPath grammar (the parser class), start symbol and thread. Other
    grammars (spdx-tools has one whose actions keep state in the instance) are built as before."""
    if args or not type(module).__module__.startswith("bc_jsonpath_ng."):
        return _build(*args, module=module, start=start, **options)
    key = (type(module), start, threading.get_ident())
    if key not in _built:
        _built[key] = _build(module=module, start=start, **options)
    return _built[key]


def main() -> int:
    ply.yacc.yacc = yacc
    from checkov.main import Checkov

    with warnings.catch_warnings():  # as checkov's own console script
        warnings.simplefilter("ignore", category=SyntaxWarning)
        return Checkov().run()


if __name__ == "__main__":
    sys.exit(main())
